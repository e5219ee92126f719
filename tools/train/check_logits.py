#!/usr/bin/python3
"""Checks that rkv's forward reproduces PyTorch's on an exported model folder:
full-sequence logits of a few prompts from `rkv logits` against model.py run in
f32 on the same (stored) weights. Prints the max abs difference per prompt and
whether the argmax agrees everywhere; exits 1 past the tolerance."""
import argparse
import os
import subprocess
import sys
import tempfile

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "reasoning_task"))

import export  # noqa: E402
import generate  # noqa: E402
import task  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--model", required=True)
    ap.add_argument("--rkv", default="build/rkv")
    ap.add_argument("--count", type=int, default=3)
    ap.add_argument("--tol", type=float, default=2e-3)
    a = ap.parse_args()
    torch.set_num_threads(2)
    model = export.load_model(a.model)
    tok = generate.build_tokenizer()
    worst = 0.0
    ok = True
    for k, ex in enumerate(generate.take(generate.TEST_SEED, a.count)):
        ids = tok.encode(task.prompt_text(ex["problem"], "chat") + task.completion_text(ex, "chat"))
        with tempfile.TemporaryDirectory() as d:
            out = os.path.join(d, "logits.safetensors")
            subprocess.run([a.rkv, "logits", "-m", a.model, "--ids", ",".join(map(str, ids)), "-o", out], check=True,
                           stdout=subprocess.DEVNULL)
            got = export.load_safetensors(out)
        name = next(iter(got))
        rkv_logits = got[name].float().reshape(len(ids), -1)
        with torch.no_grad():
            ref = model(torch.tensor([ids]))[0]
        diff = float((rkv_logits - ref).abs().max())
        same_argmax = bool((rkv_logits.argmax(-1) == ref.argmax(-1)).all())
        print(f"prompt {k}: {len(ids)} tokens, max |rkv - torch| = {diff:.2e}, argmax equal: {same_argmax}")
        worst = max(worst, diff)
        ok = ok and same_argmax
    ok = ok and worst <= a.tol
    print("OK" if ok else "MISMATCH")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
