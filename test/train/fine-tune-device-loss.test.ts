// fineTune survives a lost device: the state of the last step is kept on the host, and the step
// the loss broke is replayed on a new device, so a fine-tune that loses its device at step 10 of
// 20 ends with the losses and the weights of one that did not. deviceLoss 'fail' rejects instead.
import { expect } from 'chai';
import type { RgbImage } from '../../src/io/rgb-image.js';
import { loadModel } from '../../src/model/model.js';
import { type FineTuneOptions, type TeachSample, UNLABELLED, fineTune } from '../../src/train/fine-tune.js';
import { expectRejects } from '../helpers.js';
import { cropImage, cropLabels, teachWindow } from './teach-fixture.js';

const CROP = 33;
const STEPS = 20;

describe('train: fineTune losing its device', function () {
  this.timeout(600_000);
  let sample: TeachSample;
  let image: RgbImage;

  before(async () => {
    const w = await teachWindow(CROP);
    image = cropImage(w.photo, w.x, w.y, CROP, CROP);
    const truth = cropLabels(w.truth, w.x, w.y, CROP, CROP);
    sample = { image, labels: truth.map((v, p) => (Math.floor(p / CROP) % 2 === 0 ? v : UNLABELLED)) };
  });

  /** The losses of a fine-tune on a model of its own context, and the tuned model's logits; `lose` may lose the device after a step. */
  async function run(o: Partial<FineTuneOptions>, lose?: (step: number) => boolean): Promise<{ losses: number[]; logits: Float32Array }> {
    const model = await loadModel('mobilenetv2-pascal-257');
    try {
      const losses: number[] = [];
      // Batch statistics and momentum both carry over from step to step: the replay must restore both.
      const tuned = await fineTune(model, [sample], {
        recipe: 'plain', steps: STEPS, crop: CROP, lr: 0.002, batch: 2, freezeBn: false, seed: 5, ...o,
        onStep: (r) => {
          losses.push(r.loss);
          if (lose?.(r.step)) model.ctx.device.destroy();
        },
      });
      try {
        return { losses, logits: (await tuned.segment(image, { include: ['logits'] })).logits! };
      } finally {
        tuned.dispose();
      }
    } finally {
      model.dispose();
    }
  }

  it('a loss after step 10 of 20: the same losses and the same tuned logits as a fine-tune never interrupted', async () => {
    const clean = await run({});
    const lost = await run({}, (step) => step === 10);
    expect(lost.losses, 'losses').to.deep.equal(clean.losses);
    expect(clean.losses[STEPS - 1], 'it learns').to.be.lessThan(clean.losses[0]);
    expect([...lost.logits], "the tuned model's logits").to.deep.equal([...clean.logits]);
  });

  it("deviceLoss 'fail': the next step rejects with the loss", async () => {
    await expectRejects(run({ deviceLoss: 'fail' }, (step) => step === 2), /GPU device lost \(destroyed/);
  });

  it('refuses an unknown deviceLoss by name', async () => {
    await expectRejects(run({ deviceLoss: 'retry' as 'fail' }), /fineTune: deviceLoss must be 'recover' or 'fail', got "retry"/);
  });
});
