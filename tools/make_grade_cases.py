#!/usr/bin/env python3
"""Writes grading cases ({output, answer, data_name} JSONL, the `rkv grade`
input) built from the gold answers of ../shared/data/math: model-style
endings (boxed, "the answer is", truncated outputs, stop tokens) around the
gold answer itself, equivalent rewritings of it and wrong variants. For
cross-checking the grader against the reference harness
(tools/grade_crosscheck.py); the endings and rewritings are our own.

    tools/make_grade_cases.py --assets ../shared --per-answer 3 --seed 1 > cases.jsonl
"""
import argparse
import json
import random
import re

ENDINGS = [
    "Okay, let me work through this step by step.\n\nAfter simplifying, we get the result.\n</think>\n\n**Final Answer**\n\\[\n\\boxed{{{a}}}\n\\]",
    "So putting it all together, the answer is $\\boxed{{{a}}}$.",
    "Therefore, the final answer is ${a}$.",
    "Hence the answer is {a}.",
    "Let me double check: yes.\n\nThe answer is: \\boxed{{{a}}}<|im_end|>",
    "We find that the value is \\boxed{{{a}}}. I hope this is correct.",
    "Wait, maybe I should recompute. 12 + 7 = 19, and 19 - 3 = 16, so we get {a}",
    "Thus $x = \\boxed{{{a}}}$.\n\nNote that I boxed the answer above.",
    "The result: $\\fbox{{{a}}}$",
    "The final answer is $\\boxed {a}$",
    "Final answer: **{a}**",
    "</think>\n\nThe total is \\(\\boxed{{{a}}}\\) .",
]


def perturb_equivalent(a, rng):
    options = []
    if "\\frac" in a:
        options.append(a.replace("\\frac", "\\dfrac"))
        m = re.fullmatch(r"(-?)\\frac\{(\d+)\}\{(\d+)\}", a)
        if m:
            options.append(f"{m.group(1)}{m.group(2)}/{m.group(3)}")
            v = int(m.group(2)) / int(m.group(3))
            options.append(("-" if m.group(1) else "") + f"{v:.6f}".rstrip("0"))
    if a.startswith("(") and a.endswith(")"):
        options.append("\\left" + a[:-1] + "\\right)")
    if "," in a:
        options.append(a.replace(",", ", "))
    if re.fullmatch(r"-?\d+", a):
        n = int(a)
        options += [f"{n}.", f"{n}.0", f"{n:,}", f"\\${n}", f"{n} \\text{{ units}}", f"x = {n}", f"{n}^\\circ",
                    f"{n}\\%", f"\\text{{{n}}}", f"{n} dollars", f"{n} cm"]
    if "\\sqrt{" in a:
        options.append(re.sub(r"\\sqrt\{(\d)\}", r"\\sqrt\1", a))
    options += [a + ".", " " + a + " ", "\\displaystyle " + a, a.replace(" ", "")]
    return rng.choice(options)


def perturb_wrong(a, rng):
    digits = [i for i, c in enumerate(a) if c.isdigit()]
    if digits:
        i = rng.choice(digits)
        d = str((int(a[i]) + rng.randint(1, 9)) % 10)
        return a[:i] + d + a[i + 1:]
    if "," in a:
        parts = a.strip("()[]").split(",")
        return a[0] + ",".join(reversed(parts)) + a[-1] if a[0] in "([" else ",".join(reversed(parts))
    return "-" + a if not a.startswith("-") else a[1:]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--assets", default="../shared")
    ap.add_argument("--per-answer", type=int, default=3)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    sources = [("math", "data/math/math.jsonl"), ("aime24", "data/math/aime24.jsonl"),
               ("gsm8k", "data/math/gsm8k_test.jsonl")]
    for data, rel in sources:
        rows = [json.loads(l) for l in open(f"{args.assets}/{rel}", encoding="utf-8")]
        if data == "gsm8k":
            rows = rng.sample(rows, 300)
        for r in rows:
            gold = str(r["answer"])
            a = gold.split("####")[-1].strip() if data == "gsm8k" else gold
            for _ in range(args.per_answer):
                kind = rng.random()
                shown = a if kind < 0.35 else perturb_equivalent(a, rng) if kind < 0.7 else perturb_wrong(a, rng)
                output = rng.choice(ENDINGS).format(a=shown)
                print(json.dumps({"output": output, "answer": gold, "data_name": data}, ensure_ascii=False))


if __name__ == "__main__":
    main()
