// A training run killed between its writes (src/train/run.ts): a run killed after a step's log
// line and before its checkpoints resumes to a log with every step once (the line is written
// first: once it came after latest.safetensors, and a kill between them lost the step's line for
// good).
import { expect } from 'chai';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readSafetensors } from '../../src/model/weights/import/safetensors.js';
import { type RunOptions, type StepRecord, runTraining } from '../../src/train/run.js';
import { expectRejects } from '../helpers.js';
import { readRunLog, smallCamvid } from './small-camvid.js';

/** The step latest.safetensors in `out` holds, its tensors read whole. */
function latestStep(out: string): number {
  return JSON.parse(readSafetensors(join(out, 'latest.safetensors')).metadata.training).step as number;
}

const tempFiles = (dir: string): string[] => readdirSync(dir).filter((f) => f.endsWith('.tmp'));

describe('training: a run killed between its writes', function () {
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
});
