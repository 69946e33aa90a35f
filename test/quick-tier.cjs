// Mocha's options for `npm run test:quick`'s second half: the files of test/tiers.cjs whose
// measured cost (test/file-costs.json, a cold run of `npm test` on the reference host) is at most
// QUICK_FILE_SECONDS, with `--grep @slow --invert` from the command line. The everyday loop: every
// unit, reader, graph, data, I/O and small model file in a few minutes; the files over the limit
// (whole networks at several sizes, browsers, Deno, the package builds, soak runs) run in
// `npm test`, which runs every file. A file the table does not know yet counts as one of median
// cost, so a new file is in the quick tier until a measured run says it is long.
const tiers = require('./tiers.cjs');
const { fileCost } = require('./test-files.cjs');

const QUICK_FILE_SECONDS = 20;

module.exports = {
  ...tiers,
  spec: tiers.spec.filter((f) => fileCost(f) <= QUICK_FILE_SECONDS),
};
