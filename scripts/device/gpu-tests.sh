#!/usr/bin/env bash
# The tests step of scripts/device/gpu-run.sh: the quick tier on the GPU, its results as mocha's
# JSON in FILE (bench/summary.ts counts passing and failing there), the counts printed after.
#
#   bash scripts/device/gpu-tests.sh FILE [TEST_FILE...]
#
# Test files named after FILE run instead of the tier (test/bench/gpu-run.test.ts names one).
# Without the test fixtures (../shared/fixtures, 210 MB, more than a lent machine's transfer
# takes), the quick tier of the files that need no shared data: every kernel against its CPU
# reference (test/kernels), the runtime (test/gpu), graphs (test/graph). Where onnxruntime-node
# is the stub a lent machine's node_modules carries, its graph tests are left out. Each says so.
set -u
cd "$(dirname "$0")/../.."
out=${1:?gpu-tests.sh takes the JSON file to write}
shift
args=(--parallel --jobs 8 --grep @slow --invert --reporter json --reporter-option "output=$out")
if [ ! -f node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime.so.1 ]; then
  echo 'tests: onnxruntime-node is not here (a stub): dist/test/graph/onnx*.test.js left out'
  args+=(--ignore 'dist/test/graph/onnx*.test.js')
fi
if [ $# -gt 0 ]; then
  node_modules/.bin/mocha "${args[@]}" "$@"
elif [ -d ../shared/fixtures ]; then
  node_modules/.bin/mocha --config test/quick-tier.cjs "${args[@]}"
else
  echo 'tests: no ../shared/fixtures: the quick tier of test/kernels, test/gpu, test/graph only'
  node_modules/.bin/mocha "${args[@]}" 'dist/test/{kernels,gpu,graph}/**/*.test.js'
fi
rc=$?
node -e "const s = JSON.parse(require('fs').readFileSync(process.argv[1], 'utf8')).stats; console.log('tests: ' + s.passes + ' passing, ' + s.failures + ' failing')" "$out"
exit $rc
