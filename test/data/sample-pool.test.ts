// The sample pool when a worker thread dies (test/data/dying-sample-worker.ts kills it on purpose):
// the sample it was making is made again on a new worker, or, when that worker dies too, the
// sample fails within seconds with an error naming the image and the cause; the pool goes on with
// the other samples, and closes with every thread ended.
import { expect } from 'chai';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDataset } from '../../src/data/dataset.js';
import { type SampleSpec, makeSample } from '../../src/data/sample.js';
import { SamplePool, SampleWorkerError } from '../../src/data/sample-pool.js';
import { expectRejects } from '../helpers.js';
import { sharedPath } from '../shared.js';
import { FAULT_VARIABLE, type SampleFault } from './dying-sample-worker.js';

const DYING_WORKER = new URL('./dying-sample-worker.js', import.meta.url);

describe('data: a sample worker that dies', function () {
  this.timeout(60_000);
  let dir: string;
  let spec: (n: number) => SampleSpec;

  before(() => {
    const data = openDataset(sharedPath('data', 'camvid'), 'train');
    spec = (n) => ({
      imagePath: data.items[n].imagePath,
      labelPath: data.items[n].labelPath,
      labels: data.labels,
      ignoreIndex: data.ignoreIndex,
      normalization: 'imagenet',
      crop: 33,
      seed: 5,
      n,
    });
  });
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'deeplab-pool-'))));
  afterEach(() => {
    delete process.env[FAULT_VARIABLE];
    rmSync(dir, { recursive: true, force: true });
  });

  /** A pool of two dying workers; the fault is in the environment before the threads start. */
  const dyingPool = (fault: SampleFault): SamplePool => {
    process.env[FAULT_VARIABLE] = JSON.stringify(fault);
    return new SamplePool(2, DYING_WORKER);
  };

  for (const how of ['exit', 'throw'] as const) {
    const what = how === 'exit' ? 'exits' : 'throws outside the sample';
    it(`a worker that ${what} once: the sample is made again on a new worker, the same as on the main thread`, async () => {
      const pool = dyingPool({ from: 1, how, once: join(dir, 'died') });
      try {
        const [a, b] = await Promise.all([pool.make(spec(0)), pool.make(spec(1))]);
        const ref = await makeSample(spec(1));
        expect(Buffer.from(b.image.buffer).equals(Buffer.from(ref.image.buffer)), 'image').to.equal(true);
        expect(Buffer.from(b.label).equals(Buffer.from(ref.label)), 'label').to.equal(true);
        expect(a.image.length).to.equal(33 * 33 * 3);
        expect(pool.workerDeaths).to.equal(1);
        expect(pool.running, 'the dead worker replaced').to.equal(2);
      } finally {
        await pool.close();
      }
      expect(pool.running, 'threads left running').to.equal(0);
    });

    it(`a worker that ${what} on every try: the sample fails at its second death, naming the image and the cause; the pool goes on`, async () => {
      const log = join(dir, 'deaths');
      const pool = dyingPool({ from: 2, how, log });
      try {
        const error = await expectRejects(() => pool.make(spec(2)), /a worker died twice making the sample of /, 'a sample whose worker died');
        expect(error).to.be.instanceOf(SampleWorkerError);
        expect(error.message).to.include(spec(2).imagePath);
        expect(error.message).to.match(how === 'exit' ? /worker exited with code: 3; then worker exited with code: 3/ : /the decoder crashed outside the sample; then the decoder crashed outside the sample/);
        expect(readFileSync(log, 'utf8').trim().split('\n'), 'deaths').to.have.length(2);
        // The other samples are still made, on the workers that replaced the dead ones.
        const other = await pool.make(spec(1));
        expect(other.label.length).to.equal(33 * 33);
        expect(pool.running).to.equal(2);
      } finally {
        await pool.close();
      }
      expect(pool.running, 'threads left running').to.equal(0);
    });
  }

  it('a sample that fails (a damaged file) is an error of its own, not a dead worker: not retried', async () => {
    const pool = dyingPool({ from: 99, how: 'exit' });
    try {
      await expectRejects(() => pool.make({ ...spec(0), labelPath: join(dir, 'missing.png') }), /missing\.png/);
      expect(pool.workerDeaths).to.equal(0);
    } finally {
      await pool.close();
    }
  });
});
