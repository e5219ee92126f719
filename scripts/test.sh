#!/usr/bin/env bash
# Installs dependencies, builds, and runs every test:
#   1. Release build, all tests (unit, golden, CLI) with ctest
#   2. the numeric suites of that build again with the kernels an AVX2-only
#      and a pre-AVX2 CPU would get (RKV_ISA=avx2, RKV_ISA=scalar)
#   3. Debug build under AddressSanitizer + UndefinedBehaviorSanitizer, unit tests
#   4. the fuzzers' corpora replayed (part of the unit tests)
# Test assets come from RKV_ASSETS (default ../shared); with CI=true a missing
# asset fails the run instead of skipping.
set -uo pipefail
cd "$(dirname "$0")/.."
jobs="${RKV_JOBS:-2}"
scripts/install-deps.sh || exit 1
status=0
summary=()

run_suite() {  # name build-dir cmake-args...
  local name=$1 dir=$2
  shift 2
  echo "=== $name: configure + build ($dir)"
  if ! cmake -S . -B "$dir" "$@" > "$dir.log" 2>&1 || ! cmake --build "$dir" -j"$jobs" >> "$dir.log" 2>&1; then
    tail -60 "$dir.log"
    summary+=("$name: BUILD FAILED (see $dir.log)")
    status=1
    return
  fi
  echo "=== $name: ctest"
  local out
  out=$(cd "$dir" && ctest -j"$jobs" --output-on-failure --timeout 900 2>&1)
  local rc=$?
  echo "$out" | grep -vE '^ *[0-9]+/[0-9]+ Test +#[0-9]+: .* Passed' | tail -80
  summary+=("$name: $(echo "$out" | grep -E 'tests passed|tests failed' | tail -1)")
  [ $rc -eq 0 ] || status=1
}

run_suite "release" build-test -DCMAKE_BUILD_TYPE=Release -DRKV_BUILD_BENCH=ON

# Users' CPUs may lack AVX-512 (or AVX2): the same kernels' tests, dispatch lowered.
numeric='Matmul|Golden|Stories|Attention|KvRow|Logits|Convert'
for isa in avx2 scalar; do
  [ -d build-test ] || break
  echo "=== release, RKV_ISA=$isa: numeric suites"
  out=$(cd build-test && RKV_ISA=$isa ctest -j"$jobs" --output-on-failure --timeout 900 -R "$numeric" 2>&1)
  rc=$?
  echo "$out" | grep -vE '^ *[0-9]+/[0-9]+ Test +#[0-9]+: .* Passed' | tail -40
  summary+=("release RKV_ISA=$isa: $(echo "$out" | grep -E 'tests passed|tests failed|No tests were found' | tail -1)")
  [ $rc -eq 0 ] || status=1
done
run_suite "asan+ubsan" build-asan -DCMAKE_BUILD_TYPE=Debug -DRKV_SANITIZE=ON -DRKV_BUILD_BENCH=OFF

echo
echo "=== summary"
for line in "${summary[@]}"; do echo "  $line"; done
[ $status -eq 0 ] && echo "ALL TESTS PASSED" || echo "SOME TESTS FAILED"
exit $status
