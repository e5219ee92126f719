#!/bin/sh
# Trains rkv's reasoning model from nothing: the held-out problems, the
# tokenizer, the training run (seeded; at most ~2 hours on a 2-core machine)
# and the Hugging Face folder with its loss log.
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
$PY tools/train/train.py --out "$OUT" --log "$OUT/train_log.tsv" --time-limit 110 "$@"
