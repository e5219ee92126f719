#!/usr/bin/env bash
# Builds rkv (installing its Debian packages) and runs the project's own
# reasoning model (models/rkv-reasoner-mini, in the repository) on one of its
# held-out problems: the chain of thought streams, the boxed answer follows,
# and the summary line shows the KV cache held at its R-KV budget while the
# chain grew several times past it.
#   scripts/demo.sh                     # the shipped model and problem
#   scripts/demo.sh MODEL [PROMPT] [extra rkv generate flags...]
# MODEL: any Hugging Face folder or .gguf (e.g. DeepSeek-R1-Distill-Qwen-1.5B).
# RKV=/path/to/rkv runs that binary and skips the build (the tests do).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${RKV:-}" ]; then
  scripts/build.sh
  RKV=build/rkv
fi
model=${1:-models/rkv-reasoner-mini}
shift || true
if [ ! -e "$model" ]; then
  echo "demo: no model at '$model'." >&2
  echo "demo: pass a Hugging Face folder (config.json + safetensors + tokenizer.json) or a .gguf file" >&2
  exit 2
fi
if [ $# -gt 0 ]; then
  prompt=$1
  shift
else
  prompt=$(cat models/rkv-reasoner-mini/example.txt)
fi
echo "demo: rkv generate -m $model --chat (R-KV: budget 128, observation window 8, compress every 32 tokens)"
echo "--- problem ---"
echo "$prompt"
echo "--- model ---"
"$RKV" generate -m "$model" --chat -p "$prompt" -n 2048 --kv rkv --budget 128 --window 8 --divide-length 32 "$@"
