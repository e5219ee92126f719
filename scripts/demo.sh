#!/usr/bin/env bash
# Builds rkv (installing its Debian packages) and generates text with an
# R-KV-compressed KV cache. Default model: the tiny trained Llama of the
# shared test assets; pass any Hugging Face folder or .gguf as $1.
#   scripts/demo.sh [MODEL] [extra rkv generate flags...]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh
model=${1:-${RKV_ASSETS:-../shared}/models/stories260K.gguf}
shift || true
if [ ! -e "$model" ]; then
  echo "demo: no model at '$model'." >&2
  echo "demo: pass one: scripts/demo.sh /path/to/DeepSeek-R1-Distill-Qwen-1.5B (a Hugging Face folder) or model.gguf" >&2
  exit 2
fi
echo "demo: rkv generate -m $model (R-KV: budget 64, window 8, compress every 16 tokens)"
build/rkv generate -m "$model" -p "Once upon a time" -n 200 --kv rkv --budget 64 --window 8 --divide-length 16 "$@"
