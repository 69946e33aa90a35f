import { expect } from 'chai';
import { checkSchedule, learningRate } from '../../src/train/schedule.js';
import { expectThrows } from '../helpers.js';

describe('training: learning-rate schedule', () => {
  it("follows the paper's poly policy", () => {
    const o = { baseLr: 0.007, steps: 30000 };
    expect(learningRate(o, 0)).to.equal(0.007);
    expect(learningRate(o, 15000)).to.be.closeTo(0.007 * Math.pow(0.5, 0.9), 1e-15);
    expect(learningRate(o, 29999)).to.be.closeTo(0.007 * Math.pow(1 / 30000, 0.9), 1e-15);
  });

  it('warms up linearly, then joins the poly curve', () => {
    const o = { baseLr: 0.01, steps: 100, warmup: 4 };
    const lrs = [0, 1, 2, 3, 4, 5].map((s) => learningRate(o, s));
    for (let s = 0; s < 4; s++) expect(lrs[s]).to.be.closeTo((0.01 * Math.pow(1 - s / 100, 0.9) * (s + 1)) / 5, 1e-15);
    expect(lrs[4]).to.equal(0.01 * Math.pow(1 - 4 / 100, 0.9));
    for (let s = 1; s < 5; s++) expect(lrs[s]).to.be.greaterThan(lrs[s - 1]);
  });

  it('rejects a bad learning rate, step count or warm-up', () => {
    expectThrows(() => checkSchedule({ baseLr: 0, steps: 10 }), /learning rate must be a positive number, got 0/);
    expectThrows(() => checkSchedule({ baseLr: 0.01, steps: 0 }), /steps must be a positive integer, got 0/);
    expectThrows(() => checkSchedule({ baseLr: 0.01, steps: 10, warmup: 10 }), /warm-up must be an integer in \[0, steps\), got 10/);
  });
});
