#!/usr/bin/env bash
# rkv against llama.cpp on the same GGUF files, in the same run.
#
#   scripts/bench-vs-llamacpp.sh [options] MODEL.gguf [MODEL.gguf ...]
#
# For every model, --pairs times: wait for a quiet machine, measure the read
# bandwidth (build/bench/bench_machine), then run rkv (build/bench/bench_model)
# and llama.cpp (node-llama-cpp's prebuilt CPU binaries,
# bench/peers/llamacpp/bench.mjs) one after the other -- the order alternates
# from pair to pair -- with the same thread count, the same KV cache type and
# the same token ids. Tests are llama-bench's: ppN@D = prefill of N tokens
# after D cached tokens, tgN@D = N single-token decode steps after D cached
# tokens. Prints every run (with how busy the rest of the machine was while
# it ran), then medians (min-max), rkv / llama.cpp ratios, and for decode
# the fraction of the bandwidth limit (bandwidth / weight bytes per token).
#
# Options:
#   --threads N        threads for both engines (default 2)
#   --pairs N          alternating pairs per model (default 3)
#   --tests LIST       default pp512@0,tg128@0,pp512@4096,tg128@4096,pp512@8192,tg128@8192
#   --kv f16|bf16      KV cache type for both (default f16, llama.cpp's default)
#   --max-busy F       "quiet" = the other processes use less than F of all CPUs over 2 s (default 0.10)
#   --quiet-timeout S  wait at most S seconds for quiet before a pair, then run anyway and say so (default 600)
#   --out DIR          keep the raw results there (default: a temporary folder)
#   --busy-neighbour   keep one core busy (a shell spin loop) during every run: the figure for a
#                      machine shared with one other busy process (llama.cpp's spinning workers
#                      collapse there; rkv's pool sleeps after ~200 us)
#
# Needs: a Release build (cmake --build build --target bench_model bench_machine)
# and the peer (bench/peers/llamacpp/install.sh).
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PEER="$ROOT/bench/peers/llamacpp"
BENCH_MODEL="$ROOT/build/bench/bench_model"
BENCH_MACHINE="$ROOT/build/bench/bench_machine"

threads=2 pairs=3 kv=f16 max_busy=0.10 quiet_timeout=600 out="" neighbour=0
tests="pp512@0,tg128@0,pp512@4096,tg128@4096,pp512@8192,tg128@8192"
models=()
die() { echo "bench-vs-llamacpp: $*" >&2; exit 2; }
while (($#)); do
  case "$1" in
    --threads) threads="${2:?--threads needs a value}"; shift 2 ;;
    --pairs) pairs="${2:?--pairs needs a value}"; shift 2 ;;
    --tests) tests="${2:?--tests needs a value}"; shift 2 ;;
    --kv) kv="${2:?--kv needs a value}"; shift 2 ;;
    --max-busy) max_busy="${2:?--max-busy needs a value}"; shift 2 ;;
    --quiet-timeout) quiet_timeout="${2:?--quiet-timeout needs a value}"; shift 2 ;;
    --out) out="${2:?--out needs a value}"; shift 2 ;;
    --busy-neighbour) neighbour=1; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    -*) die "unknown option $1 (see --help)" ;;
    *) models+=("$1"); shift ;;
  esac
done
((${#models[@]})) || die "no model given (see --help)"
[[ "$kv" == f16 || "$kv" == bf16 ]] || die "--kv $kv: expected f16 or bf16"
[[ "$threads" =~ ^[1-9][0-9]*$ ]] || die "--threads $threads: expected a positive integer"
[[ "$pairs" =~ ^[1-9][0-9]*$ ]] || die "--pairs $pairs: expected a positive integer"
for m in "${models[@]}"; do [[ -f "$m" ]] || die "$m: no such file"; done
[[ -x "$BENCH_MODEL" && -x "$BENCH_MACHINE" ]] ||
  die "build/bench/bench_model or bench_machine missing: cmake --build build --target bench_model bench_machine"
[[ -d "$PEER/node_modules/node-llama-cpp" ]] || die "the llama.cpp peer is not installed: bench/peers/llamacpp/install.sh"
command -v node >/dev/null || die "node is not installed"

spinner=""
tmp_out=""
if [[ -z "$out" ]]; then out="$(mktemp -d)"; tmp_out="$out"; fi
cleanup() {
  if [[ -n "$spinner" ]]; then kill "$spinner" 2>/dev/null || true; fi
  if [[ -n "$tmp_out" ]]; then rm -rf "$tmp_out"; fi
}
trap cleanup EXIT
mkdir -p "$out"
runs="$out/runs.jsonl"
: >"$runs"

# CPU time of the whole machine, in clock ticks: "busy total" from /proc/stat.
cpu_ticks() { awk '/^cpu /{b=$2+$3+$4+$7+$8+$9; print b, b+$5+$6; exit}' /proc/stat; }
hz=$(getconf CLK_TCK)
ncpu=$(nproc)

# Fraction of all CPUs busy over `secs` seconds (nothing of ours runs then).
busy_over() {
  local secs=$1 b0 t0 b1 t1
  read -r b0 t0 < <(cpu_ticks)
  sleep "$secs"
  read -r b1 t1 < <(cpu_ticks)
  awk -v b=$((b1 - b0)) -v t=$((t1 - t0)) 'BEGIN { printf "%.3f", (t > 0 ? b / t : 0) }'
}

wait_quiet() {
  local start=$SECONDS busy
  while :; do
    busy=$(busy_over 2)
    if awk -v b="$busy" -v m="$max_busy" 'BEGIN { exit !(b < m) }'; then
      echo "$busy $((SECONDS - start)) quiet"
      return
    fi
    if ((SECONDS - start >= quiet_timeout)); then
      echo "$busy $((SECONDS - start)) timeout"
      return
    fi
  done
}

# Runs "$@" (output discarded) and prints how many CPUs the rest of the
# machine kept busy meanwhile: machine busy time minus the command's own CPU
# time, per second of wall time. Fails when the command fails.
foreign_load() {
  local b0 t0 b1 t1 w0 w1 own
  read -r b0 t0 < <(cpu_ticks)
  w0=$(date +%s.%N)
  own=$( { if "$@" >/dev/null; then times; else echo failed; fi; } |
    awk '/failed/ { print "failed"; exit } END { if (NR) { split($1, u, /[ms]/); split($2, s, /[ms]/); print u[1] * 60 + u[2] + s[1] * 60 + s[2] } }')
  [[ "$own" != *failed* ]] || return 1
  w1=$(date +%s.%N)
  read -r b1 t1 < <(cpu_ticks)
  awk -v b=$((b1 - b0)) -v hz="$hz" -v own="$own" -v w0="$w0" -v w1="$w1" \
    'BEGIN { f = (b / hz - own) / (w1 - w0); printf "%.2f", (f < 0 ? 0 : f) }'
}

run_rkv() {  # model pair
  RKV_BENCH_MODELS="$1" RKV_BENCH_TESTS="$tests" RKV_BENCH_THREADS="$threads" RKV_BENCH_KV="$kv" \
    RKV_BENCH_TOKENS="$tokens" "$BENCH_MODEL" --benchmark_format=json --benchmark_out="$out/rkv.json" \
    --benchmark_out_format=json
}
run_llamacpp() {  # model
  local args=() t
  IFS=, read -ra t <<<"$tests"
  for x in "${t[@]}"; do args+=(--test "$x"); done
  node "$PEER/bench.mjs" --model "$1" --tokens "$tokens" --threads "$threads" --kv-type "${kv^^}" "${args[@]}" \
    >"$out/llamacpp.jsonl"
}
bandwidth() {
  "$BENCH_MACHINE" --benchmark_filter="read_bandwidth/$threads/" --benchmark_repetitions=3 \
    --benchmark_report_aggregates_only=true --benchmark_format=json 2>/dev/null |
    node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const b=JSON.parse(s).benchmarks.find(x=>x.aggregate_name==="median");console.log(b?b.bytes_per_second:0)})'
}

cpu_model=$(lscpu | sed -n 's/^Model name: *//p' | head -1)
amx=$(grep -qw amx_int8 /proc/cpuinfo && echo ", AMX" || true)
echo "CPU: $cpu_model ($ncpu CPUs$amx); $threads threads, KV $kv, tests $tests$( ((neighbour)) && echo ", one core kept busy by a spin loop")"
max_tokens=0
IFS=, read -ra tl <<<"$tests"
for x in "${tl[@]}"; do
  [[ "$x" =~ ^(pp|tg)([0-9]+)@([0-9]+)$ ]] || die "--tests: '$x' is not ppN@depth or tgN@depth"
  n=$((BASH_REMATCH[2] + BASH_REMATCH[3])); ((n > max_tokens)) && max_tokens=$n
done

for model in "${models[@]}"; do
  tokens="$out/tokens.txt"
  node "$PEER/bench.mjs" --make-tokens "$tokens" --count "$max_tokens" --model "$model"
  echo "== $model"
  for ((p = 1; p <= pairs; ++p)); do
    read -r busy waited how < <(wait_quiet)
    note=""
    [[ "$how" == timeout ]] && note=" -- not quiet after --quiet-timeout, run anyway"
    echo "pair $p: $(awk -v b="$busy" 'BEGIN { printf "%.0f", 100 * b }')% of the CPUs busy in the 2 s before it (waited ${waited} s)$note"
    bw=$(bandwidth)
    order=(rkv llamacpp)
    ((p % 2 == 0)) && order=(llamacpp rkv)
    for engine in "${order[@]}"; do
      spinner=""
      if ((neighbour)); then
        sh -c 'while :; do :; done' &
        spinner=$!
      fi
      foreign=$(foreign_load "run_$engine" "$model") || die "$engine failed on $model"
      if [[ -n "$spinner" ]]; then
        kill "$spinner"
        wait "$spinner" 2>/dev/null || true
        spinner=""
      fi
      node "$PEER/summarize.mjs" --collect --engine "$engine" --model "$model" --pair "$p" --busy-before "$busy" \
        --foreign "$foreign" --bandwidth "$bw" --rkv-json "$out/rkv.json" --llamacpp-jsonl "$out/llamacpp.jsonl" >>"$runs"
      tail -n "${#tl[@]}" "$runs" | node "$PEER/summarize.mjs" --print-runs
    done
  done
done
echo
node "$PEER/summarize.mjs" --table --cpu "$cpu_model" --threads "$threads" <"$runs"
