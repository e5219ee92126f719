#!/bin/sh
# Trains rkv's reasoning model from nothing: the held-out problems, the
# tokenizer, the training run (seeded; 40 minutes on one core of a 2-core
# machine, the shipped model's recipe) and the Hugging Face folder with its
# loss log. Later options override: --time-limit 110 trains for longer.
#
#   tools/train/train.sh [OUT_DIR] [train.py options...]
#
# OUT_DIR defaults to models/rkv-reasoner-mini. Needs Debian's python3-torch
# (1.13, CPU) and python3-regex. Training never runs in CI.
set -eu
cd "$(dirname "$0")/../.."
OUT=${1:-models/rkv-reasoner-mini}
[ $# -gt 0 ] && shift
PY=/usr/bin/python3
mkdir -p "$OUT"
$PY tools/reasoning_task/generate.py test --out "$OUT/test.jsonl"
$PY tools/train/train.py --out "$OUT" --log "$OUT/train_log.tsv" --time-limit 40 "$@"
