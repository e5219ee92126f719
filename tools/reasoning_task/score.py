#!/usr/bin/python3
"""Accuracy of a model on the task's held-out problems, decoded by rkv.

Runs `rkv generate --prompts ... --chat --json` (greedy, continuous batching)
once per configuration and compares the last \\boxed{...} of each output with
the gold answer (exact string match: the answers are single digits). A
stand-in until `rkv eval` exists; `rkv eval` gives the same verdicts on
this task.

  score.py --model models/rkv-reasoner-mini --data models/rkv-reasoner-mini/test.jsonl \\
      --sweep fullkv rkv:64 snapkv:64 --divide-length 32 [--limit 100] [--results DIR]

A configuration is METHOD or METHOD:BUDGET; extra rkv flags after `--` are
passed to every run. Prints one summary line per configuration (JSON)."""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import task  # noqa: E402


def last_boxed(text):
    """The contents of the last \\boxed{...} (nested braces matched), or None."""
    k = text.rfind("\\boxed{")
    if k < 0:
        return None
    depth = 0
    start = k + len("\\boxed{")
    for i in range(start, len(text)):
        if text[i] == "{":
            depth += 1
        elif text[i] == "}":
            if depth == 0:
                return text[start:i].strip()
            depth -= 1
    return None


def run_config(a, rows, config, extra):
    method, _, budget = config.partition(":")
    with tempfile.TemporaryDirectory() as d:
        prompts = os.path.join(d, "prompts.jsonl")
        with open(prompts, "w", encoding="utf-8") as f:
            for r in rows:
                text = r["problem"] + ("\n" + task.R1_INSTRUCTION if a.instruction else "")
                f.write(json.dumps({"prompt": text}, ensure_ascii=False) + "\n")
        cmd = [a.rkv, "generate", "-m", a.model, "--prompts", prompts, "--chat", "--json", "--max-batch",
               str(a.max_batch), "-n", str(a.max_new), "--kv", method]
        if budget:
            cmd += ["--budget", budget]
        if method != "fullkv":
            cmd += ["--divide-length", str(a.divide_length)]
        cmd += extra
        start = time.time()
        out = subprocess.run(cmd, capture_output=True, text=True)
        seconds = time.time() - start
        if out.returncode != 0:
            raise SystemExit(f"{' '.join(cmd)} failed:\n{out.stderr}")
    results = [None] * len(rows)
    for line in out.stdout.splitlines():
        j = json.loads(line)
        results[j["index"]] = j
    correct, lengths, truncated, peak = 0, [], 0, []
    per_problem = []
    for r, res in zip(rows, results):
        got = last_boxed(res["text"] or "")
        ok = got == r["answer"]
        correct += ok
        lengths.append(res["generated_tokens"])
        truncated += res["stop"] != "eos"
        peak.append(res.get("kv_peak_bytes", 0))
        per_problem.append({"answer": r["answer"], "extracted": got, "correct": ok, "tokens": res["generated_tokens"],
                            "stop": res["stop"], "text": res["text"]})
    summary = {"config": config, "problems": len(rows), "accuracy": round(correct / len(rows), 4),
               "mean_output_tokens": round(statistics.mean(lengths), 1), "truncated": truncated,
               "mean_peak_kv_bytes": int(statistics.mean(peak)), "seconds": round(seconds, 1)}
    return summary, per_problem


def main():
    argv = sys.argv[1:]
    extra = []
    if "--" in argv:
        k = argv.index("--")
        argv, extra = argv[:k], argv[k + 1:]
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--rkv", default="build/rkv")
    ap.add_argument("--sweep", nargs="+", default=["fullkv"])
    ap.add_argument("--limit", type=int, default=0)
    ap.add_argument("--max-new", type=int, default=1536)
    ap.add_argument("--max-batch", type=int, default=16)
    ap.add_argument("--divide-length", type=int, default=32)
    ap.add_argument("--instruction", action="store_true", help="append DeepSeek's R1 instruction to each problem")
    ap.add_argument("--results", help="folder for one JSONL of per-problem outputs per configuration")
    a = ap.parse_args(argv)
    rows = [json.loads(line) for line in open(a.data, encoding="utf-8")]
    if a.limit:
        rows = rows[:a.limit]
    for config in a.sweep:
        summary, per_problem = run_config(a, rows, config, extra)
        print(json.dumps(summary), flush=True)
        if a.results:
            os.makedirs(a.results, exist_ok=True)
            with open(os.path.join(a.results, config.replace(":", "_") + ".jsonl"), "w", encoding="utf-8") as f:
                for p in per_problem:
                    f.write(json.dumps(p, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
