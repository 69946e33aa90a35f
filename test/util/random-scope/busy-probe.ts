// A test file run (in a child mocha, by test/util/random-scope.test.ts) before the failing probe in
// the same process: it draws streams as it loads and as its test runs, as another file of the
// suite would.
import { rng } from '../../helpers.js';

for (let i = 0; i < 7; i++) rng()();

describe('a busy probe', () => {
  it('draws many streams', () => {
    for (let i = 0; i < 50; i++) rng()();
  });
});
