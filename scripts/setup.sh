#!/usr/bin/env bash
# One-step set-up on a fresh machine: npm packages, the build, Chromium for the browser test, and a
# WebGPU adapter. Where no adapter can be created (no GPU driver), installs Mesa's software Vulkan
# driver and checks again.
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
# Chromium for the browser test (WebGPU on its software adapter).
bash scripts/setup-browser.sh

if node dist/src/gpu/check-adapter.js; then
  exit 0
fi
echo "setup: no WebGPU adapter; installing Mesa's Vulkan drivers (lavapipe)"
bash scripts/setup-system.sh
node dist/src/gpu/check-adapter.js
