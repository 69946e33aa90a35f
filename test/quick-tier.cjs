// Mocha's options for `npm run test:quick`'s second half: the files of test/tiers.cjs whose quick
// part (`--grep @slow --invert`, from the command line) took at most QUICK_FILE_SECONDS in a
// measured run (test/file-costs.json's quickSeconds; a file without one counts its whole cost).
// The everyday loop: every unit, reader, graph, data, I/O and small model file in a few minutes;
// the files over the limit (whole networks at several sizes, browsers, Deno, the package builds,
// soak runs) run in `npm test`, which runs every file. A file the table does not know yet counts
// as one of median cost, so a new file is in the quick tier until a measured run says it is long.
const tiers = require('./tiers.cjs');
const { quickCost } = require('./test-files.cjs');

const QUICK_FILE_SECONDS = 12;

module.exports = {
  ...tiers,
  spec: tiers.spec.filter((f) => quickCost(f) <= QUICK_FILE_SECONDS),
};
