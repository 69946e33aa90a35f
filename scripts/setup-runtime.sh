#!/usr/bin/env bash
# What runs the engine and its tests, once the project is built (scripts/setup.sh): a WebGPU
# adapter, with Mesa's software Vulkan driver installed from Debian's packages where none can be
# created, then Chromium and Firefox ESR for the browser tests. Succeeds when an adapter works;
# where a browser cannot be installed, scripts/setup-browser.sh says how to point
# DEEPLAB_CHROMIUM or DEEPLAB_FIREFOX at one.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! node dist/src/gpu/check-adapter.js; then
  echo "setup: no WebGPU adapter; installing Mesa's Vulkan drivers (lavapipe)"
  bash scripts/setup-system.sh
  if ! node dist/src/gpu/check-adapter.js; then
    echo "setup: still no WebGPU adapter: check the Vulkan driver (vulkaninfo --summary lists what the loader finds)" >&2
    exit 1
  fi
fi
bash scripts/setup-browser.sh
