// A training run cancelled, or killed between its writes (src/train/run.ts): an aborted signal
// rejects with an AbortError before the run writes anything, or between steps with its
// checkpoints whole and resumable; a run killed after a step's log line and before its
// checkpoints resumes to a log with every step once (the line is written first: once it came
// after latest.safetensors, and a kill between them lost the step's line for good); option names
// neither of runTraining's arguments knows are refused.
import { expect } from 'chai';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadWeights } from '../../src/model/loading/load-weights.js';
import { readSafetensors } from '../../src/model/weights/import/safetensors.js';
import { type RunOptions, type StepRecord, runTraining } from '../../src/train/run.js';
import { expectAbortError, expectRejects } from '../helpers.js';
import { readRunLog, smallCamvid } from './small-camvid.js';

/** The step latest.safetensors in `out` holds, its tensors read whole. */
function latestStep(out: string): number {
  return JSON.parse(readSafetensors(join(out, 'latest.safetensors')).metadata.training).step as number;
}

const tempFiles = (dir: string): string[] => readdirSync(dir).filter((f) => f.endsWith('.tmp'));

describe('training: a run cancelled, or killed between its writes', function () {
  this.timeout(600_000);
  let dir: string;
  let data: string;
  // Validation and checkpoints after steps 2 and 4.
  const options = (out: string): RunOptions => ({ data, out, model: 'mobilenetv2-pascal-257', steps: 4, batch: 2, crop: 33, lr: 0.002, evalLimit: 1, evalEvery: 2, seed: 5, workers: 0 });
  let whole: StepRecord[];
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'deeplab-run-abort-'));
    data = smallCamvid(dir, 3);
    const out = join(dir, 'whole');
    await runTraining(options(out));
    whole = readRunLog(out);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  /** The resumed run's log: every step once, with the losses and validation scores of the run never stopped. */
  async function expectResumesWhole(out: string): Promise<void> {
    await runTraining({ ...options(out), resume: true });
    const log = readRunLog(out);
    expect(log.map((r) => r.step), 'the steps of the resumed log').to.deep.equal([1, 2, 3, 4]);
    expect(log.map((r) => r.loss)).to.deep.equal(whole.map((r) => r.loss));
    expect(log.map((r) => r.valMIoU)).to.deep.equal(whole.map((r) => r.valMIoU));
    expect(latestStep(out)).to.equal(4);
    expect(tempFiles(out)).to.deep.equal([]);
  }

  it('an already aborted signal rejects with an AbortError before anything is read or written (no output folder)', async () => {
    const out = join(dir, 'aborted-before');
    const controller = new AbortController();
    controller.abort();
    let said = 0;
    await expectAbortError(runTraining(options(out), { signal: controller.signal, say: () => void said++ }), 'a run given an aborted signal');
    expect(existsSync(out), 'the output folder').to.equal(false);
    expect(said, 'messages').to.equal(0);
  });

  it('a signal aborted mid-run stops it between steps with an AbortError: the checkpoints whole, and --resume completes the log with every step once', async () => {
    const out = join(dir, 'aborted-mid-run');
    const controller = new AbortController();
    const steps: number[] = [];
    await expectAbortError(
      runTraining(options(out), {
        signal: controller.signal,
        onStep: (r) => {
          steps.push(r.step);
          if (r.step === 3) controller.abort();
        },
      }),
      'a run aborted after step 3',
    );
    expect(steps, 'steps run').to.deep.equal([1, 2, 3]);
    expect(readRunLog(out).map((r) => r.step)).to.deep.equal([1, 2, 3]);
    // Step 3 writes no checkpoint: latest is step 2's, whole.
    expect(latestStep(out)).to.equal(2);
    expect((await loadWeights(join(out, 'latest.safetensors'))).params.size).to.be.greaterThan(0);
    expect(tempFiles(out)).to.deep.equal([]);
    await expectResumesWhole(out);
  });

  it("a run killed after a step's log line and before its checkpoints resumes to a log with every step once", async () => {
    const out = join(dir, 'killed');
    let seen: { steps: number[]; latest: number } | undefined;
    await expectRejects(
      runTraining(options(out), {
        // Said once step 4's line is in the log, before its checkpoints are written: the kill.
        say: (m) => {
          if (!m.startsWith('step 4: validation')) return;
          seen = { steps: readRunLog(out).map((r) => r.step), latest: latestStep(out) };
          throw new Error('killed');
        },
      }),
      /^killed$/,
      'a run killed before the checkpoints of step 4',
    );
    expect(seen, 'the run reached step 4').to.not.equal(undefined);
    expect(seen!.steps, "the log when step 4's checkpoints were due").to.deep.equal([1, 2, 3, 4]);
    expect(seen!.latest, 'the step latest.safetensors held then').to.equal(2);
    expect(readRunLog(out)[3].valMIoU, "step 4's validation score in its line").to.equal(whole[3].valMIoU);
    // The line of step 4 is past the checkpoint: --resume drops it and writes it again, once.
    await expectResumesWhole(out);
  });

  it('option names neither argument knows are refused, naming the key and the known ones, before anything is written', async () => {
    const out = join(dir, 'unknown');
    const o = options(out);
    await expectRejects(runTraining({ ...o, lrr: 0.1 } as RunOptions), /^runTraining: unknown option 'lrr' \(did you mean 'lr'\?\); known options: data, format, cocoClasses, model, .*, repeatFactor, deviceLoss, device$/);
    const { signal } = new AbortController();
    await expectRejects(
      runTraining({ ...o, signal } as RunOptions),
      /^runTraining: unknown option 'signal'; 'signal' belongs in runTraining's second argument, the hooks; known options: data, /,
    );
    await expectRejects(runTraining(o, { onstep: () => {} } as never), /^runTraining: hooks: unknown option 'onstep' \(did you mean 'onStep'\?\); known options: ctx, onStep, say, shouldStop, signal, sampleWorker, onDeviceLost, onStart$/);
    await expectRejects(runTraining(o, { steps: 2 } as never), /^runTraining: hooks: unknown option 'steps'; 'steps' belongs in runTraining's first argument, the options; known options: ctx, /);
    await expectRejects(runTraining(o, { signal: new AbortController() } as never), "runTraining: signal must be an AbortSignal (AbortController's .signal), got AbortController");
    expect(existsSync(out), 'the output folder').to.equal(false);
  });
});
