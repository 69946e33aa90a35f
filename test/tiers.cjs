// Mocha's options for `npm test` and `npm run test:quick` (package.json): those of .mocharc.json,
// two test files at a time (mocha's default is one job fewer than the cores: one on two cores;
// files share nothing but the shared folder and temporary folders of their own), and the
// longest file first, so that it does not run alone at the end while the other worker idles.
const { readdirSync } = require('node:fs');
const { join, relative } = require('node:path');

const ROOT = join(__dirname, '..');
const LONGEST = 'dist/test/train/r50-frozen-parity.test.js';

/** The built test files under `dir`, relative to the project root. */
function testFiles(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return testFiles(path);
    return e.name.endsWith('.test.js') ? [relative(ROOT, path)] : [];
  });
}

const files = testFiles(join(ROOT, 'dist', 'test')).sort();
module.exports = {
  ...require('../.mocharc.json'),
  parallel: true,
  jobs: 2,
  spec: [...files.filter((f) => f === LONGEST), ...files.filter((f) => f !== LONGEST)],
};
