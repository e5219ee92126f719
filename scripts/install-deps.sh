#!/usr/bin/env bash
# Installs every Debian package rkv needs to build, test, benchmark and fuzz.
# Idempotent; run as root (or with sudo available).
set -euo pipefail
packages=(
  build-essential cmake g++ pkg-config git
  libgtest-dev libgmock-dev libbenchmark-dev   # tests and benchmarks
  nlohmann-json3-dev                           # JSON (safetensors headers, configs, CLI output)
  libpcre2-dev                                 # tokenizer pre-tokenizer regexes (\p{L} etc.)
  libopenblas-dev                              # benchmark baseline only (never linked into rkv)
  clang libclang-rt-14-dev                     # libFuzzer for the parser fuzzers
  chromium                                     # renders rkv visualize pages in a test
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "install-deps: installing ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
