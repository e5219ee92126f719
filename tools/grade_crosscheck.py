#!/usr/bin/env python3
"""Cross-checks `rkv grade` against the Python reference harness.

The reference is the `evaluation/` folder of the R-KV repository (the
Qwen2.5-Math evaluation lineage); rkv does not ship it. Point --reference at a
checkout of that folder, with its dependencies importable (sympy, regex,
latex2sympy2, word2number, pebble: see its requirements.txt).

    tools/grade_crosscheck.py --reference ~/R-KV/evaluation --cases cases.jsonl

Each line of the cases file is {"output", "answer", "data_name"} (the
`rkv grade` input). The reference verdict is computed the way the harness's
eval_math.py computes it: the output cut at its stop words, run_execute()
(extract_answer + strip_string), the gold answer normalised as
parse_ground_truth() does (GSM8K: the text after "####"; MATH: an answer or
the last \\boxed{} of a solution, normalised twice; AIME: normalised once),
its multiple-choice repairs, and math_equal() in a worker process with a 3 s
timeout. Prints the agreement and every disagreement.
"""
import argparse
import contextlib
import io
import json
import subprocess
import sys

STOP_WORDS = ["</s>", "<|im_end|>", "<|endoftext|>", "\n题目："]


def load_reference(path):
    sys.path.insert(0, path)
    with contextlib.redirect_stdout(io.StringIO()):
        import grader  # noqa: F401  (the reference's modules)
        import parser as ref_parser
    return ref_parser


def reference_pred_and_gold(ref, case):
    data = case["data_name"]
    output = case["output"]
    for stop in STOP_WORDS:
        if stop in output:
            output = output.split(stop)[0].strip()
    answer = str(case["answer"])
    if data == "gsm8k":
        gold = ref.strip_string(answer.split("####")[-1])
    elif data == "math":
        if "boxed" in answer:
            gold = ref.extract_answer(answer, "math")
        else:
            gold = ref.strip_string(answer)
        gold = ref.strip_string(gold)
    else:
        gold = ref.strip_string(answer)
    if not output or output == "error":
        return None, gold
    pred = ref.strip_string(ref.extract_answer(output, data))
    if gold in ["A", "B", "C", "D", "E"] and pred not in ["A", "B", "C", "D", "E"]:
        pred = ref.choice_answer_clean(output[0])
    elif all(c in "ABCDE" for c in gold) and not all(c in "ABCDE" for c in pred):
        pred = "".join(c for c in pred if c in "ABCDE")
    return pred, gold


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reference", required=True, help="the R-KV repository's evaluation/ folder")
    ap.add_argument("--cases", required=True, help="JSONL of {output, answer, data_name}")
    ap.add_argument("--rkv", default="build/rkv", help="the rkv binary")
    ap.add_argument("--rules", default="reference")
    ap.add_argument("--show", type=int, default=50, help="disagreements to print")
    args = ap.parse_args()

    ref = load_reference(args.reference)
    from grader import math_equal_process
    from pebble import ProcessPool
    from concurrent.futures import TimeoutError

    cases = [json.loads(l) for l in open(args.cases, encoding="utf-8") if l.strip()]
    preds, golds = zip(*[reference_pred_and_gold(ref, c) for c in cases])
    verdicts = []
    with ProcessPool(max_workers=1) as pool:
        it = pool.map(math_equal_process, [(i, p, g) for i, (p, g) in enumerate(zip(preds, golds))], timeout=3).result()
        while True:
            try:
                verdicts.append(bool(next(it)))
            except StopIteration:
                break
            except TimeoutError:
                verdicts.append(False)

    run = subprocess.run([args.rkv, "grade", "--input", args.cases, "--rules", args.rules],
                         capture_output=True, text=True)
    if run.returncode != 0:
        sys.exit(f"rkv grade failed ({run.returncode}): {run.stderr}")
    ours = [json.loads(l) for l in run.stdout.splitlines()]
    assert len(ours) == len(cases), (len(ours), len(cases))

    same_verdict = same_pred = 0
    shown = 0
    for i, (case, p, g, v, o) in enumerate(zip(cases, preds, golds, verdicts, ours)):
        same_verdict += v == o["correct"]
        same_pred += (p or "") == o["extracted"]
        if (v != o["correct"] or (p or "") != o["extracted"]) and shown < args.show:
            shown += 1
            print(f"#{i} {case['data_name']} gold={case['answer']!r}\n   reference pred={p!r} gold={g!r} -> {v}"
                  f"\n   rkv       pred={o['extracted']!r} -> {o['correct']}\n   output tail={case['output'][-120:]!r}")
    n = len(cases)
    print(f"verdicts agree: {same_verdict}/{n} ({100.0 * same_verdict / n:.2f}%); "
          f"extracted answers agree: {same_pred}/{n} ({100.0 * same_pred / n:.2f}%)")


if __name__ == "__main__":
    main()
