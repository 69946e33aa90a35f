// A test file that draws as it loads, in a hook and in a test, then fails on purpose: run in a
// child mocha by test/util/random-scope.test.ts, which replays it with the command it prints.
import { expect } from 'chai';
import { rng } from '../../helpers.js';

const atLoad = rng()();

describe('a failing probe', () => {
  let inHook = 0;
  before(() => {
    inHook = rng()();
  });

  it("draws, then fails (it's meant to)", () => {
    console.log(`drawn: ${[atLoad, inHook, rng()(), rng()()].join(' ')}`);
    expect.fail('fails on purpose');
  });
});
