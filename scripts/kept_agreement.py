#!/usr/bin/env python3
"""Kept-set agreement of quantized KV caches with bf16 (docs/PERFORMANCE.md,
"Quantized KV caches"): how often one compression keeps exactly the same
tokens when the cache holds q8_0 / q4_0 keys as when it holds bf16 keys.

1. The golden update_kv cases (../shared/golden/rkv): `rkv compress
   --kv-type T` per case and KV head.
2. stories260K: the same token prefixes (a bf16 run's text cut at several
   lengths) prefilled into each cache type and compressed once (`rkv
   generate --trace-kept`), per layer and KV head; and how many greedy
   tokens free-running R-KV generation keeps equal to bf16's.

A figure, not a check: it prints a table and exits 0.

    scripts/kept_agreement.py [--rkv build/rkv] [--assets ../shared]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

TYPES = ["f32", "q8_0", "q4_0"]  # each compared with bf16
PROMPTS = ["Once upon a time", "The little dog", "Lily and Ben went to the park", "One day, a bird",
           "Tom had a red ball", "There was a big tree", "The sun was hot", "Mom said"]


def run(cmd):
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{out.stderr}")
    return out.stdout


def golden(rkv, assets):
    manifest = json.load(open(os.path.join(assets, "golden/rkv/manifest.json")))
    heads = {t: [0, 0] for t in TYPES}  # [same kept set, compared]
    overlap = {t: [] for t in TYPES}
    for c in manifest["cases"]:
        if c["method"] == "streamingllm":
            continue  # keeps by position only
        method = "rkv" if c["method"] == "r1kv" else c["method"]
        args = [rkv, "compress", "--input", os.path.join(assets, "golden/rkv", c["file"]), "--method", method,
                "--budget", str(c["budget"]), "--first-tokens", str(c.get("first_tokens", 0))]
        for key, flag in [("window_size", "--window"), ("kernel_size", "--kernel"), ("mix_lambda", "--lambda"),
                          ("retain_ratio", "--retain-ratio"), ("retain_direction", "--retain-direction")]:
            if key in c:
                args += [flag, str(c[key])]
        kept = {t: json.loads(run(args + ["--kv-type", t]))["kept"] for t in TYPES + ["bf16"]}
        for t in TYPES:
            for a, b in zip(kept[t], kept["bf16"]):
                heads[t][0] += set(a) == set(b)
                heads[t][1] += 1
                overlap[t].append(len(set(a) & set(b)) / len(b))
    return heads, overlap


def generate(rkv, model, prompts_file, n, budget, divide, kv_type, trace):
    out = run([rkv, "generate", "-m", model, "--prompts", prompts_file, "-n", str(n), "--ignore-eos", "--kv", "rkv",
               "--budget", str(budget), "--divide-length", str(divide), "--kv-type", kv_type, "--max-batch", "8",
               "--trace-kept", trace])
    results = {}
    for line in out.splitlines():
        j = json.loads(line)
        results[j["index"]] = j
    events = {}
    for line in open(trace):
        e = json.loads(line)
        events.setdefault((e["sequence"], e["step"], e["layer"]), e["kept_positions"])
    return results, events


def stories(rkv, assets, budget, divide, length):
    """Free-running greedy agreement, and the kept sets of one compression of
    the same token prefixes (teacher-forced: the bf16 run's text cut at several
    lengths, prefilled by every cache type, compressed once after the prefill)."""
    model = os.path.join(assets, "models/stories260K.gguf")
    cuts = list(range(budget + 32, length, 64))
    records = {t: [0, 0] for t in TYPES}
    overlap = {t: [] for t in TYPES}
    agree_tokens = {t: [] for t in TYPES}
    with tempfile.TemporaryDirectory() as tmp:
        prompts = os.path.join(tmp, "p.jsonl")
        with open(prompts, "w") as f:
            for p in PROMPTS:
                f.write(json.dumps({"prompt": p}) + "\n")
        free = {t: generate(rkv, model, prompts, length, budget, divide, t, os.path.join(tmp, t + ".jsonl"))[0]
                for t in TYPES + ["bf16"]}
        for t in TYPES:
            for s, ref in free["bf16"].items():
                same = 0
                while same < len(ref["ids"]) and free[t][s]["ids"][same] == ref["ids"][same]:
                    same += 1
                agree_tokens[t].append(same)
        forced = os.path.join(tmp, "forced.jsonl")
        with open(forced, "w") as f:
            for s in sorted(free["bf16"]):
                text = free["bf16"][s]["prompt_ids"] + free["bf16"][s]["ids"]
                for cut in cuts:
                    f.write(json.dumps({"ids": text[:cut]}) + "\n")
        kept = {t: generate(rkv, model, forced, 1, budget, divide, t, os.path.join(tmp, t + "_f.jsonl"))[1]
                for t in TYPES + ["bf16"]}
        for t in TYPES:
            for key, ref in kept["bf16"].items():
                if key[1] != 0:
                    continue
                for a, b in zip(kept[t][key], ref):
                    records[t][0] += set(a) == set(b)
                    records[t][1] += 1
                    overlap[t].append(len(set(a) & set(b)) / len(b))
    return records, overlap, agree_tokens, cuts


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rkv", default="build/rkv")
    ap.add_argument("--assets", default=os.environ.get("RKV_ASSETS", "../shared"))
    ap.add_argument("--budget", type=int, default=64)
    ap.add_argument("--divide-length", type=int, default=16)
    ap.add_argument("-n", type=int, default=400)
    a = ap.parse_args()
    heads, g_overlap = golden(a.rkv, a.assets)
    print("golden update_kv cases (R-KV, SnapKV), per KV head, against bf16 keys:")
    for t in TYPES:
        same, total = heads[t]
        print(f"  {t:5} same kept set {same}/{total} heads ({100 * same / total:.0f}%), "
              f"mean overlap {100 * sum(g_overlap[t]) / len(g_overlap[t]):.1f}%")
    records, s_overlap, agree, cuts = stories(a.rkv, a.assets, a.budget, a.divide_length, a.n)
    print(f"stories260K (5 layers x 4 KV heads, head_dim 8), R-KV budget {a.budget}, {len(PROMPTS)} prompts:")
    print(f"  one compression of the same prefixes ({', '.join(map(str, cuts))} tokens of the bf16 run), "
          "per layer and KV head, against bf16:")
    for t in TYPES:
        same, total = records[t]
        mean = 100 * sum(s_overlap[t]) / max(1, len(s_overlap[t]))
        print(f"    {t:5} same kept set {same}/{total} ({100 * same / max(1, total):.0f}%), mean overlap {mean:.1f}%")
    print(f"  free-running greedy, divide_length {a.divide_length}, {a.n} tokens: tokens equal to bf16's before the first difference")
    for t in TYPES:
        print(f"    {t:5} median {sorted(agree[t])[len(agree[t]) // 2]}, min {min(agree[t])}, max {max(agree[t])}")

if __name__ == "__main__":
    main()
