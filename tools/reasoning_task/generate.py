#!/usr/bin/python3
"""Writes the reasoning task's files, deterministically from seeds.

  generate.py test --out models/NAME/test.jsonl [--seed 1000003] [--count 500]
      held-out problems, one {"problem", "answer"} per line (what `rkv eval` reads)
  generate.py train --out FILE.jsonl [--seed 1] [--count N]
      training examples with the reference chain ({"problem", "answer", "chain", "n_vars"})
  generate.py tokenizer --out DIR
      tokenizer.json + tokenizer_config.json learned from the task's texts
  generate.py stats --file FILE.jsonl --tokenizer DIR
      chain length statistics (tokens) of a file written by `train`

The same arguments give byte-identical files."""
import argparse
import json
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import bpe  # noqa: E402
import task  # noqa: E402

TEST_SEED = 1000003
TRAIN_SEED = 1
TOKENIZER_SEED = 7
TOKENIZER_CORPUS = 3000  # problems whose texts the BPE vocabulary is learned from


def write_jsonl(path, rows):
    with open(path, "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")


def take(seed, count, params=None):
    stream = task.problem_stream(seed, params)
    return [next(stream) for _ in range(count)]


def tokenizer_texts():
    texts = []
    for i, ex in enumerate(take(TOKENIZER_SEED, TOKENIZER_CORPUS)):
        style = ("chat", "chat_r1", "raw")[i % 3]
        texts.append(task.prompt_text(ex["problem"], style) + task.completion_text(ex, style))
    return texts


def build_tokenizer():
    return bpe.Tokenizer(bpe.train(tokenizer_texts()))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("what", choices=["test", "train", "tokenizer", "stats"])
    ap.add_argument("--out")
    ap.add_argument("--file")
    ap.add_argument("--tokenizer")
    ap.add_argument("--seed", type=int)
    ap.add_argument("--count", type=int)
    a = ap.parse_args()
    if a.what == "test":
        rows = take(a.seed if a.seed is not None else TEST_SEED, a.count or 500)
        write_jsonl(a.out, [{"problem": r["problem"], "answer": r["answer"]} for r in rows])
    elif a.what == "train":
        write_jsonl(a.out, take(a.seed if a.seed is not None else TRAIN_SEED, a.count or 1000))
    elif a.what == "tokenizer":
        os.makedirs(a.out, exist_ok=True)
        tok = build_tokenizer()
        bpe.write_json(os.path.join(a.out, "tokenizer.json"), tok.to_json())
        bpe.write_json(os.path.join(a.out, "tokenizer_config.json"), bpe.tokenizer_config())
        print(f"vocabulary {tok.size} ({len(tok.merges)} merges, {len(bpe.ADDED_TOKENS)} added tokens)")
    else:
        tok = bpe.Tokenizer([m.split(" ") for m in json.load(open(os.path.join(a.tokenizer, "tokenizer.json")))["model"]["merges"]])
        lengths, prompts = [], []
        for line in open(a.file, encoding="utf-8"):
            ex = json.loads(line)
            lengths.append(len(tok.encode(task.completion_text(ex, "chat"))))
            prompts.append(len(tok.encode(task.prompt_text(ex["problem"], "chat"))))
        lengths.sort()
        print(json.dumps({"problems": len(lengths), "output_tokens_mean": round(statistics.mean(lengths), 1),
                          "output_tokens_median": lengths[len(lengths) // 2], "output_tokens_min": lengths[0],
                          "output_tokens_max": lengths[-1], "prompt_tokens_mean": round(statistics.mean(prompts), 1),
                          "prompt_tokens_max": max(prompts)}))


if __name__ == "__main__":
    main()
