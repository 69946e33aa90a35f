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
  it('learns the duration of recurring work, and comes down quickly after one slow run', async () => {
    const timer = new WorkTimer();
    expect(timer.expected).to.equal(0);
    const slow = submit(200);
    await timer.wait(slow.at, slow.done);
    expect(timer.expected).to.be.at.least(195);
    // Now the work takes 20 ms: each over-long sleep halves the estimate, then it follows the work.
    for (let i = 0; i < 5; i++) {
      const w = submit(20);
      await timer.wait(w.at, w.done);
    }
    expect(timer.expected).to.be.within(9, 100);
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
