#!/usr/bin/env bash
# The container image's build steps (the Dockerfile runs this script), runnable without Docker:
# Mesa's Vulkan driver (lavapipe, for nodes without a GPU), the package built and packed from
# this checkout, installed with its Node peers (webgpu, sharp, and onnxruntime-node for the CPU
# device) into PREFIX, and a check that the installed `deeplab` runs, finds a WebGPU adapter and
# loads its CPU runtime. docs/scale.md has the Dockerfile and the
# Kubernetes Job that use it; test/setup/container-build.test.ts runs it into a temporary PREFIX.
#
#   bash scripts/container-build.sh PREFIX [--built]     # then PREFIX/bin/deeplab segment ...
#
# --built packs the dist/ already built (the test's case: `npm test` has just built it, and
# other tests read it while this runs) instead of building first.
set -euo pipefail
prefix=${1:?usage: bash scripts/container-build.sh PREFIX [--built]}
built=0
[ "${2:-}" = --built ] && built=1
cd "$(dirname "$0")/.."
export npm_config_loglevel=${npm_config_loglevel:-error}
export ONNXRUNTIME_NODE_INSTALL=skip

# 1. A Vulkan driver Dawn accepts (Mesa 25's lavapipe from bookworm-backports; nothing when
#    present). On GPU nodes NVIDIA's container toolkit mounts its own Vulkan driver beside it.
bash scripts/setup-system.sh

# 2. The package, built and packed as npm publishes it.
[ -d node_modules ] || npm ci --no-audit --no-fund
[ "$built" = 1 ] || npm run --silent build
pack=$(mktemp -d)
trap 'rm -rf "$pack"' EXIT
tarball="$pack/$(npm pack --silent --pack-destination "$pack" | tail -1)"

# 3. Installed with its optional peers at the versions this checkout is tested with.
version() { node -p "require('./package.json').devDependencies['$1'].replace(/^[\^~]/, '')"; }
mkdir -p "$prefix/bin"
npm install --prefix "$prefix" --prefer-offline --no-audit --no-fund --omit=dev \
  "$tarball" "webgpu@$(version webgpu)" "sharp@$(version sharp)" "onnxruntime-node@$(version onnxruntime-node)"
ln -sf ../node_modules/.bin/deeplab "$prefix/bin/deeplab"
# onnxruntime-node ships every platform's library (288 MB): this machine's is kept (about 45 MB).
ort_bin="$prefix/node_modules/onnxruntime-node/bin/napi-v6"
keep="$(node -p 'process.platform')/$(node -p 'process.arch')"
for dir in "$ort_bin"/*/*; do
  case "$dir" in */"$keep") ;; *) rm -rf "$dir" ;; esac
done

# 4. The installed command runs, Dawn finds an adapter, and the CPU device's runtime loads.
"$prefix/bin/deeplab" --version
node "$prefix/node_modules/deeplab-webgpu/dist/src/gpu/check-adapter.js"
node -e "const ort = require('$prefix/node_modules/onnxruntime-node'); console.log('CPU device: onnxruntime-node ' + ort.env.versions.node)"
