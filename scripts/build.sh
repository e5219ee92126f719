#!/usr/bin/env bash
# Installs the Debian packages rkv needs and builds it (Release) into build/.
# Usage: scripts/build.sh [extra cmake args...]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release "$@" > build.log 2>&1 || { cat build.log; exit 1; }
cmake --build build -j"${RKV_JOBS:-2}" >> build.log 2>&1 || { tail -50 build.log; exit 1; }
echo "build: ok (build/rkv)"
