// `deeplab train` (runTraining) survives a lost GPU device: the trainer keeps the last step's
// state on the host, and whatever the loss broke (a step, a validation, a checkpoint's
// read-back) runs again on a new device, so the run ends with the log and the checkpoints of one
// never interrupted, bit for bit. A loss is made by destroying the device behind the run's back
// (as a driver reset would), between steps or at a chosen submission to its queue. deviceLoss 'fail'
// stops the run instead (test/train/faults.test.ts).
import { expect } from 'chai';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GpuContext } from '../../src/gpu/context.js';
import { readSafetensors } from '../../src/model/weights/import/safetensors.js';
import { type RunHooks, type RunOptions, runTraining } from '../../src/train/run.js';
import { expectRejects } from '../helpers.js';
import { readRunLog, smallCamvid } from './small-camvid.js';

describe('training: a run that loses its GPU device', function () {
  this.timeout(600_000);
  let dir: string;
  let data: string;
  // Validation and checkpoints after steps 2 and 4.
  const options = (out: string): RunOptions => ({ data, out, model: 'mobilenetv2-pascal-257', steps: 4, batch: 2, crop: 33, lr: 0.002, evalLimit: 1, evalEvery: 2, seed: 5 });
  let whole: string;
  /** GPU submissions of a step that neither validates nor writes a checkpoint (step 3). */
  let stepSubmits = 0;

  /** Counts the submissions to the context's device as it is now (`onSubmit` sees each before it goes). */
  function countSubmits(ctx: GpuContext, onSubmit: (n: number) => void): void {
    const queue = ctx.device.queue;
    const submit = queue.submit.bind(queue);
    let n = 0;
    queue.submit = (buffers) => {
      onSubmit(++n);
      submit(buffers);
    };
  }

  /** Destroys the device at a chosen submission to its queue: the function returned arms it `k` submissions ahead. */
  function loseAtSubmission(ctx: GpuContext): (k: number) => void {
    let loseAt = Infinity;
    let submits = 0;
    countSubmits(ctx, (n) => {
      submits = n;
      if (n === loseAt) ctx.device.destroy();
    });
    return (k) => void (loseAt = submits + k);
  }

  /** A run on a context of the test's, with the hooks `make` gives for it. */
  async function run(out: string, make: (ctx: GpuContext) => RunHooks, o: Partial<RunOptions> = {}): Promise<{ lost: { step: number | null; reason: string }[]; generation: number }> {
    const ctx = await GpuContext.create();
    const lost: { step: number | null; reason: string }[] = [];
    try {
      await runTraining({ ...options(out), ...o }, { ...make(ctx), ctx, onDeviceLost: (e) => lost.push(e) });
      return { lost, generation: ctx.generation };
    } finally {
      ctx.destroy();
    }
  }

  /** The run's folder holds what the uninterrupted run's does: its log (image rates aside), every checkpoint's tensors bit for bit, the same training state, the same confusion files. */
  function expectAsWhole(out: string): void {
    const steps = (folder: string) => readRunLog(folder).map(({ imagesPerSecond: _, ...rest }) => rest);
    expect(steps(out), 'log.jsonl').to.deep.equal(steps(whole));
    for (const f of ['latest.safetensors', 'best.safetensors']) {
      const [got, want] = [readSafetensors(join(out, f)), readSafetensors(join(whole, f))];
      expect([...got.tensors.keys()], f).to.deep.equal([...want.tensors.keys()]);
      for (const [name, t] of want.tensors) expect(Buffer.from(got.tensors.get(name)!.data.buffer).equals(Buffer.from(t.data.buffer)), `${f}: ${name}`).to.equal(true);
      // The options hold the output folder, which differs.
      const training = (m: Record<string, string>) => ({ ...JSON.parse(m.training), options: { ...JSON.parse(m.training).options, out: '' } });
      expect(training(got.metadata), `${f}: training state`).to.deep.equal(training(want.metadata));
    }
    for (const f of ['confusion.json', 'confusion-best.json']) expect(readFileSync(join(out, f), 'utf8'), f).to.equal(readFileSync(join(whole, f), 'utf8'));
  }

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'deeplab-run-loss-'));
    data = smallCamvid(dir, 3);
    whole = join(dir, 'whole');
    let from = 0;
    await run(whole, (ctx) => {
      let submits = 0;
      countSubmits(ctx, (n) => void (submits = n));
      return {
        onStep: (r) => {
          if (r.step === 2) from = submits;
          if (r.step === 3) stepSubmits = submits - from;
        },
      };
    });
    expect(stepSubmits, 'submissions in a step').to.be.greaterThan(0);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('lost during step 2 and between steps 3 and 4: both steps replayed, the run ends as one never interrupted', async () => {
    const out = join(dir, 'steps');
    const got = await run(out, (ctx) => {
      const loseIn = loseAtSubmission(ctx);
      return {
        onStep: (r) => {
          // Step 2's second submission: its work so far is gone with the device.
          if (r.step === 1) loseIn(2);
          if (r.step === 3) ctx.device.destroy();
        },
      };
    });
    expect(got.lost.map((e) => e.step), 'the steps told').to.deep.equal([2, 4]);
    expect(got.lost[0].reason).to.match(/destroyed/);
    expect(got.generation, 'devices renewed').to.equal(2);
    expectAsWhole(out);
  });

  it("lost during step 2's validation and during step 4's checkpoint read-back: both run again, the checkpoints as an uninterrupted run's", async () => {
    const out = join(dir, 'validation');
    const got = await run(out, (ctx) => {
      const loseIn = loseAtSubmission(ctx);
      return {
        // After step 1, step 2's training takes stepSubmits submissions; its validation comes next.
        onStep: (r) => {
          if (r.step === 1) loseIn(stepSubmits + 1);
        },
        // Said after step 4's validation, just before its checkpoints are read back.
        say: (m) => {
          if (m.startsWith('step 4: validation')) ctx.device.destroy();
        },
      };
    });
    expect(got.lost.map((e) => e.step), 'the steps told').to.deep.equal([2, 4]);
    expect(got.generation, 'devices renewed').to.equal(2);
    expectAsWhole(out);
  });

  it('refuses an unknown deviceLoss by name', async () => {
    await expectRejects(runTraining({ ...options(join(dir, 'bad')), deviceLoss: 'retry' as 'fail' }), /runTraining: deviceLoss must be 'recover' or 'fail', got "retry"/);
  });
});
