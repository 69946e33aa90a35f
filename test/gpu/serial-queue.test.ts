import { expect } from 'chai';
import { SerialQueue, contextQueue } from '../../src/gpu/serial-queue.js';

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

describe('SerialQueue: async tasks one at a time', () => {
  it('runs tasks in the order queued, never two at once, each settling as its own task does', async () => {
    const q = new SerialQueue();
    const log: string[] = [];
    let running = 0;
    const task = (name: string, ms: number, fail = false) => async () => {
      expect(++running, `tasks running while ${name} starts`).to.equal(1);
      log.push(`${name}+`);
      await delay(ms);
      log.push(`${name}-`);
      running--;
      if (fail) throw new Error(`${name} failed`);
      return name;
    };
    expect(q.idle).to.equal(true);
    const results = await Promise.allSettled([q.run(task('a', 20)), q.run(task('b', 1, true)), q.run(task('c', 5))]);
    expect(log).to.deep.equal(['a+', 'a-', 'b+', 'b-', 'c+', 'c-']);
    expect(results.map((r) => (r.status === 'fulfilled' ? r.value : (r.reason as Error).message))).to.deep.equal(['a', 'b failed', 'c']);
    expect(q.idle).to.equal(true);
  });

  it('one queue per context object', () => {
    const a = {};
    expect(contextQueue(a)).to.equal(contextQueue(a));
    expect(contextQueue(a)).to.not.equal(contextQueue({}));
  });
});
