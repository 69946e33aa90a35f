// fineTune (src/train/fine-tune.ts), the library call behind the demo's teach mode: its first
// loss is the cross-entropy of the model's own logits over the labelled pixels, the loss falls
// on a repeated crop, the result is a new model (the given one unchanged) whose checkpoint
// reloads to the same logits, a class list makes a new classifier, crops with no labelled pixel
// are drawn again, a stop is honoured, an AbortSignal cancels it, and bad samples and options
// (unknown names among them) are refused by name.
import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { normalizeImagenet, normalizeToMinusOneOne } from '../../src/io/resize-cpu.js';
import type { RgbImage } from '../../src/io/rgb-image.js';
import { checkpointBytes } from '../../src/model/checkpoint-bytes.js';
import { type DeepLabModel, loadModel } from '../../src/model/model.js';
import { type FineTuneStep, UNLABELLED, fineTune } from '../../src/train/fine-tune.js';
import { expectAbortError, expectRejects, relativeError, testContext } from '../helpers.js';
import { pixelCrossEntropy } from './pixel-cross-entropy.js';
import { cropImage, cropLabels, teachWindow } from './teach-fixture.js';

const CROP = 33;

/** Painted strokes: the ground truth on every 4th row, the rest unlabelled. */
function strokes(labels: Uint8Array, width: number): Uint8Array {
  return labels.map((v, p) => (Math.floor(p / width) % 4 === 0 ? v : UNLABELLED));
}

describe('train: fineTune (teaching a loaded model a few labelled images)', function () {
  this.timeout(600_000);
  let dir: string;
  let model: DeepLabModel;
  let photo: RgbImage;
  /** A CROP x CROP window holding aeroplane and background, with stroke labels. */
  let sample: { image: RgbImage; labels: Uint8Array };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'deeplab-finetune-'));
    model = await loadModel('mobilenetv2-pascal-257', { ctx: await testContext() });
    const w = await teachWindow(CROP);
    photo = w.photo;
    sample = { image: cropImage(photo, w.x, w.y, CROP, CROP), labels: strokes(cropLabels(w.truth, w.x, w.y, CROP, CROP), CROP) };
    expect(w.minority, 'the window holds both classes').to.be.greaterThan(100);
  });

  after(() => {
    model?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it("starts at the model's own cross-entropy, lowers the loss on a repeated crop, and returns a new model whose checkpoint reloads to its logits", async () => {
    const ctx = await testContext();
    const classifier = 'logits/semantic/weights';
    const original = await model.parameters();
    expect(original.has(classifier), `the model has ${classifier}`).to.equal(true);
    // The crop is the whole sample (no scaling, no flip): the first step's forward pass is the model's.
    const normalize = model.config.normalization === 'imagenet' ? normalizeImagenet : normalizeToMinusOneOne;
    const logits = await model.forwardToHost(normalize(sample.image), CROP, CROP);
    const expected = pixelCrossEntropy(logits, sample.labels, model.numClasses).loss;

    const steps: FineTuneStep[] = [];
    const tuned = await fineTune(model, [sample], { recipe: 'plain', steps: 12, crop: CROP, lr: 0.001, scale: [1, 1], flip: false, seed: 3, onStep: (r) => void steps.push(r) });
    try {
      const losses = steps.map((s) => s.loss);
      console.log(`      (loss ${losses.map((l) => l.toFixed(3)).join(' ')}; ${(steps.reduce((t, s) => t + s.ms, 0) / steps.length).toFixed(0)} ms a step)`);
      expect(steps.map((s) => s.step)).to.deep.equal(Array.from({ length: 12 }, (_, i) => i + 1));
      expect(relativeError([losses[0]], [expected]), `first loss ${losses[0]} vs the model's cross-entropy ${expected}`).to.be.lessThan(1e-4);
      expect(losses[11], 'the last loss').to.be.lessThan(0.7 * losses[0]);
      expect(steps[0].lr, 'the first step at the base rate').to.equal(0.001);

      // A new model on the same context; the given one is as it was.
      expect(tuned).to.not.equal(model);
      expect(tuned.ctx).to.equal(ctx);
      expect([tuned.name, tuned.classNames, tuned.inputPolicy]).to.deep.equal([model.name, model.classNames, model.inputPolicy]);
      expect([...(await model.parameters()).get(classifier)!.data]).to.deep.equal([...original.get(classifier)!.data]);
      const trained = (await tuned.parameters()).get(classifier)!.data;
      expect(relativeError(trained, original.get(classifier)!.data), 'the classifier moved').to.be.greaterThan(1e-4);

      // Its checkpoint, as a page downloads it, loads back to the same logits.
      const path = join(dir, 'taught.safetensors');
      writeFileSync(path, await checkpointBytes(tuned));
      const reloaded = await loadModel(path, { ctx });
      try {
        const before = (await tuned.segment(photo, { include: ['logits'] })).logits!;
        const after = (await reloaded.segment(photo, { include: ['logits'] })).logits!;
        expect(relativeError(after, before), 'logits of the reloaded checkpoint').to.equal(0);
      } finally {
        reloaded.dispose();
      }
    } finally {
      tuned.dispose();
    }
  });

  it('a class list makes a new classifier for those classes; labels are checked against it', async () => {
    const labels = sample.labels.map((v) => (v === 1 ? 2 : v)); // aeroplane is class 2 of 3
    const tuned = await fineTune(model, [{ image: sample.image, labels }], { recipe: 'plain', steps: 2, crop: CROP, lr: 0.01, classes: ['background', 'cat', 'aeroplane'], scale: [1, 1] });
    try {
      expect(tuned.numClasses).to.equal(3);
      expect(tuned.classNames).to.deep.equal(['background', 'cat', 'aeroplane']);
      expect((await tuned.segment(sample.image)).numClasses).to.equal(3);
    } finally {
      tuned.dispose();
    }
    const bad = sample.labels.map((v) => (v === 1 ? 3 : v));
    await expectRejects(fineTune(model, [{ image: sample.image, labels: bad }], { steps: 1, crop: CROP, lr: 0.01, classes: ['background', 'cat', 'aeroplane'] }), /^fineTune: sample 0: label 3 at pixel \(\d+, \d+\) is neither a class \(0\.\.2\) nor 255 \(unlabelled\)$/);
  });

  it('draws a crop again where it holds no labelled pixel, and stops when asked', async () => {
    // A 120x120 image labelled only in a 20x20 square in the middle: most 33x33 crops miss it.
    const image = cropImage(photo, 150, 140, 120, 120);
    const labels = new Uint8Array(120 * 120).fill(UNLABELLED);
    for (let y = 50; y < 70; y++) labels.fill(1, y * 120 + 50, y * 120 + 70);
    const steps: FineTuneStep[] = [];
    const tuned = await fineTune(model, [{ image, labels }], { recipe: 'plain', steps: 10, crop: CROP, lr: 0.001, scale: [1, 1], seed: 11, onStep: (r) => void steps.push(r), shouldStop: () => steps.length === 4 });
    tuned.dispose();
    expect(steps.map((s) => s.step), 'stopped after the 4th step').to.deep.equal([1, 2, 3, 4]);
    for (const s of steps) expect(s.loss, `step ${s.step}'s loss (a crop with labelled pixels)`).to.be.greaterThan(0);
  });

  it('an AbortSignal cancels it with an AbortError: an aborted one before any GPU work, one aborted mid-run between steps', async () => {
    const o = { recipe: 'plain' as const, steps: 5, crop: CROP, lr: 0.001, scale: [1, 1] as [number, number] };
    const controller = new AbortController();
    controller.abort();
    const heard: string[] = [];
    await expectAbortError(fineTune(model, [sample], { ...o, signal: controller.signal, onProgress: (m) => void heard.push(m), onStep: (r) => void heard.push(`step ${r.step}`) }), 'a fine-tune given an aborted signal');
    expect(heard, 'progress and steps').to.deep.equal([]);

    const midRun = new AbortController();
    const steps: number[] = [];
    await expectAbortError(
      fineTune(model, [sample], {
        ...o,
        signal: midRun.signal,
        onStep: (r) => {
          steps.push(r.step);
          if (r.step === 2) midRun.abort();
        },
      }),
      'a fine-tune aborted after step 2',
    );
    expect(steps, 'steps run').to.deep.equal([1, 2]);
  });

  it('refuses bad samples and options with errors that name them', async () => {
    const { image, labels } = sample;
    const o = { recipe: 'plain' as const, steps: 1, crop: CROP, lr: 0.01 };
    await expectRejects(fineTune(model, [], o), 'fineTune: no samples (give at least one labelled image)');
    await expectRejects(fineTune(model, [{ image, labels: labels.subarray(1) }], o), `fineTune: sample 0: labels must be a Uint8Array of 33x33 = 1089 values, got 1088`);
    await expectRejects(fineTune(model, [sample, { image, labels: new Uint8Array(labels.length).fill(UNLABELLED) }], o), 'fineTune: sample 1: no pixel is labelled (paint at least one stroke)');
    const bad = labels.slice();
    bad[CROP * 2 + 5] = 21;
    await expectRejects(fineTune(model, [{ image, labels: bad }], o), 'fineTune: sample 0: label 21 at pixel (5, 2) is neither a class (0..20) nor 255 (unlabelled)');
    await expectRejects(fineTune(model, [{ image: { ...image, data: image.data.subarray(3) }, labels }], o), 'fineTune: sample 0: image data has 3264 bytes, expected 33x33x3 = 3267');
    const bands = { width: CROP, height: CROP, channels: 4, data: new Uint16Array(CROP * CROP * 4), layout: 'planar' as const };
    await expectRejects(fineTune(model, [{ image: bands, labels }], o), 'fineTune: sample 0: the image has 4 bands; mobilenetv2-pascal-257 takes 3 (in_channels 3)');
    await expectRejects(fineTune(model, [{ image: { ...bands, data: bands.data.subarray(1) }, labels }], o), 'fineTune: sample 0: band data has 4355 values, expected 33x33x4 = 4356');
    await expectRejects(fineTune(model, [sample], { ...o, loss: 'bce' }), /^fineTune: loss 'bce': BCE is a binary model's loss \(smp classes 1\); this model has several classes: use 'ce'$/);
    await expectRejects(fineTune(model, [sample], { ...o, loss: 'focal' as never }), 'fineTune: loss must be one of ce, bce, dice, ce+dice, bce+dice, got \'focal\'');
    await expectRejects(fineTune(model, [sample], { ...o, mean: [0.5, 0.5, 0.5] }), 'fineTune: mean and std go together: mean was given without std');
    await expectRejects(fineTune(model, [sample], { ...o, mean: [0.5, 0.5], std: [0.2, 0.2] }), 'fineTune: sample 0: mean has 2 values; mobilenetv2-pascal-257 takes 3 input channels, one mean each');
    await expectRejects(fineTune(model, [sample], { ...o, lr: 0 }), 'learning rate must be a positive number, got 0');
    await expectRejects(fineTune(model, [sample], { ...o, steps: 0 }), 'steps must be a positive integer, got 0');
    await expectRejects(fineTune(model, [sample], { ...o, classes: [] }), 'fineTune: classes must be a non-empty list of names, got []');
    await expectRejects(
      fineTune(model, [sample], { ...o, stpes: 3 } as never),
      /^fineTune: unknown option 'stpes' \(did you mean 'steps'\?\); known options: steps, crop, batch, lr, .*, shouldStop, signal, deviceLoss, checkpoint, resume$/,
    );
    await expectRejects(fineTune(model, [sample], { ...o, signal: new AbortController() } as never), "fineTune: signal must be an AbortSignal (AbortController's .signal), got AbortController");
  });
});
