// The built test files of the suite's tiers (test/tiers.cjs, test/kernel-tier.cjs), each list
// ordered longest first by the per-file costs of a measured run (test/file-costs.json, written by
// `node scripts/test-timings.mjs TIMINGS.jsonl --costs`): with two files at a time, a long file
// started last would run alone at the end while the other worker idles. A file the table does
// not know yet counts as one of median cost.
const { existsSync, readdirSync, readFileSync } = require('node:fs');
const { join, relative } = require('node:path');

const ROOT = join(__dirname, '..');
const COSTS_FILE = join(__dirname, 'file-costs.json');

/** The built test files under `dir` (relative to the project root). */
function testFiles(dir) {
  const abs = join(ROOT, dir);
  if (!existsSync(abs)) return [];
  return readdirSync(abs, { withFileTypes: true }).flatMap((e) => {
    const path = join(abs, e.name);
    if (e.isDirectory()) return testFiles(relative(ROOT, path));
    return e.name.endsWith('.test.js') ? [relative(ROOT, path)] : [];
  });
}

const table = existsSync(COSTS_FILE) ? JSON.parse(readFileSync(COSTS_FILE, 'utf8')) : {};
const costs = table.seconds ?? {};
const quickCosts = table.quickSeconds ?? {};
const known = Object.values(costs).sort((a, b) => a - b);
const median = known.length ? known[Math.floor(known.length / 2)] : 0;

const sourceOf = (file) => file.replace(/^dist\//, '').replace(/\.js$/, '.ts');

/** A built test file's measured wall seconds (the median where the table does not know it). */
function fileCost(file) {
  return costs[sourceOf(file)] ?? median;
}

/** The seconds of a built test file's quick part (--grep @slow --invert), or its whole cost where not measured. */
function quickCost(file) {
  return quickCosts[sourceOf(file)] ?? fileCost(file);
}

/** `files` sorted by descending measured cost, then by name. */
function longestFirst(files) {
  return [...files].sort((a, b) => fileCost(b) - fileCost(a) || a.localeCompare(b));
}

/**
 * Files outside test/kernels whose time is compiling shaders too, so they run in the kernel tier
 * (test/kernel-tier.cjs, llvmpipe's optimiser off): the tuner's tests compile every candidate of
 * tiny layers once and run each for a few milliseconds. Measured alone on a cold Mesa cache,
 * `test/gpu/tuning.test.ts` took 126 s with the optimiser and 64 s without, and
 * `test/model/load-deadline.test.ts` (one layer shape tuned with every candidate) 16.3 s and
 * 11.3 s. Twenty training and model files with many pipelines (train/run, the device-loss and
 * fault files, the MobileViT gradients, onnx-import and others) took more CPU time without the
 * optimiser (529 s against 399 s together): they stay.
 */
const COMPILE_BOUND = ['dist/test/gpu/tuning.test.js', 'dist/test/model/load-deadline.test.js'];

/** The kernel tier's files: test/kernels and the compile-bound files above. */
function kernelTierFiles() {
  return [...testFiles('dist/test/kernels'), ...COMPILE_BOUND.filter((f) => existsSync(join(ROOT, f)))];
}

/** The other tiers' files: every test file not in the kernel tier. */
function otherTierFiles() {
  const kernel = new Set(kernelTierFiles());
  return testFiles('dist/test').filter((f) => !kernel.has(f));
}

/** The tag of the extended tier's cases (test/extended-tier.cjs): soaks, peers, installs, repeats. */
const EXTENDED_TAG = '@extended';

/**
 * The other tiers' files that hold a case of the extended tier: the tag in their built text, or a
 * page flow run in both browsers whose one run carries it (`repeatTag`, test/browser/browsers.ts).
 */
function extendedTierFiles() {
  return otherTierFiles().filter((f) => {
    const text = readFileSync(join(ROOT, f), 'utf8');
    return text.includes(EXTENDED_TAG) || text.includes('repeatTag(');
  });
}

module.exports = { testFiles, longestFirst, fileCost, quickCost, kernelTierFiles, otherTierFiles, extendedTierFiles, EXTENDED_TAG };
