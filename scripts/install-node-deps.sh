#!/usr/bin/env bash
# Installs the npm packages the tests use, exactly as package-lock.json pins
# them: the official `openai` client that drives rkv serve end to end
# (tests/server/client). Idempotent; node_modules is git-ignored.
set -euo pipefail
cd "$(dirname "$0")/../tests/server/client"
want=$(node -e 'console.log(require("./package-lock.json").packages["node_modules/openai"].version)')
have=$(node -e 'try { console.log(require("./node_modules/openai/package.json").version) } catch { console.log("") }')
if [ "$want" = "$have" ]; then
  echo "install-node-deps: openai $have present"
  exit 0
fi
npm ci --no-audit --no-fund --loglevel=error
