#!/usr/bin/env bash
# Packs what a lent GPU machine needs (bench/README.md, "On a GPU host without Node") and prints
# the device tool's `run` calls of the GPU run, ready to paste: for each call its command, the
# paths it carries and its timeout_s, the bytes it transfers, and the device time of them all.
#
#   bash scripts/device/pack.sh            # build, pack, check on this machine, print the calls (1.5 min)
#   bash scripts/device/pack.sh --plan     # pack nothing: check the sizes of what is packed, print the calls
#   bash scripts/device/pack.sh --no-build # pack without `npm run build` (dist/ as it is)
#   bash scripts/device/pack.sh --list-nm  # the packages nm.tar.xz holds, one a line
#   --limit-mib N: a call's transfer at most N MiB (default 60, a margin under the device's 64)
#
# Run it in the checkout whose session calls the device tool: that checkout travels with every
# call (its tracked and untracked, not ignored files: measured here), and the carried paths are
# read from it. It packs from the checkout's installed node_modules (`npm run setup` made them)
# and a fresh `npm run build`, into paths git ignores (.gitignore; else lines it adds to
# .git/info/exclude). On 28 November, in MiB:
#
#   .device-carry/rt/node.xz        this machine's Node, stripped, its ICU data cut to English
#                                   (scripts/device/node-icu-trim.py), xz: 13.3
#   .device-carry/rt/nm.tar.xz      node_modules for Node: the packages the engine, the runner,
#                                   TF.js and the tests import (--list-nm), Dawn for Linux x64
#                                   only, no maps or type files; playwright-core and
#                                   onnxruntime-node as stubs that throw when used: 5.2
#   .device-carry/rt/dist.tar.xz    dist/ without maps and without the page bundles: 1.1
#   .gl/*.deb                       the Vulkan loader, glvnd and libX11 (Debian's, apt-get download): 1.7
#   .device-carry/weights/          the MobileNetV2 257 (.tflite) and 513 (.npy) weights: 10.7
#   .device-carry/voc-sample/       the VOC sample every forward bench reads: 3.0
#   .device-carry/nm-img/img.tar.xz sharp's @img (libvips), through which the runner reads images: 6.3
#   .device-carry/nm-ort/ort-node.tar.xz  onnxruntime-node, Linux x64 only, in place of its stub: 12.0
#
# then runs env.sh on them here (a temporary folder as the lent machine's checkout, Node from
# node.xz): the runner's imports, TF.js, Intl, a kernel test on this machine's adapter, sharp on
# the VOC image, the 513 weights, onnxruntime-node. What the three calls carry never exceeds
# LIMIT_MIB with the checkout (the device's own limit is 64 MiB a call); --plan checks that on
# what is packed, so a test can run it on stand-ins (--carry-root DIR: where --plan reads
# .device-carry/ and .gl/, default the checkout). Packing needs Linux x64 (the lent machine's),
# strip, nm, readelf, xz, python3, and apt-get where .gl/ is empty.
#
# The calls: three, back to back, each sent as soon as the last returns (a machine stays warm
# 30 s after a call, and what call 1 unpacked serves calls 2 and 3); the step files come back
# from $OUT; the summary (bench/summary.ts) is made here from them.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD

# Each call: the gpu-run.sh steps, most wanted first | the paths it carries | what it measures.
# Call 1 carries the runtime and measures what needs nothing else; call 2 brings the weights,
# the image and sharp; call 3 onnxruntime-node.
CALLS=(
  "kernels,torch,tests|.device-carry/rt .gl|the layers against TF.js, PyTorch, the quick tier"
  "networks|.device-carry/weights .device-carry/voc-sample .device-carry/nm-img|the two networks in f32 and f16 against TF.js, the host path (forwardToHost, segment())"
  "tune,train,ort|.device-carry/nm-ort|untuned against tuned, the training step, ONNX Runtime"
)
MOST_WANTED_CALLS=2   # calls 1 and 2 hold the issue's most wanted figures
GPU_NAME='NVIDIA H200'
LIMIT_MIB=60          # a call's transfer, the checkout with it (the device takes 64 MiB)
BUDGET_S=900          # a task's device time, the start-up included
STARTUP_S=120         # a machine's start: 1-2 minutes
PER_CALL_S=15         # each call's transfer, and the next call sent at once
CALL_MARGIN_S=10      # a call's timeout_s over its steps' limits: env.sh's unpacking, a step's kill grace

mode=build
carry_root=$ROOT
while [ $# -gt 0 ]; do
  case "$1" in
    --plan) mode=plan ;;
    --no-build) mode=nobuild ;;
    --list-nm) mode=list ;;
    --carry-root) carry_root=$(cd "${2:?--carry-root takes a folder}" && pwd); shift ;;
    --limit-mib) LIMIT_MIB=${2:?--limit-mib takes a number}; shift ;;
    *) echo "pack.sh: unknown argument '$1' (known: --plan --no-build --list-nm --carry-root DIR --limit-mib N)" >&2; exit 2 ;;
  esac
  shift
done
if ! [[ "$LIMIT_MIB" =~ ^[0-9]+$ ]] || [ "$LIMIT_MIB" -gt 64 ]; then echo "pack.sh: --limit-mib must be a whole number of MiB, at most the device's 64, got '$LIMIT_MIB'" >&2; exit 2; fi

mib() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1048576 }'; }
# Bytes under a path as the device tool counts them: files and links.
bytes_of() { find "$1" \( -type f -o -type l \) -printf '%s\n' 2>/dev/null | awk '{ s += $1 } END { print s + 0 }'; }

# --- What nm.tar.xz holds -------------------------------------------------------------------
# The packages imported at run time by the engine (dist/src), the runner (dist/bench), the tests
# step's mocha and chai, and TF.js (webgpu backend), with what they depend on. Left out: @img
# (img.tar.xz), piscina's optional @napi-rs/nice, tfjs-backend-cpu (the webgpu backend's Node
# bundle imports none of it), type packages. Stubs: playwright-core (bench/run.js imports it at
# start-up for the browser part) and onnxruntime-node (nm-ort/ort-node.tar.xz brings the real one).
NM_ROOTS='webgpu fflate glob piscina pngjs protobufjs flatbuffers sharp mocha chai @tensorflow/tfjs-core @tensorflow/tfjs-backend-webgpu'
NM_LEFT_OUT='^(@img/.*|@napi-rs/.*|@tensorflow/tfjs-backend-cpu|@types/.*|@webgpu/types)$'
nm_packages() {
  node -e '
    const { existsSync, readFileSync } = require("node:fs");
    const seen = new Set();
    const visit = (name) => {
      if (seen.has(name) || !existsSync(`node_modules/${name}/package.json`)) return; // optional ones not installed
      seen.add(name);
      const j = JSON.parse(readFileSync(`node_modules/${name}/package.json`, "utf8"));
      for (const d of Object.keys({ ...j.dependencies, ...j.optionalDependencies })) visit(d);
    };
    process.argv.slice(1).forEach(visit);
    for (const r of process.argv.slice(1)) if (!seen.has(r)) throw new Error(`pack.sh: ${r} is not installed (npm run setup)`);
    console.log([...seen].sort().join("\n"));
  ' $NM_ROOTS | grep -Ev "$NM_LEFT_OUT"
}
if [ $mode = list ]; then nm_packages; exit 0; fi

# --- Packing ----------------------------------------------------------------------------------
# A piece is made again only when what it is made from changed (its key, kept beside it).
stale() { [ ! -f "$1" ] || [ "$(cat "$1.key" 2>/dev/null)" != "$2" ]; }
keep_key() { echo "$2" > "$1.key"; }
xz_tar() { tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -cf - "$@" | xz -9 -T0; }

stub_package() { # name, what brings the real one
  mkdir -p "$stage/node_modules/$1"
  printf '{ "name": "%s", "version": "0.0.0-device-stub", "main": "index.js" }\n' "$1" > "$stage/node_modules/$1/package.json"
  cat > "$stage/node_modules/$1/index.js" <<EOF
// A stand-in that scripts/device/pack.sh carries to a lent GPU machine: importing it works, using it throws.
const fail = (what) => new Proxy({}, {
  get(_, key) {
    if (typeof key === 'symbol' || key === 'then' || key === '__esModule' || key === 'default') return undefined;
    throw new Error(\`$1 is not carried to this machine (a stub: scripts/device/pack.sh; $2), used as \${what}.\${String(key)}\`);
  },
});
module.exports = fail('$1');
module.exports.chromium = fail('chromium');
module.exports.firefox = fail('firefox');
EOF
}

pack_node() {
  local node_bin key out=.device-carry/rt/node.xz
  node_bin=$(readlink -f "$(command -v node)")
  key="$(sha256sum "$node_bin" scripts/device/node-icu-trim.py | cut -c1-64 | tr '\n' ' ')"
  if ! stale $out "$key"; then echo "pack: $out as before ($(mib "$(stat -c %s $out)") MiB)"; return; fi
  cp "$node_bin" "$stage/node"
  strip "$stage/node"
  python3 scripts/device/node-icu-trim.py "$node_bin" "$stage/node"
  # The packed Node must still format, compare and decode as the engine and its tests do.
  "$stage/node" -e '
    const checks = [(1234.5).toLocaleString("en-US") === "1,234.5", "a".localeCompare("B") < 0,
      new TextDecoder("latin1").decode(new Uint8Array([0xe9, 0x41])) === "éA", /\p{Script=Greek}/u.test("α"),
      new Intl.DateTimeFormat("en-US", { timeZone: "UTC" }).format(0) === "1/1/1970"];
    if (checks.includes(false)) throw new Error(`the trimmed Node fails Intl checks: ${checks}`);'
  xz --x86 --lzma2=preset=9e -c "$stage/node" > $out
  keep_key $out "$key"
  echo "pack: $out: $node_bin ($(node -v)) stripped, English ICU, xz: $(mib "$(stat -c %s $out)") MiB"
}

pack_node_modules() {
  local key out=.device-carry/rt/nm.tar.xz p
  key="$(sha256sum package-lock.json scripts/device/pack.sh | cut -c1-64 | tr '\n' ' ')"
  if ! stale $out "$key"; then echo "pack: $out as before ($(mib "$(stat -c %s $out)") MiB)"; return; fi
  mkdir -p "$stage/node_modules/.bin"
  for p in $(nm_packages); do
    mkdir -p "$stage/node_modules/$(dirname "$p")"
    cp -a "node_modules/$p" "$stage/node_modules/$p"
  done
  ln -s ../mocha/bin/mocha.js "$stage/node_modules/.bin/mocha"
  stub_package playwright-core 'only the browser parts use it'
  stub_package onnxruntime-node "call 3 carries it, nm-ort/ort-node.tar.xz"
  (
    cd "$stage/node_modules"
    find . \( -name '*.map' -o -name '*.d.ts' -o -name '*.d.mts' -o -name '*.d.cts' -o -name '*.md' \) -type f -delete
    # Dawn for Linux x64 only, without its symbol table.
    find webgpu/dist -mindepth 1 -maxdepth 1 ! -name linux-x64 -exec rm -rf {} +
    strip --strip-unneeded webgpu/dist/linux-x64/dawn.node
    # Builds for pages, which Node never loads (protobufjs: the engine imports protobufjs/light.js, src/).
    rm -rf protobufjs/dist pngjs/browser.js mocha/mocha.js
    # TF.js: the Node bundle each package's "main" names, not its other builds and per-op files.
    for p in @tensorflow/tfjs-core @tensorflow/tfjs-backend-webgpu; do
      main=$(node -p "require('./$p/package.json').main")
      find "$p/dist" -mindepth 1 -maxdepth 1 ! -name "$(basename "$main")" -exec rm -rf {} +
    done
  )
  (cd "$stage" && xz_tar node_modules) > $out
  keep_key $out "$key"
  echo "pack: $out: $(nm_packages | wc -l) packages and 2 stubs: $(mib "$(stat -c %s $out)") MiB"
}

pack_extra() { # out, packages (folders of node_modules)
  local out=$1 key
  shift
  key="$(sha256sum package-lock.json scripts/device/pack.sh | cut -c1-64 | tr '\n' ' ') $*"
  if ! stale "$out" "$key"; then echo "pack: $out as before ($(mib "$(stat -c %s "$out")") MiB)"; return; fi
  mkdir -p "$(dirname "$out")"
  (cd node_modules && xz_tar --exclude='*.map' --exclude='*.d.ts' \
    --exclude='onnxruntime-node/bin/napi-v6/darwin' --exclude='onnxruntime-node/bin/napi-v6/win32' \
    --exclude='onnxruntime-node/bin/napi-v6/linux/arm64' "$@") > "$out"
  keep_key "$out" "$key"
  echo "pack: $out: $* ($(mib "$(stat -c %s "$out")") MiB)"
}

pack_gl() {
  if ls .gl/*.deb > /dev/null 2>&1; then echo "pack: .gl as before ($(ls .gl/*.deb | wc -l) .debs, $(mib "$(bytes_of .gl)") MiB)"; return; fi
  # The device README's recipe, amd64 whatever this machine is; NVIDIA's Vulkan ICD
  # (libGLX_nvidia.so.0) fails to load ("Could not get 'vkCreateInstance'") without glvnd and libX11.
  local o='-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64'
  mkdir -p .gl /tmp/amd64/partial
  apt-get $o update -qq
  (cd .gl && apt-get $o download -qq libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2 \
    libx11-6 libxext6 libxcb1 libxau6 libxdmcp6 libbsd0 libmd0 libx11-data 2>&1 | grep -v 'unsandboxed' || true)
  echo "pack: .gl: $(ls .gl/*.deb | wc -l) .debs (the Vulkan loader, glvnd, libX11): $(mib "$(bytes_of .gl)") MiB"
}

pack_shared() {
  local shared=${DEEPLAB_SHARED_DIR:-$ROOT/../shared}
  rm -rf .device-carry/weights .device-carry/voc-sample
  mkdir -p .device-carry/weights
  # Part model, precision, profile and tune read the 513 weights; part train the 257 model.
  cp -r "$shared/weights/README.md" "$shared/weights/deeplabv3_257_mv_gpu.tflite" "$shared/weights/tf-deeplabv3-mnv2-pascal-trainval-513" .device-carry/weights/
  cp -r "$shared/data/voc-sample" .device-carry/voc-sample
  chmod -R u+w .device-carry/weights .device-carry/voc-sample
  echo "pack: .device-carry/weights ($(mib "$(bytes_of .device-carry/weights)") MiB), .device-carry/voc-sample ($(mib "$(bytes_of .device-carry/voc-sample)") MiB) from $shared"
}

# The calls' unpacking and a look at each piece, here: env.sh in a temporary folder that holds
# the checkout as it travels, Node from node.xz first on the PATH.
self_check() {
  local sim=$stage/sim repo=$stage/sim/repo
  mkdir -p "$repo"
  git ls-files -z --cached --others --exclude-standard | tar --null -T - --ignore-failed-read -cf - 2>/dev/null | tar -C "$repo" -xf -
  env_sh() { ( cd "$repo" && DEVICE_RT=$sim/rt DEVICE_SYSROOT=$sim/sysroot && export DEVICE_RT DEVICE_SYSROOT && source scripts/device/env.sh > /dev/null && set -e && "$@" ); }
  carry_into_sim() { for p in "$@"; do mkdir -p "$repo/$(dirname "$p")"; cp -a "$p" "$repo/$p"; done; }

  carry_into_sim $(echo "${CALLS[0]}" | cut -d'|' -f2)
  env_sh bash -c '
    [ "$(command -v node)" = "$DEVICE_RT/node" ] || { echo "pack: self-check: node is $(command -v node), not the packed one" >&2; exit 1; }
    node -e "Promise.all([\"webgpu\", \"@tensorflow/tfjs-core\", \"@tensorflow/tfjs-backend-webgpu\", \"mocha\", \"chai\", \"piscina\", \"protobufjs/light.js\", \"flatbuffers\", \"playwright-core\", \"onnxruntime-node\"].map((p) => import(p)))"
    node dist/bench/run.js --parts none 2>&1 | grep -q "unknown part(s) none" || { node dist/bench/run.js --parts none; exit 1; }
    bash scripts/device/gpu-tests.sh "$DEVICE_RT/tests.json" dist/test/kernels/silu.test.js > "$DEVICE_RT/tests.log" 2>&1 || { cat "$DEVICE_RT/tests.log"; exit 1; }'
  echo "pack: self-check, call 1: Node $(env_sh node -v), the runner's and the tests' imports, $(tail -1 "$sim/rt/tests.log" | sed 's/^tests: //') (dist/test/kernels/silu.test.js on this machine's adapter)"

  carry_into_sim $(echo "${CALLS[1]}" | cut -d'|' -f2)
  env_sh node --input-type=module -e '
    const sharp = (await import("sharp")).default;
    const m = await sharp("../shared/data/voc-sample/JPEGImages/voc12val_0001.png").metadata();
    process.env.DEEPLAB_WEIGHTS_DIR = `${process.cwd()}/../shared/weights`;
    const { loadWeights } = await import("./dist/src/model/loading/load-weights.js");
    const w = await loadWeights("mobilenetv2-pascal-513", { download: false });
    console.log(`pack: self-check, call 2: sharp reads the VOC image (${m.width}x${m.height}); ${w.name} loads`);'

  carry_into_sim $(echo "${CALLS[2]}" | cut -d'|' -f2)
  env_sh node --input-type=module -e '
    const ort = (await import("onnxruntime-node")).default;
    console.log(`pack: self-check, call 3: onnxruntime-node ${ort.env.versions.node}, backends ${ort.listSupportedBackends().map((b) => b.name).join(", ")}`);'
}

if [ $mode != plan ]; then
  for p in .device-carry .gl; do
    git check-ignore -q "$p/" || { echo "/$p/" >> "$(git rev-parse --git-path info/exclude)"; echo "pack: /$p/ added to .git/info/exclude"; }
  done
  stage=$(mktemp -d)
  trap 'rm -rf "$stage"' EXIT
  if [ $mode = build ]; then npm run build > "$stage/build.log" 2>&1 || { cat "$stage/build.log"; exit 1; }; fi
  mkdir -p .device-carry/rt
  pack_node
  pack_node_modules
  rm -f .device-carry/rt/dist.tar.xz
  (cd "$ROOT" && xz_tar --exclude='*.map' --exclude='*.tsbuildinfo' dist/bench dist/bench-tfjs dist/shaders dist/src dist/test dist/weights) > .device-carry/rt/dist.tar.xz
  echo "$(git rev-parse HEAD)$(git diff --quiet HEAD -- src bench test scripts || echo ' with uncommitted changes')" > .device-carry/rt/BUILD
  echo "pack: .device-carry/rt/dist.tar.xz: the build of $(cat .device-carry/rt/BUILD), no maps, no page bundles: $(mib "$(stat -c %s .device-carry/rt/dist.tar.xz)") MiB"
  pack_gl
  pack_shared
  pack_extra .device-carry/nm-img/img.tar.xz @img
  pack_extra .device-carry/nm-ort/ort-node.tar.xz onnxruntime-node onnxruntime-common
  self_check
  rm -rf .device-carry/nm-extra # the layout before nm-img and nm-ort
fi

# --- The plan -----------------------------------------------------------------------------------
# The checkout as it travels: tracked files and untracked ones git does not ignore.
tree=$(git ls-files -z --cached --others --exclude-standard | { xargs -0 -r stat -c %s -- 2>/dev/null || true; } | awk '{ s += $1 } END { print s + 0 }')
limit_bytes=$((LIMIT_MIB * 1048576))
failed=0
total=$STARTUP_S
declare -a timeouts
echo
echo "The GPU run: ${#CALLS[@]} device calls, back to back, on '$GPU_NAME' (gpu-run.sh's steps and limits)."
echo "The checkout travels with each: $(mib "$tree") MiB (tracked and untracked files git does not ignore)."
for i in "${!CALLS[@]}"; do
  IFS='|' read -r steps carry what <<< "${CALLS[$i]}"
  n=$((i + 1))
  dry=$(bash scripts/device/gpu-run.sh --dry-run --gpu-name "$GPU_NAME" --steps "$steps" --out '$OUT')
  limits=$(echo "$dry" | sed -n 's/^== \([a-z-]*\) (limit \([0-9]*\) s):.*/\1 \2 s/p')
  sum=$(echo "$dry" | sed -n 's/^== [a-z-]* (limit \([0-9]*\) s):.*/\1/p' | awk '{ s += $1 } END { print s }')
  timeout=$((sum + CALL_MARGIN_S))
  timeouts[$i]=$timeout
  total=$((total + timeout + PER_CALL_S))
  carried=0
  sizes=
  for p in $carry; do
    if [ ! -e "$carry_root/$p" ] || { [ -d "$carry_root/$p" ] && [ -z "$(ls -A "$carry_root/$p")" ]; }; then
      echo "pack: call $n carries $p, which is not there (in $carry_root): run bash scripts/device/pack.sh" >&2
      failed=1
      continue
    fi
    b=$(bytes_of "$carry_root/$p")
    carried=$((carried + b))
    sizes="$sizes + $p $(mib "$b")"
  done
  transfer=$((tree + carried))
  command="set -o pipefail; bash scripts/device/gpu-run.sh --steps $steps --out \$OUT 2>&1 | tee \$OUT/call$n.log"
  carry_json=$(printf '"%s",' $carry)
  echo
  echo "call $n: $what"
  echo "  steps: $(echo "$limits" | paste -sd, | sed 's/,/, /g'): $sum s; timeout_s $timeout ($CALL_MARGIN_S s for env.sh's unpacking and a step's kill grace)"
  echo "  transfer: $(mib "$transfer") MiB = the checkout $(mib "$tree")$sizes (at most $LIMIT_MIB MiB)"
  echo "  run: {\"command\": \"$command\", \"carry\": [${carry_json%,}], \"timeout_s\": $timeout}"
  if [ "$transfer" -gt "$limit_bytes" ]; then
    echo "pack: call $n would transfer $(mib "$transfer") MiB, over $LIMIT_MIB MiB" >&2
    failed=1
  fi
  if [ ${#command} -gt 2000 ] || [ "$(echo $carry | wc -w)" -gt 8 ] || [ "$timeout" -gt 600 ]; then
    echo "pack: call $n is outside the device tool's limits (a command of 2000 characters, 8 carried paths, 600 s)" >&2
    failed=1
  fi
done

most=$STARTUP_S
longest=0
for ((i = 0; i < MOST_WANTED_CALLS; i++)); do
  most=$((most + timeouts[i] + PER_CALL_S))
  [ "${timeouts[i]}" -le "$longest" ] || longest=${timeouts[i]}
done
echo
echo "Device time: start-up $STARTUP_S s + calls $(IFS=+; echo "${timeouts[*]}" | sed 's/+/ + /g') s + ${#CALLS[@]} x $PER_CALL_S s (each call's transfer, the next call sent at once) = $total s of $BUDGET_S s."
echo "A call's worth to spare: the most wanted figures are in calls 1-$MOST_WANTED_CALLS ($most s with the start-up); rerunning one of them (at most $((longest + PER_CALL_S)) s) leaves $((BUDGET_S - most - longest - 2 * PER_CALL_S)) s of call 3's steps, which each write their file as they end."
if [ "$total" -gt "$BUDGET_S" ] || [ $((most + longest + PER_CALL_S)) -gt "$BUDGET_S" ]; then
  echo "pack: the plan does not fit $BUDGET_S s of device time with a call's worth to spare" >&2
  failed=1
fi
echo
echo "Send each call the moment the last returns (the machine is given back 30 s after a call; calls 2 and 3 need what call 1 unpacked), then give_back."
echo "If the machine went back before call N (a reply's lease.warm false), a fresh one holds nothing the calls before N unpacked: send each earlier call's carry again, with {\"command\": \"source scripts/device/env.sh && node -v\", \"carry\": [...], \"timeout_s\": 60}, then call N."
echo "Here, the step files of every call in one folder: node dist/bench/summary.js --dir FOLDER --gpu h200 --gpu-name '$GPU_NAME' --commit $(cut -d' ' -f1 "$carry_root/.device-carry/rt/BUILD" 2>/dev/null || git rev-parse HEAD)"
exit $failed
