// Mocha's options for `npm run test:extended` (package.json): the cases tagged `@extended`, which
// `npm test` leaves out (test/tiers.cjs). They are the soak runs (a thousand segment() calls,
// 500 training steps, a thousand camera frames, each with the heap and GPU buffers held flat) and
// the benchmark page's peers (ONNX Runtime Web, TF.js, LiteRT.js, MediaPipe, transformers.js
// beside ours in Chromium): most changes cannot move what they check, and each takes a minute or
// more on a 2-core host. docs/testing.md says when to run them. Two files at a time, the longest
// first, as the other tiers.
const { extendedTierFiles, longestFirst, EXTENDED_TAG } = require('./test-files.cjs');
require('./worker-env.cjs');

module.exports = {
  ...require('../.mocharc.json'),
  parallel: true,
  jobs: 2,
  spec: longestFirst(extendedTierFiles()),
  grep: EXTENDED_TAG,
};
