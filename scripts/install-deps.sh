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
  chromium                                     # renders rkv visualize pages and the chat page in tests
  libcpp-httplib-dev                           # rkv serve's HTTP (server/server.h)
  nginx                                        # scale-out test: replicas behind a load balancer (deploy/nginx)
  nodejs                                       # the official openai client drives rkv serve in a test
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# npm: Debian's own package, unless the installed nodejs brings npm itself (NodeSource's does)
command -v npm > /dev/null 2>&1 || missing+=(npm)
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
else
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "install-deps: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
"$(dirname "$0")/install-node-deps.sh"
