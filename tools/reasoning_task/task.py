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
OPS = "+-"

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

    def __init__(self, min_vars=6, max_vars=18, n_constants=2, max_ops=2, constant_operand_in=6):
        assert 3 <= min_vars <= max_vars <= len(LETTERS)
        self.min_vars = min_vars
        self.max_vars = max_vars
        self.n_constants = n_constants  # the first variables are plain digits
        self.max_ops = max_ops  # operations per definition: 1..max_ops
        self.constant_operand_in = constant_operand_in  # 1 in N operands after the first is a digit


def make_problem(rng, params=None, n_vars=None):
    """One problem: {"problem", "answer", "chain", "n_vars"} (chain = the text inside <think>)."""
    p = params or Params()
    n = n_vars if n_vars is not None else rng.between(p.min_vars, p.max_vars)
    names = LETTERS[:n]
    defs = []  # per variable: list of terms; term = ("var", index) | ("num", digit); ops between them
    values = []
    for i in range(n):
        if i < p.n_constants:
            d = rng.below(10)
            defs.append(([("num", d)], []))
            values.append(d)
            continue
        n_ops = rng.between(1, p.max_ops)
        used = [rng.below(i)]  # distinct variables per definition (no "c - c")
        terms = [("var", used[0])]
        ops = []
        for _ in range(n_ops):
            ops.append(rng.choice(OPS))
            if len(used) == i or rng.chance(1, p.constant_operand_in):
                terms.append(("num", rng.between(1, 9)))
            else:
                k = rng.below(i - len(used))
                k = [x for x in range(i) if x not in used][k]
                used.append(k)
                terms.append(("var", k))
        v = values[terms[0][1]]
        for op, t in zip(ops, terms[1:]):
            v = apply(op, v, values[t[1]] if t[0] == "var" else t[1])
        defs.append((terms, ops))
        values.append(v)

    first_third = max(1, n // 3)
    q_left = rng.below(first_third)
    q_right = rng.below(n - 1)
    q_right += q_right >= q_left  # two different variables
    q_op = rng.choice(OPS)
    answer = apply(q_op, values[q_left], values[q_right])

    def term_text(t):
        return names[t[1]] if t[0] == "var" else str(t[1])

    def expr_text(terms, ops):
        out = term_text(terms[0])
        for op, t in zip(ops, terms[1:]):
            out += f" {op} {term_text(t)}"
        return out

    question = f"{names[q_left]} {q_op} {names[q_right]}"
    definitions = ", ".join(f"{names[i]} = {expr_text(*defs[i])}" for i in range(n))
    problem = f"Let {definitions}. All arithmetic is mod 10. What is {question}?"

    def evaluation(terms, ops):
        """Operand look-ups then one sentence per operation; returns (text, value)."""
        sentences = []
        seen = set()
        for t in terms:
            if t[0] == "var" and t[1] not in seen:
                seen.add(t[1])
                sentences.append(f"{names[t[1]]} is {values[t[1]]}.")
        val = lambda t: values[t[1]] if t[0] == "var" else t[1]
        v = val(terms[0])
        for op, t in zip(ops, terms[1:]):
            r = apply(op, v, val(t))
            sentences.append(f"{v} {op} {val(t)} = {r}.")
            v = r
        return " ".join(sentences), v

    lines = [f"I need {question}. Let me compute the variables in order."]
    for i in range(n):
        terms, ops = defs[i]
        name = names[i]
        if not ops:
            lines.append(f"{name} = {values[i]}. so {name} is {values[i]}.")
        else:
            work, v = evaluation(terms, ops)
            assert v == values[i]
            lines.append(f"{name} = {expr_text(terms, ops)}. {work} so {name} is {v}.")
            if len(ops) > 1:
                lines.append(f"wait, let me check {name}. {work} yes, {name} is {v}.")
        if (i + 1) % 5 == 0:
            recent = ", ".join(f"{names[k]} is {values[k]}" for k in range(i - 4, i + 1))
            lines.append(f"so far: {recent}.")
    q_terms, q_ops = [("var", q_left), ("var", q_right)], [q_op]
    work, v = evaluation(q_terms, q_ops)
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
