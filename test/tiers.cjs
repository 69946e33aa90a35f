// Mocha's options for `npm test` and `npm run test:quick` (package.json): those of .mocharc.json,
// every test file but the kernel tier's (test/kernel-tier.cjs runs those first), every case but
// the extended tier's (test/extended-tier.cjs: `@extended` in a title), two files at a
// time (mocha's default is one job fewer than the cores: one on two cores; files share nothing
// but the shared folder and temporary folders of their own), the longest first
// (test/test-files.cjs).
const { otherTierFiles, longestFirst, EXTENDED_TAG } = require('./test-files.cjs');
require('./worker-env.cjs');

module.exports = {
  ...require('../.mocharc.json'),
  parallel: true,
  jobs: 2,
  spec: longestFirst(otherTierFiles()),
  grep: EXTENDED_TAG,
  invert: true,
};
