"""The reasoning task of rkv's own model: evaluate a chain of variable
definitions (mod-10 arithmetic) and answer a question about early variables.

A problem defines variables a, b, c, ... in order; the first ones are digits,
every later one is one or two additions / subtractions over earlier variables
(any earlier one, so a late step often needs a value computed hundreds of
tokens before) and, now and then, a digit constant. The question asks for an
addition or subtraction of two variables, the first of them always from the first
third of the list, so the answer needs a result produced at the start of the
chain again at its very end.

The reference chain of thought (R1 format, the text between <think> and
</think>) evaluates every variable in order, restating its definition,
looking up each operand's value ("c is 1."), computing one operation per
sentence, and then:
  - re-checks every step whose definition has two operations
    ("wait, let me check c. ..."), recomputing it in full;
  - after every fifth variable, restates the last five values
    ("so far: a is 7, b is 3, ...");
  - re-checks the final computation before answering.
These rules are deterministic functions of the problem, so greedy decoding of
a model that learned them reproduces them; the redundancy they add is the kind
reasoning models show, and is what a KV-cache compressor must see through.

Everything is seeded by a SplitMix64 generator written here, so the same seed
gives byte-identical problems on every Python version.
"""

MASK64 = (1 << 64) - 1
LETTERS = "abcdefghijklmnopqrstuvwxyz"

# The instruction DeepSeek recommends for R1 models (what `rkv eval --prompt chat`
# appends) and the raw prompt of the R-KV reference's math script
# (`rkv eval --prompt rkv`): part of the training prompts so the model answers
# in either setting.
R1_INSTRUCTION = "Please reason step by step, and put your final answer within \\boxed{}."
RKV_RAW_TEMPLATE = ("You are given a math problem.\n\nProblem: {question}\n\n You need to solve the problem step by "
                    "step. First, you need to provide the chain-of-thought, then provide the final answer.\n\n "
                    "Provide the final answer in the format: Final answer:  \\boxed{{}}")

# Chat markup of DeepSeek-R1 (the tokenizer's added tokens).
BOS = "<\uff5cbegin\u2581of\u2581sentence\uff5c>"
EOS = "<\uff5cend\u2581of\u2581sentence\uff5c>"
USER = "<\uff5cUser\uff5c>"
ASSISTANT = "<\uff5cAssistant\uff5c>"
THINK = "<think>"
END_THINK = "</think>"


class Rng:
    """SplitMix64: tiny, seedable, identical everywhere."""

    def __init__(self, seed):
        self.state = seed & MASK64

    def next64(self):
        self.state = (self.state + 0x9E3779B97F4A7C15) & MASK64
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
        return z ^ (z >> 31)

    def below(self, n):
        """Uniform integer in [0, n)."""
        assert n > 0
        limit = (1 << 64) - ((1 << 64) % n)
        while True:
            x = self.next64()
            if x < limit:
                return x % n

    def between(self, lo, hi):
        """Uniform integer in [lo, hi]."""
        return lo + self.below(hi - lo + 1)

    def choice(self, seq):
        return seq[self.below(len(seq))]

    def chance(self, numerator, denominator):
        return self.below(denominator) < numerator


def apply(op, x, y):
    if op == "+":
        return (x + y) % 10
    assert op == "-"
    return (x - y) % 10


class Params:
    """Knobs of the generator (the defaults are what the shipped model was trained on)."""

    def __init__(self, min_vars=12, max_vars=24, n_constants=2, max_ops=1, max_step=1, ops="+", fresh_constant_in=8,
                 recheck_distance=4):
        assert 3 <= min_vars <= max_vars <= len(LETTERS)
        self.min_vars = min_vars
        self.max_vars = max_vars
        self.n_constants = n_constants  # the first variables are plain digits
        self.max_ops = max_ops  # operations per definition: 1..max_ops
        self.max_step = max_step  # each operation adds or subtracts 1..max_step
        self.ops = ops  # the operations drawn from ("+-": add or subtract)
        self.fresh_constant_in = fresh_constant_in  # 1 in N later variables is a plain digit too
        self.recheck_distance = recheck_distance  # re-check a step whose operand is this many variables back or more


def make_problem(rng, params=None, n_vars=None):
    """One problem: {"problem", "answer", "chain", "n_vars"} (chain = the text inside <think>)."""
    p = params or Params()
    n = n_vars if n_vars is not None else rng.between(p.min_vars, p.max_vars)
    names = LETTERS[:n]
    defs = []  # per variable: (source variable index or None, digit or [(op, k), ...])
    values = []
    for i in range(n):
        if i < p.n_constants or rng.chance(1, p.fresh_constant_in):
            d = rng.below(10)
            defs.append((None, d))
            values.append(d)
            continue
        src = rng.below(i)  # any earlier variable: often one computed long before
        ops = [(rng.choice(p.ops), rng.between(1, p.max_step)) for _ in range(rng.between(1, p.max_ops))]
        v = values[src]
        for op, k in ops:
            v = apply(op, v, k)
        defs.append((src, ops))
        values.append(v)

    # The question: a computed (not given) variable of the first half, so the
    # answer needs a result of the chain's start again at its very end.
    candidates = [i for i in range(max(1, n // 2)) if defs[i][0] is not None] or list(range(max(1, n // 2)))
    q_var = candidates[rng.below(len(candidates))]
    q_ops = [(rng.choice(p.ops), rng.between(1, p.max_step))]
    answer = values[q_var]
    for op, k in q_ops:
        answer = apply(op, answer, k)

    def expr_text(src, ops):
        return names[src] + "".join(f" {op} {k}" for op, k in ops)

    def evaluation(src, ops):
        """The operand look-up, then one sentence per operation; returns (text, value)."""
        v = values[src]
        sentences = [f"{names[src]} is {v}."]
        for op, k in ops:
            r = apply(op, v, k)
            sentences.append(f"{v} {op} {k} = {r}.")
            v = r
        return " ".join(sentences), v

    question = expr_text(q_var, q_ops)
    # One definition per line: a name then starts a line in the problem as in
    # the chain, so it is the same token in both ("c", not "Ġc").
    definitions = ",\n".join(f"{names[i]} = {defs[i][1] if defs[i][0] is None else expr_text(*defs[i])}" for i in range(n))
    problem = f"Let\n{definitions}.\nAll arithmetic is mod 10. What is {question}?"

    lines = [f"I need {question}. Let me compute the variables in order."]
    for i in range(n):
        src, ops = defs[i]
        name = names[i]
        if src is None:
            lines.append(f"{name} = {values[i]}. so {name} is {values[i]}.")
        else:
            work, v = evaluation(src, ops)
            assert v == values[i]
            lines.append(f"{name} = {expr_text(src, ops)}. {work} so {name} is {v}.")
            if len(ops) > 1 or i - src >= p.recheck_distance:
                lines.append(f"wait, let me check {name}. {work} yes, {name} is {v}.")
        if (i + 1) % 5 == 0:
            recent = ", ".join(f"{names[k]} is {values[k]}" for k in range(i - 4, i + 1))
            lines.append(f"so far: {recent}.")
    work, v = evaluation(q_var, q_ops)
    assert v == answer
    lines.append(f"now the question: {question}. {work}")
    lines.append(f"wait, let me check the answer. {work} yes.")
    chain = "\n".join(lines) + "\n"
    return {"problem": problem, "answer": str(answer), "chain": chain, "n_vars": n}


def final_text(answer):
    """What follows </think>: the R1-style short answer with the boxed result."""
    return f"\nThe answer is \\boxed{{{answer}}}."


def prompt_text(problem, style):
    """The text before the chain, as the chat template (or raw prompt) renders it.

    style: "chat" (bare question), "chat_r1" (question + DeepSeek's instruction on a
    new line), "raw" (the R-KV reference's raw prompt, no chat markup: the model
    itself opens <think>)."""
    if style == "chat":
        return f"{BOS}{USER}{problem}{ASSISTANT}{THINK}\n"
    if style == "chat_r1":
        return f"{BOS}{USER}{problem}\n{R1_INSTRUCTION}{ASSISTANT}{THINK}\n"
    if style == "raw":
        return BOS + RKV_RAW_TEMPLATE.format(question=problem)
    raise ValueError(style)


def completion_text(example, style):
    """The model's output after the prompt, up to and including EOS."""
    opener = f"{THINK}\n" if style == "raw" else ""
    return f"{opener}{example['chain']}{END_THINK}{final_text(example['answer'])}{EOS}"


def problem_stream(seed, params=None):
    """Endless deterministic stream of problems for one seed."""
    rng = Rng(seed)
    while True:
        yield make_problem(rng, params)
