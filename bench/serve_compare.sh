#!/usr/bin/env bash
# FullKV against R-KV under one --kv-memory, through rkv serve: starts a
# server per method, runs bench/serve_bench.mjs against it (long streams,
# many at once), prints both summaries. Environment (defaults):
#   MODEL (required: e.g. rkv make-model --shape r1-qwen-1.5b --type q4_k -o /tmp/q.gguf)
#   KV_MEMORY=2147483648 MAX_BATCH=48 REQUESTS=48 PROMPT_TOKENS=32 MAX_TOKENS=6144
#   DURATION=90 (seconds of streaming measured per method; 0: run every stream to the end)
#   WARMUP=0 (seconds left out of steady_tokens_per_s: the prefills)
#   BUDGET=1024 THREADS=0 KV_TYPE=f32
set -euo pipefail
cd "$(dirname "$0")/.."
: "${MODEL:?set MODEL to a .gguf file}"
KV_MEMORY=${KV_MEMORY:-2147483648} MAX_BATCH=${MAX_BATCH:-48} REQUESTS=${REQUESTS:-48}
PROMPT_TOKENS=${PROMPT_TOKENS:-32} MAX_TOKENS=${MAX_TOKENS:-6144} DURATION=${DURATION:-90} WARMUP=${WARMUP:-0}
BUDGET=${BUDGET:-1024} THREADS=${THREADS:-0} KV_TYPE=${KV_TYPE:-f32}
log=$(mktemp)
trap 'rm -f "$log"' EXIT
for method in fullkv rkv; do
  extra=()
  [ "$method" = rkv ] && extra=(--kv rkv --budget "$BUDGET")
  build/rkv serve -m "$MODEL" --port 0 --threads "$THREADS" --kv-type "$KV_TYPE" --max-batch "$MAX_BATCH" --max-queue "$REQUESTS" \
    --kv-memory "$KV_MEMORY" "${extra[@]}" 2> "$log" &
  pid=$!
  for _ in $(seq 600); do grep -q "rkv serve: ready" "$log" && break; sleep 0.1; done
  port=$(grep -o '127.0.0.1:[0-9]*' "$log" | head -1 | cut -d: -f2)
  node bench/serve_bench.mjs --url "http://127.0.0.1:$port" --requests "$REQUESTS" --prompt-tokens "$PROMPT_TOKENS" \
    --max-tokens "$MAX_TOKENS" --duration "$DURATION" --warmup "$WARMUP" --label "$method${extra:+ budget $BUDGET}" --json
  kill "$pid"
  wait "$pid" || true
done
