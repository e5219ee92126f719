#!/usr/bin/python3
"""The measurement behind q8_0's one scale per row (docs/rkv-method.md,
"Quantized caches"): 8- and 4-bit keys with one f16 scale per row vs one per
32 values, emulated in numpy (symmetric, round to nearest, llama.cpp's
scales), compared with bf16 rounding on

1. the attention-logit error (RMS of q.k/sqrt(d) differences over the logits'
   standard deviation) on the golden update_kv cases' keys and queries, and
   on random keys with RoPE-rotated outlier channels of growing amplitude
   (the pattern of Qwen2 keys);
2. the kept set of one compression of each golden case: the quantized keys
   are written as f32 and scored by `rkv compress`, and compared per KV head
   with the bf16-rounded keys' kept set.

Offline tool (Debian's python3-numpy); prints tables, exits 0.

    /usr/bin/python3 scripts/kv_quant_granularity.py [--rkv build/rkv] [--assets ../shared]
"""
import argparse
import json
import os
import struct
import subprocess
import tempfile

import numpy as np


def load_safetensors(path):
    raw = open(path, "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    out = {}
    for name, t in header.items():
        if name == "__metadata__":
            continue
        begin, end = t["data_offsets"]
        dtype = {"F32": np.float32, "I64": np.int64}[t["dtype"]]
        out[name] = np.frombuffer(raw[8 + n + begin:8 + n + end], dtype=dtype).reshape(t["shape"])
    return out


def save_safetensors(path, tensors):
    header, blobs, offset = {}, [], 0
    for name, v in tensors.items():
        b = np.ascontiguousarray(v, dtype=np.float32).tobytes()
        header[name] = {"dtype": "F32", "shape": list(v.shape), "data_offsets": [offset, offset + len(b)]}
        offset += len(b)
        blobs.append(b)
    h = json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def f16(x):
    return x.astype(np.float16).astype(np.float32)


def bf16(x):
    u = x.astype(np.float32).view(np.uint32)
    u = ((u + 0x7FFF + ((u >> 16) & 1)) >> 16) << 16
    return u.view(np.float32)


def quantize(x, bits, block):
    """x [..., d] -> dequantized values, one f16 scale per `block` values."""
    shape = x.shape
    xb = x.reshape(-1, shape[-1] // block, block)
    if bits == 8:
        scale = f16(np.abs(xb).max(-1, keepdims=True) / 127)
        codes = np.clip(np.round(xb / np.where(scale == 0, 1, scale)), -127, 127)
    else:
        extreme = np.take_along_axis(xb, np.abs(xb).argmax(-1)[..., None], -1)
        scale = f16(extreme / -8)
        codes = np.clip(np.round(xb / np.where(scale == 0, 1, scale)), -8, 7)
    return (codes * scale).reshape(shape)


VARIANTS = {
    "bf16": lambda k: bf16(k),
    "q8 per row": lambda k: quantize(k, 8, k.shape[-1]),
    "q8 per 32": lambda k: quantize(k, 8, 32),
    "q4 per row": lambda k: quantize(k, 4, k.shape[-1]),
    "q4 per 32": lambda k: quantize(k, 4, 32),
}


def logit_error(q, k, kq):
    exact = q @ k.T / np.sqrt(k.shape[-1])
    approx = q @ kq.T / np.sqrt(k.shape[-1])
    return np.sqrt(((approx - exact) ** 2).mean()) / exact.std()


def outlier_keys(rng, n, d, amplitude):
    """Gaussian keys plus four rotating channel pairs (i, i + d/2) of large amplitude at low RoPE frequencies."""
    k = rng.normal(size=(n, d)).astype(np.float32)
    pos = np.arange(n)
    for i, a in zip([2, 5, 9, 30], [1.0, 0.7, 0.5, 0.3]):
        theta = pos * 10000.0 ** (-2 * (d // 2 - 1 - i) / d)
        k[:, i] += amplitude * a * np.cos(theta)
        k[:, i + d // 2] += amplitude * a * np.sin(theta)
    return k


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rkv", default="build/rkv")
    ap.add_argument("--assets", default=os.environ.get("RKV_ASSETS", "../shared"))
    a = ap.parse_args()
    golden = os.path.join(a.assets, "golden/rkv")
    manifest = json.load(open(os.path.join(golden, "manifest.json")))

    errors = {v: [] for v in VARIANTS}
    for c in manifest["cases"]:
        t = load_safetensors(os.path.join(golden, c["file"]))
        k, q = t["key_states"][0, 0], t["query_states"][0, 0]
        for name, fn in VARIANTS.items():
            errors[name].append(logit_error(q, k, fn(k)))
    print("attention-logit error / logit spread (golden cases: median; outliers: amplitude 0, 5, 15, 40)")
    rng = np.random.default_rng(0)
    synthetic = [(outlier_keys(rng, 1024, 128, amp), outlier_keys(rng, 64, 128, amp / 3) * 0.3) for amp in (0, 5, 15, 40)]
    for name, fn in VARIANTS.items():
        outliers = [logit_error(q, k, fn(k)) for k, q in synthetic]
        print(f"  {name:11} golden {np.median(errors[name]):.4f}   outliers " + " ".join(f"{e:.4f}" for e in outliers))

    same = {v: [0, 0, []] for v in VARIANTS if v != "bf16"}
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "case.safetensors")
        for c in manifest["cases"]:
            if c["method"] == "streamingllm":
                continue
            t = load_safetensors(os.path.join(golden, c["file"]))
            args = [a.rkv, "compress", "--input", path, "--method", "rkv" if c["method"] == "r1kv" else c["method"],
                    "--budget", str(c["budget"]), "--first-tokens", str(c.get("first_tokens", 0))]
            for key, flag in [("window_size", "--window"), ("kernel_size", "--kernel"), ("mix_lambda", "--lambda"),
                              ("retain_ratio", "--retain-ratio"), ("retain_direction", "--retain-direction")]:
                if key in c:
                    args += [flag, str(c[key])]
            kept = {}
            for name, fn in VARIANTS.items():
                save_safetensors(path, {"keys": fn(t["key_states"][0].astype(np.float32)), "values": t["value_states"][0],
                                        "queries": t["query_states"][0]})
                out = subprocess.run(args, capture_output=True, text=True, check=True).stdout
                kept[name] = json.loads(out)["kept"]
            for name in same:
                for x, y in zip(kept[name], kept["bf16"]):
                    same[name][0] += set(x) == set(y)
                    same[name][1] += 1
                    same[name][2].append(len(set(x) & set(y)) / len(y))
    print("golden cases (R-KV, SnapKV): KV heads whose kept set equals the bf16 keys' one, mean overlap")
    for name, (equal, total, overlap) in same.items():
        print(f"  {name:11} {equal}/{total}   {100 * np.mean(overlap):.2f}%")


if __name__ == "__main__":
    main()
