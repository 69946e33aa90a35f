#!/usr/bin/env bash
# One-step set-up on a fresh machine: npm packages, the build, then scripts/setup-runtime.sh: a
# WebGPU adapter (Mesa's software Vulkan driver from Debian's packages where none can be created)
# and Chromium and Firefox ESR for the browser tests. It installs what it can and says what it
# cannot: without apt-get (macOS, Fedora, ...) it succeeds where an adapter works.
set -euo pipefail
cd "$(dirname "$0")/.."

export npm_config_loglevel=${npm_config_loglevel:-error}
# onnxruntime-node (a benchmark peer) fetches extra binaries in postinstall from a host we
# cannot reach; its CPU binary ships inside the package.
export ONNXRUNTIME_NODE_INSTALL=skip

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
npm run --silent build
bash scripts/setup-runtime.sh
