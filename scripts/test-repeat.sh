#!/usr/bin/env bash
# A stress run of the suite: whole runs one after another, each with a fresh seed, then the quick
# tier again and again beside a CPU hog on every core. A test that fails only now and then, or
# only on a busy host, shows here. Each failure is printed with the command that replays it
# (test/setup.ts prints one per failed test: its seed, file and title), and at the end the tests
# and hooks that came closest to their mocha timeouts (the one limit on a test's wall time).
#
#   scripts/test-repeat.sh N [--hog M] [--cold] [--out DIR]
#
#   N        whole runs of the suite (npm run test:suite), each with a fresh TEST_SEED
#   --hog M  then M runs of the quick tier beside a busy loop on each core (default 5; 0: none)
#   --cold   empty Mesa's shader caches before each run, as on a fresh machine (CI)
#   --out    where the logs and timings go (default: a new folder under /tmp)
#
# Exits non-zero when any run failed. Builds once first (npm run build).
set -uo pipefail
cd "$(dirname "$0")/.."

usage() {
  echo "usage: scripts/test-repeat.sh N [--hog M] [--cold] [--out DIR]" >&2
  exit 2
}
[ $# -ge 1 ] || usage
RUNS=$1
shift
HOG_RUNS=5
COLD=0
OUT=""
while [ $# -gt 0 ]; do
  case "$1" in
    --hog) HOG_RUNS=${2:?--hog needs a count}; shift 2 ;;
    --cold) COLD=1; shift ;;
    --out) OUT=${2:?--out needs a folder}; shift 2 ;;
    *) usage ;;
  esac
done
[[ "$RUNS" =~ ^[0-9]+$ && "$HOG_RUNS" =~ ^[0-9]+$ ]] || usage
OUT=${OUT:-$(mktemp -d /tmp/test-repeat-XXXXXX)}
mkdir -p "$OUT"
CORES=$(nproc)
echo "test-repeat: $RUNS whole runs, then $HOG_RUNS quick runs beside $CORES busy cores; logs in $OUT"
echo "host: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $CORES cores"

npm run --silent build || exit 1

HOGS=()
stop_hogs() {
  for pid in "${HOGS[@]}"; do kill "$pid" 2>/dev/null; done
  HOGS=()
}
trap stop_hogs EXIT

cold_caches() {
  [ "$COLD" = 1 ] && rm -rf ~/.cache/mesa_shader_cache* ~/.cache/deeplab-webgpu/mesa-kernel-tier
}

PASSED=0
FAILED=0
# One run: its label and the command; its log and timings under $OUT; prints its failures.
run() {
  local label=$1
  shift
  local log="$OUT/$label.log"
  cold_caches
  local start=$SECONDS
  # No TEST_SEED: each run draws a fresh one and prints it.
  env -u TEST_SEED TEST_TIMINGS="$OUT/$label.timings.jsonl" "$@" >"$log" 2>&1
  local rc=$?
  # Each mocha invocation (tier) draws a seed of its own.
  local seed
  seed=$(grep -o '^test seed: [0-9]*' "$log" | cut -d' ' -f3 | sort -u | paste -sd, -)
  if [ $rc -eq 0 ]; then
    PASSED=$((PASSED + 1))
    echo "$label: passed in $((SECONDS - start)) s (seeds $seed)"
  else
    FAILED=$((FAILED + 1))
    echo "$label: FAILED (exit $rc) after $((SECONDS - start)) s (seeds $seed); log $log"
    # Mocha's failure reports (from "N failing" on), then each failed test's replay command.
    sed -n '/^  [0-9]* failing/,$p' "$log" | grep -v '^\s*at ' | head -60 | sed 's/^/    /'
    grep -E '^\s*replay: ' "$log" | sed 's/^ */    /'
  fi
}

for i in $(seq 1 "$RUNS"); do
  run "whole-$i" npm run --silent test:suite
done

if [ "$HOG_RUNS" -gt 0 ]; then
  for _ in $(seq 1 "$CORES"); do
    node -e 'for (;;);' &
    HOGS+=($!)
  done
  for i in $(seq 1 "$HOG_RUNS"); do
    run "quick-beside-hog-$i" bash -c 'npx mocha --config test/kernel-tier.cjs --grep @slow --invert && npx mocha --config test/quick-tier.cjs --grep @slow --invert'
  done
  stop_hogs
fi

# The runnables closest to their timeouts over every run: time / timeout, the worst first.
node -e '
const { readdirSync, readFileSync } = require("node:fs");
const out = process.argv[1];
const seen = new Map();
for (const f of readdirSync(out).filter((f) => f.endsWith(".timings.jsonl"))) {
  for (const line of readFileSync(`${out}/${f}`, "utf8").split("\n").filter(Boolean)) {
    const t = JSON.parse(line).tightest;
    if (!t) continue;
    const was = seen.get(t.title);
    if (!was || t.ms / t.timeoutMs > was.ms / was.timeoutMs) seen.set(t.title, { ...t, run: f.replace(".timings.jsonl", "") });
  }
}
const worst = [...seen.values()].sort((a, b) => b.ms / b.timeoutMs - a.ms / a.timeoutMs).slice(0, 8);
console.log("closest to their mocha timeouts (time / timeout, worst of all runs):");
for (const t of worst) console.log(`  ${(t.ms / t.timeoutMs).toFixed(2)}  ${(t.ms / 1000).toFixed(1)} s of ${(t.timeoutMs / 1000).toFixed(0)} s  ${t.title}  (${t.run})`);
' "$OUT"

echo "test-repeat: $PASSED passed, $FAILED failed; logs in $OUT"
[ "$FAILED" -eq 0 ]
