#!/usr/bin/env bash
# A GPU run in one command, on a lent GPU machine prepared as bench/README.md says ("On a GPU host
# without Node"): the quick test tier first (real subgroup sizes exercise the subgroup kernels as
# no software adapter can), then the bench steps, the most wanted figures first: each layer at the
# class defaults against TF.js, the networks in f32 and f16 and the host path, then tuning,
# training, the peers (PyTorch, ONNX Runtime), and last the summary of them all
# (bench/summary.ts). Each step writes bench/results/<gpu>-<step>.json under a time limit; the
# whole plan stays within 12 minutes of GPU time (a lent machine has 15 in all, its start-up
# included) and every step within 10 minutes (a lent machine's limit per command), so the steps
# can be run a few per call (--steps tests,kernels,networks, then ...).
#
#   bash scripts/device/gpu-run.sh [--dry-run] [--steps LIST] [--out DIR] [--gpu NAME] [--gpu-name NAME] [--peak-tflops N] [--commit SHA]
#
# --dry-run prints each step's command and limit and runs nothing (no GPU needed).
# --steps: of tests,kernels,networks,tune,train,torch,ort,summary (all, in that order, by default).
# --out: where the JSON goes (default bench/results). Tuning choices are kept in
# $DEEPLAB_CACHE_DIR (default /tmp/deeplab-gpu-cache), shared by the steps.
# --gpu: the name in the files (default: from the GPU's, e.g. h100). --gpu-name: the GPU's full
# name as nvidia-smi gives it (default: nvidia-smi's; for a dry run, to see the plan for a GPU).
# --peak-tflops: the GPU's f32 peak without tensor cores, in TFLOP/s (default: PEAK_TFLOPS below
# for the GPUs it knows, else none: the layers get no share of a peak rather than a guess).
# --commit: the build's commit for the summary (default: git's HEAD, where there is a .git).
set -u
cd "$(dirname "$0")/../.."

ALL_STEPS=tests,kernels,networks,tune,train,torch,ort,summary
dry=0
steps=$ALL_STEPS
out=bench/results
gpu=
gpu_name=
peak=
commit=
while [ $# -gt 0 ]; do
  case "$1" in
    --dry-run) dry=1 ;;
    --steps) steps=${2:?--steps takes a list}; shift ;;
    --out) out=${2:?--out takes a folder}; shift ;;
    --gpu) gpu=${2:?--gpu takes a name}; shift ;;
    --gpu-name) gpu_name=${2:?--gpu-name takes a name}; shift ;;
    --peak-tflops) peak=${2:?--peak-tflops takes a number}; shift ;;
    --commit) commit=${2:?--commit takes a commit}; shift ;;
    *) echo "gpu-run.sh: unknown argument '$1' (known: --dry-run --steps --out --gpu --gpu-name --peak-tflops --commit)" >&2; exit 2 ;;
  esac
  shift
done
for s in ${steps//,/ }; do
  case ",$ALL_STEPS," in *",$s,"*) ;; *) echo "gpu-run.sh: unknown step '$s' (${ALL_STEPS//,/, })" >&2; exit 2 ;; esac
done
if [ -n "$peak" ] && ! [[ "$peak" =~ ^[0-9]+(\.[0-9]+)?$ ]]; then echo "gpu-run.sh: --peak-tflops must be a number, got '$peak'" >&2; exit 2; fi

# The f32 peak (TFLOP/s, without tensor cores) of the GPUs this table knows, by nvidia-smi's
# name: NVIDIA's data sheets. Any other GPU gets none.
PEAK_TFLOPS() {
  case "$1" in
    *"H100 PCIe"*) echo 51 ;;
    *"H100 SXM"* | *"H100 80GB HBM3"*) echo 67 ;; # nvidia-smi names the SXM part by its memory
    *"H200 NVL"*) ;;                              # another part, not in the table
    *"H200"*) echo 67 ;;
  esac
}

[ -n "$gpu_name" ] || gpu_name=$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1)
driver=$(nvidia-smi --query-gpu=driver_version --format=csv,noheader 2>/dev/null | head -1)
if [ -z "$gpu" ]; then
  # "NVIDIA H100 80GB HBM3" -> h100; no GPU (a dry run here) -> gpu.
  gpu=$(echo "$gpu_name" | tr 'A-Z' 'a-z' | sed -e 's/nvidia //' -e 's/geforce //' | awk '{print $1}' | tr -cd 'a-z0-9-')
  [ -n "$gpu" ] || gpu=gpu
fi
[ -n "$peak" ] || peak=$(PEAK_TFLOPS "$gpu_name")
[ -n "$commit" ] || commit=$(git rev-parse HEAD 2>/dev/null)

# step name, limit in seconds, command
plan() {
  local cache="DEEPLAB_CACHE_DIR=${DEEPLAB_CACHE_DIR:-/tmp/deeplab-gpu-cache}"
  local peakArg=${peak:+--peak-tflops $peak}
  local run="node dist/bench/run.js --warmup-budget 4"
  case "$1" in
    # The quick tier, its results as mocha's JSON (the summary counts passing and failing):
    # scripts/device/gpu-tests.sh, which says what it leaves out on a lent machine.
    tests) echo "90|bash scripts/device/gpu-tests.sh $out/$gpu-tests.json" ;;
    # Each layer at the adapter class's defaults (tuning off), ours against TF.js.
    kernels) echo "60|DEEPLAB_TUNE=off $cache $run --parts kernels $peakArg --out $out/$gpu-kernels.json" ;;
    # The networks at the defaults: against TF.js, f32 against f16 (no tuning: --tune-budget 0),
    # where the time goes and the host path (plain runs, segment()).
    networks) echo "150|DEEPLAB_TUNE=off $cache $run --parts model,precision,profile --models mobilenetv2-513,resnet50-os16 --tune-budget 0 $peakArg --out $out/$gpu-networks.json" ;;
    # Untuned against tuned, side by side; the choices stay in the cache for the steps after it.
    tune) echo "110|$cache $run --parts tune --models mobilenetv2-513,resnet50-os16 --tune-budget 40 --out $out/$gpu-tune.json" ;;
    # Bigger than on lavapipe: batch 8 at crop 321, as training runs on a GPU; TF.js and PyTorch beside ours.
    # The GPU engines only: the CPU pair (ours on the CPU, PyTorch on the CPU) took most of 140 s on an H200's host.
    train) echo "140|$cache $run --parts train --gpu-only --batch 8 --crop 321 --out $out/$gpu-train.json" ;;
    # PyTorch's forward, float32 with TF32 off and float16 autocast, one call.
    torch) echo "60|python3 bench/torch_peer.py --strides 16 --batches 1 --precisions f32,f16 --repeats 20 --warmup-budget 4 --out $out/$gpu-torch.json" ;;
    # ONNX Runtime on our ONNX export: its WebGPU provider, else its CUDA provider.
    ort) echo "90|$cache $run --parts ort-node --models mobilenetv2-513,resnet50-os16 --ort-providers webgpu,cuda --out $out/$gpu-ort.json" ;;
    # The headline figures of the step files in $out (bench/summary.ts).
    summary) echo "10|node dist/bench/summary.js --dir $out --gpu $gpu ${gpu_name:+--gpu-name '$gpu_name'} ${driver:+--driver '$driver'} ${commit:+--commit $commit} $peakArg" ;;
  esac
}

total=0
for s in ${steps//,/ }; do total=$((total + $(plan "$s" | cut -d'|' -f1))); done
echo "gpu-run: steps $steps on '$gpu' (${gpu_name:-no GPU found}), results in $out/$gpu-*.json; at most $((total / 60)) min $((total % 60)) s"
if [ -n "$peak" ]; then echo "gpu-run: f32 peak $peak TFLOP/s"; else echo "gpu-run: f32 peak unknown (not in the table, no --peak-tflops): no share of a peak"; fi

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
