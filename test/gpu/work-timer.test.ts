import { expect } from 'chai';
import { type Clock, WorkTimer } from '../../src/gpu/work-timer.js';

/**
 * A clock of its own for the timer's arithmetic, so a busy host cannot stretch what it learns:
 * sleeping moves the time on; work submitted at `at` for `ms` is done at at + ms (waiting for it
 * moves the time there if it is not yet).
 */
class TestClock implements Clock {
  t = 0;
  now(): number {
    return this.t;
  }
  async sleep(ms: number): Promise<void> {
    this.t += ms;
  }
  submit(ms: number): { at: number; done: () => Promise<void> } {
    const at = this.t;
    return {
      at,
      done: async () => {
        this.t = Math.max(this.t, at + ms);
      },
    };
  }
}

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Work that finishes `ms` after it was submitted, on the host's clock, as the GPU would. */
function submitOnHost(ms: number): { at: number; done: () => Promise<void> } {
  const at = performance.now();
  const finished = delay(ms);
  return { at, done: () => finished };
}

describe('WorkTimer: sleeping through GPU work instead of polling', () => {
  it('does not learn from the first run (a first pass compiles shaders), then learns from the next', async () => {
    const clock = new TestClock();
    const timer = new WorkTimer(clock);
    expect(timer.expected).to.equal(0);
    const cold = clock.submit(200);
    await timer.wait(cold.at, cold.done);
    expect(timer.expected).to.equal(0);
    const warm = clock.submit(30);
    await timer.wait(warm.at, warm.done);
    expect(timer.expected).to.equal(30);
  });

  it('keeps the fastest recent run: one slow run does not lengthen the next sleeps', async () => {
    const clock = new TestClock();
    const timer = new WorkTimer(clock);
    for (const ms of [30, 30, 30]) {
      const w = clock.submit(ms);
      await timer.wait(w.at, w.done);
    }
    const before = timer.expected;
    expect(before).to.equal(30);
    const slow = clock.submit(150);
    await timer.wait(slow.at, slow.done);
    expect(timer.expected).to.equal(before);
  });

  it('comes down when the work gets faster (a sleep that overshot steps the estimate below it)', async () => {
    const clock = new TestClock();
    const timer = new WorkTimer(clock);
    for (const ms of [80, 80, 80]) {
      const w = clock.submit(ms);
      await timer.wait(w.at, w.done);
    }
    expect(timer.expected).to.equal(80);
    for (let i = 0; i < 6; i++) {
      const w = clock.submit(10);
      await timer.wait(w.at, w.done);
    }
    // Each sleep overshoots the 10 ms work, so each steps the estimate down (to 0.9 of what was slept).
    expect(timer.expected).to.be.within(10, 20);
  });

  it('forgets on reset(): the next run is not learned from', async () => {
    const clock = new TestClock();
    const timer = new WorkTimer(clock);
    for (const ms of [20, 20]) {
      const w = clock.submit(ms);
      await timer.wait(w.at, w.done);
    }
    expect(timer.expected).to.be.greaterThan(0);
    timer.reset();
    expect(timer.expected).to.equal(0);
    const w = clock.submit(20);
    await timer.wait(w.at, w.done);
    expect(timer.expected).to.equal(0);
  });

  it('never returns before the work is done, whatever it expected (on the host clock)', async () => {
    const timer = new WorkTimer();
    for (const ms of [30, 5, 60]) {
      const w = submitOnHost(ms);
      let finished = false;
      void w.done().then(() => (finished = true));
      await timer.wait(w.at, w.done);
      expect(finished).to.equal(true);
      expect(performance.now() - w.at).to.be.at.least(ms - 1);
    }
  });
});
