// A sample worker thread that dies during a training run (test/data/dying-sample-worker.ts kills
// it on purpose): once, the run goes on with the worker replaced and its losses are those of a run
// never faulted; on every try, the run stops within 10 s of the death with an error naming the
// step, the image and the cause, latest.safetensors is as its last checkpoint left it, and
// --resume repeats the losses of a run never stopped.
import { expect } from 'chai';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type RunOptions, runTraining } from '../../src/train/run.js';
import { FAULT_VARIABLE, type SampleFault } from '../data/dying-sample-worker.js';
import { expectRejects } from '../helpers.js';
import { readRunLog, smallCamvid } from './small-camvid.js';

const DYING_WORKER = new URL('../data/dying-sample-worker.js', import.meta.url);

describe('training: a sample worker that dies @slow', function () {
  this.timeout(600_000);
  let dir: string;
  let data: string;
  // Two samples a step, validation and checkpoints after steps 2 and 4, two worker threads.
  const options = (out: string): RunOptions => ({ data, out, model: 'mobilenetv2-pascal-257', steps: 4, batch: 2, crop: 33, lr: 0.002, evalLimit: 1, evalEvery: 2, seed: 5, workers: 2 });
  let whole: number[];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'deeplab-sample-faults-'));
    data = smallCamvid(dir, 3);
    const out = join(dir, 'whole');
    await runTraining(options(out));
    whole = readRunLog(out).map((r) => r.loss);
  });
  afterEach(() => delete process.env[FAULT_VARIABLE]);
  after(() => rmSync(dir, { recursive: true, force: true }));

  const deaths = (log: string): { ms: number; image: string }[] =>
    readFileSync(log, 'utf8').trim().split('\n').map((l) => ({ ms: Number(l.split(' ')[0]), image: l.slice(l.indexOf(' ') + 1) }));

  it('a worker that exits once: the sample is made again on a new worker and the run ends as one never faulted', async () => {
    const out = join(dir, 'once');
    const log = join(dir, 'once-deaths');
    process.env[FAULT_VARIABLE] = JSON.stringify({ from: 3, how: 'exit', once: join(dir, 'once-died'), log } satisfies SampleFault);
    await runTraining(options(out), { sampleWorker: DYING_WORKER });
    expect(deaths(log), 'deaths').to.have.length(1);
    expect(readRunLog(out).map((r) => r.loss)).to.deep.equal(whole);
  });

  it('a worker that throws outside the sample on every try: the run stops at that step naming the step, the image and the cause; latest.safetensors is kept and --resume repeats the losses', async () => {
    const out = join(dir, 'always');
    const log = join(dir, 'always-deaths');
    // Samples 4 and 5 are step 3's: made while step 2 trains, validates and saves its checkpoint.
    process.env[FAULT_VARIABLE] = JSON.stringify({ from: 4, how: 'throw', log } satisfies SampleFault);
    let atStep2: Buffer | undefined;
    const latest = join(out, 'latest.safetensors');
    const error = await expectRejects(
      () => runTraining(options(out), { sampleWorker: DYING_WORKER, onStep: (r) => r.step === 2 && (atStep2 = readFileSync(latest)) }),
      /^step 3: sample pool: a worker died twice making the sample of \S+ \(the decoder crashed outside the sample; then the decoder crashed outside the sample\); \S+latest\.safetensors holds step 2: --resume continues from there$/,
      'a run whose sample worker died',
    );
    const stopped = Date.now();
    const died = deaths(log);
    // Two workers die side by side (samples 4 and 5), so either may log first; the error names
    // the image whose sample died twice.
    const named = died.filter((d) => error.message.includes(d.image));
    expect(named.length, `deaths of the image the error names: ${error.message}`).to.be.at.least(2);
    const seconds = (stopped - died[0].ms) / 1000;
    console.log(`      (the run stopped ${seconds.toFixed(1)} s after the first death; ${died.length} deaths)`);
    expect(atStep2, 'the checkpoint of step 2').to.not.equal(undefined);
    expect(readFileSync(latest).equals(atStep2!), 'latest.safetensors as step 2 left it').to.equal(true);
    expect(readRunLog(out).map((r) => r.step)).to.deep.equal([1, 2]);

    delete process.env[FAULT_VARIABLE];
    await runTraining({ ...options(out), resume: true });
    expect(readRunLog(out).map((r) => r.loss)).to.deep.equal(whole);
  });
});
