#!/usr/bin/env bash
# A GPU run in one command, on a lent GPU machine prepared as bench/README.md says ("On a GPU host
# without Node"): the quick test tier first (real subgroup sizes exercise the subgroup kernels as
# no software adapter can), then every bench part that runs in Node (tune, kernels, model against
# TF.js, profile, precision f32 and f16, train against TF.js and PyTorch), and PyTorch's forward,
# each writing bench/results/<gpu>-<step>.json. Each step has a time limit; together they stay
# under 20 minutes of GPU time. Steps can be run one call at a time where a machine limits each
# command (--steps tests, then --steps bench, ...).
#
#   bash scripts/device/gpu-run.sh [--dry-run] [--steps tests,bench,precision,train,torch] [--out DIR] [--gpu NAME]
#
# --dry-run prints each step's command and limit and runs nothing (no GPU needed).
# --out: where the JSON goes (default bench/results). Tuning choices are kept in
# $DEEPLAB_CACHE_DIR (default /tmp/deeplab-gpu-cache), shared by the steps.
# --gpu: the name in the files (default: the GPU's, from nvidia-smi, e.g. h100).
set -u
cd "$(dirname "$0")/../.."

dry=0
steps=tests,bench,precision,train,torch
out=bench/results
gpu=
while [ $# -gt 0 ]; do
  case "$1" in
    --dry-run) dry=1 ;;
    --steps) steps=${2:?--steps takes a list}; shift ;;
    --out) out=${2:?--out takes a folder}; shift ;;
    --gpu) gpu=${2:?--gpu takes a name}; shift ;;
    *) echo "gpu-run.sh: unknown argument '$1' (known: --dry-run --steps --out --gpu)" >&2; exit 2 ;;
  esac
  shift
done
for s in ${steps//,/ }; do
  case "$s" in tests|bench|precision|train|torch) ;; *) echo "gpu-run.sh: unknown step '$s' (tests, bench, precision, train, torch)" >&2; exit 2 ;; esac
done

if [ -z "$gpu" ]; then
  # "NVIDIA H100 80GB HBM3" -> h100; no GPU (a dry run here) -> gpu.
  name=$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1)
  gpu=$(echo "$name" | tr 'A-Z' 'a-z' | sed -e 's/nvidia //' -e 's/geforce //' | awk '{print $1}' | tr -cd 'a-z0-9-')
  [ -n "$gpu" ] || gpu=gpu
fi

# step name, limit in seconds, command
plan() {
  local cache="DEEPLAB_CACHE_DIR=${DEEPLAB_CACHE_DIR:-/tmp/deeplab-gpu-cache}"
  case "$1" in
    # The quick tier; without the test fixtures (../shared/fixtures, 210 MB, more than a lent
    # machine's transfer takes), the quick tier of the files that need no shared data: every
    # kernel against its CPU reference (test/kernels), the runtime (test/gpu), graphs (test/graph).
    tests) echo "240|if [ -d ../shared/fixtures ]; then node_modules/.bin/mocha --config test/tiers.cjs --grep @slow --invert; else echo 'tests: no ../shared/fixtures: the quick tier of test/kernels, test/gpu, test/graph only'; node_modules/.bin/mocha --parallel --jobs 4 --grep @slow --invert 'dist/test/{kernels,gpu,graph}/**/*.test.js'; fi" ;;
    # Tuning first: the parts after it in the same run use the tuned kernels.
    bench) echo "360|$cache node dist/bench/run.js --parts tune,kernels,model,profile --tune-budget 30 --out $out/$gpu-bench.json" ;;
    # Each precision tuned before it is timed (f32 mostly stored by step bench; f16 shapes are new).
    precision) echo "210|$cache node dist/bench/run.js --parts precision --models mobilenetv2-513,resnet50-os16 --tune-budget 30 --out $out/$gpu-precision.json" ;;
    # Bigger than on lavapipe: batch 8 at crop 321, as training runs on a GPU.
    train) echo "240|$cache node dist/bench/run.js --parts train --batch 8 --crop 321 --out $out/$gpu-train.json" ;;
    torch) echo "120|python3 bench/torch_peer.py --batches 1,8 --repeats 10 --out $out/$gpu-torch-peer.json && python3 bench/torch_peer.py --batches 1 --repeats 10 --autocast --out $out/$gpu-torch-f16.json" ;;
  esac
}

total=0
for s in ${steps//,/ }; do total=$((total + $(plan "$s" | cut -d'|' -f1))); done
echo "gpu-run: steps $steps on '$gpu', results in $out/$gpu-*.json; at most $((total / 60)) min $((total % 60)) s"

if [ $dry -eq 0 ]; then
  # shellcheck source=/dev/null
  source scripts/device/env.sh
  mkdir -p "$out"
fi
failed=0
for s in ${steps//,/ }; do
  IFS='|' read -r limit cmd <<< "$(plan "$s")"
  echo "== $s (limit ${limit} s): $cmd"
  [ $dry -eq 1 ] && continue
  start=$(date +%s)
  timeout --signal=INT --kill-after=10 "$limit" bash -c "$cmd"
  rc=$?
  echo "== $s: exit $rc after $(($(date +%s) - start)) s"
  [ $rc -eq 0 ] || failed=1
done
exit $failed
