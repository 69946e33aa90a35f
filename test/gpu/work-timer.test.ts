import { expect } from 'chai';
import { WorkTimer } from '../../src/gpu/work-timer.js';

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Work that finishes `ms` after it was submitted, as the GPU would. */
function submit(ms: number): { at: number; done: () => Promise<void> } {
  const at = performance.now();
  const finished = delay(ms);
  return { at, done: () => finished };
}

describe('WorkTimer: sleeping through GPU work instead of polling', () => {
  it('does not learn from the first run (a first pass compiles shaders), then learns from the next', async () => {
    const timer = new WorkTimer();
    expect(timer.expected).to.equal(0);
    const cold = submit(200);
    await timer.wait(cold.at, cold.done);
    expect(timer.expected).to.equal(0);
    const warm = submit(30);
    await timer.wait(warm.at, warm.done);
    expect(timer.expected).to.be.within(29, 60);
  });

  it('keeps the fastest recent run: one slow run does not lengthen the next sleeps', async () => {
    const timer = new WorkTimer();
    for (const ms of [30, 30, 30]) {
      const w = submit(ms);
      await timer.wait(w.at, w.done);
    }
    const before = timer.expected;
    expect(before).to.be.within(20, 60);
    const slow = submit(150);
    await timer.wait(slow.at, slow.done);
    expect(timer.expected).to.be.at.most(before);
  });

  it('comes down when the work gets faster (a sleep that overshot steps the estimate below it)', async () => {
    const timer = new WorkTimer();
    for (const ms of [80, 80, 80]) {
      const w = submit(ms);
      await timer.wait(w.at, w.done);
    }
    expect(timer.expected).to.be.at.least(75);
    for (let i = 0; i < 6; i++) {
      const w = submit(10);
      await timer.wait(w.at, w.done);
    }
    expect(timer.expected).to.be.within(5, 40);
  });

  it('forgets on reset(): the next run is not learned from', async () => {
    const timer = new WorkTimer();
    for (const ms of [20, 20]) {
      const w = submit(ms);
      await timer.wait(w.at, w.done);
    }
    expect(timer.expected).to.be.greaterThan(0);
    timer.reset();
    expect(timer.expected).to.equal(0);
    const w = submit(20);
    await timer.wait(w.at, w.done);
    expect(timer.expected).to.equal(0);
  });

  it('never returns before the work is done, whatever it expected', async () => {
    const timer = new WorkTimer();
    for (const ms of [30, 5, 60]) {
      const w = submit(ms);
      let finished = false;
      void w.done().then(() => (finished = true));
      await timer.wait(w.at, w.done);
      expect(finished).to.equal(true);
      expect(performance.now() - w.at).to.be.at.least(ms - 1);
    }
  });
});
