#!/usr/bin/env bash
# Builds the libFuzzer targets with clang and fuzzes one of them.
# Usage: scripts/fuzz.sh NAME [SECONDS]   e.g. scripts/fuzz.sh safetensors 300
# New inputs that raise coverage land in build-fuzz/corpus/NAME; copy small,
# interesting ones into fuzz/corpus/NAME so the unit tests replay them.
set -euo pipefail
cd "$(dirname "$0")/.."
name=${1:?usage: scripts/fuzz.sh NAME [SECONDS]}
seconds=${2:-60}
CC=clang CXX=clang++ cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=Debug -DRKV_BUILD_FUZZ=ON -DRKV_BUILD_TESTS=OFF \
  -DRKV_BUILD_BENCH=OFF > build-fuzz.log 2>&1 || { cat build-fuzz.log; exit 1; }
cmake --build build-fuzz -j"${RKV_JOBS:-2}" --target "fuzz_$name" >> build-fuzz.log 2>&1 || { tail -40 build-fuzz.log; exit 1; }
mkdir -p "build-fuzz/corpus/$name"
build-fuzz/fuzz/fuzz_"$name" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=4096 \
  "build-fuzz/corpus/$name" "fuzz/corpus/$name"
