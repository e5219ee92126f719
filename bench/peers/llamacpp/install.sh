#!/usr/bin/env bash
# Installs the llama.cpp peer of scripts/bench-vs-llamacpp.sh: node-llama-cpp
# 3.21.1 exactly as package-lock.json pins it, with its prebuilt llama.cpp
# binaries (@node-llama-cpp/linux-x64 etc.). Not part of rkv's own install
# (scripts/install-deps.sh); needs Node.js >= 20 and npm.
#
# --ignore-scripts: node-llama-cpp's postinstall may download or build
# llama.cpp from source; the benchmark uses only the prebuilt binaries
# shipped in the package, and checks below that they load.
set -euo pipefail
cd "$(dirname "$0")"
command -v node >/dev/null || { echo "install.sh: node (>= 20) is not installed" >&2; exit 2; }
npm ci --ignore-scripts --no-audit --no-fund
node bench.mjs --check
