// Mocha's options for `npm run test:extended` (package.json): the cases tagged `@extended`, which
// `npm test` leaves out (test/tiers.cjs): the soaks (a thousand segment() calls, 500 training steps,
// a thousand camera frames), the peers (the benchmark page's, MediaPipe Tasks on our TF Lite
// files, Deno's tuning), the installs (the package into Node and Vite apps, the container build),
// one browser's repeat of a page flow the other runs in `npm test` (test/browser/browsers.ts,
// `repeatTag`), and deeper variants of checks `npm test` keeps (larger networks, longer sweeps). Most changes cannot move what
// they check, and each takes half a minute or more on a 2-core host. docs/testing.md lists them and
// says when to run them. Two files at a time, the longest first, as the other tiers.
const { extendedTierFiles, longestFirst, EXTENDED_TAG } = require('./test-files.cjs');
require('./worker-env.cjs');

module.exports = {
  ...require('../.mocharc.json'),
  parallel: true,
  jobs: 2,
  spec: longestFirst(extendedTierFiles()),
  grep: EXTENDED_TAG,
};
