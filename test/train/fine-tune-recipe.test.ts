// fineTune's recipe for teaching from strokes, through the call users make, on the VOC MobileNetV2
// (257: the window taught is the network's own size, so a crop of it is what segment() runs):
//  - the first step's loss is the cross-entropy on the strokes taught plus `distill` times the
//    cross-entropy, over the pixels nobody painted, against the classes the model gives them;
//    the held-out strokes (splitStrokes of the labels) start at the model's own cross-entropy, and
//    the drift measured with them (the pixels nobody painted against the model's own classes) at
//    the distillation's, unweighted;
//  - the model returned is the one of the step kept: the best held-out mIoU of the steps whose
//    held-out loss is not above the start's (the least loss of equals), and where no step did
//    better the model comes back as it was, with a warning;
//  - a class list that extends the model's keeps the known classes' classifier rows (recipe
//    'strokes'), where recipe 'plain' starts a new classifier; a new class painted starts from
//    its parent's row and its parent is not distilled;
//  - the report gives the settings the recipe chose.
import { expect } from 'chai';
import { normalizeToMinusOneOne } from '../../src/io/resize-cpu.js';
import type { RgbImage } from '../../src/io/rgb-image.js';
import { type DeepLabModel, loadModel } from '../../src/model/model.js';
import { VOC_CLASSES } from '../../src/model/voc.js';
import { type FineTuneReport, type FineTuneStep, UNLABELLED, fineTune } from '../../src/train/fine-tune.js';
import { splitStrokes } from '../../src/train/stroke-split.js';
import { strokesFromLabels } from '../../src/train/stroke-patterns.js';
import { relativeError, testContext } from '../helpers.js';
import { pixelCrossEntropy } from './pixel-cross-entropy.js';
import { cropImage, cropLabels, teachWindow } from './teach-fixture.js';

/** The network's input side: a window of this size is taught as it is. */
const SIDE = 257;

/** The recipe's default balance: a painted class's pixels weigh (1 / its pixels painted)^BALANCE. */
const BALANCE = 0.5;

/**
 * Each class painted in `labels` weighing (1 / its pixels)^BALANCE, scaled so the painted pixels
 * weigh 1 on average (1 for the classes not painted).
 */
function balanced(labels: Uint8Array, C: number): Float64Array {
  const counts = new Float64Array(C);
  for (const v of labels) if (v !== UNLABELLED) counts[v]++;
  let total = 0;
  let weighed = 0;
  counts.forEach((n) => {
    total += n;
    if (n > 0) weighed += n * n ** -BALANCE;
  });
  return counts.map((n) => (n > 0 ? (n ** -BALANCE * total) / weighed : 1));
}

/** The class of highest logit at each pixel. */
function argmax(logits: Float32Array, C: number): Uint8Array {
  return Uint8Array.from({ length: logits.length / C }, (_, p) => {
    let best = 0;
    for (let c = 1; c < C; c++) if (logits[p * C + c] > logits[p * C + best]) best = c;
    return best;
  });
}

describe('train: fineTune teaching from strokes (the recipe: distillation, held-out strokes, the step kept)', function () {
  this.timeout(600_000);
  let model: DeepLabModel;
  let image: RgbImage;
  let strokes: Uint8Array;

  before(async () => {
    model = await loadModel('mobilenetv2-pascal-257', { ctx: await testContext() });
    const w = await teachWindow(SIDE);
    image = cropImage(w.photo, w.x, w.y, SIDE, SIDE);
    strokes = strokesFromLabels(cropLabels(w.truth, w.x, w.y, SIDE, SIDE), SIDE, SIDE, 'bands');
  });

  after(() => model?.dispose());

  const logitsOf = (m: DeepLabModel): Promise<Float32Array> => m.forwardToHost(normalizeToMinusOneOne(image), SIDE, SIDE);

  it("starts at the strokes' cross-entropy (each class painted weighing (1 / its pixels)^0.5) plus the distillation term, the held-out strokes at the model's own and the drift at the distillation's, unweighted", async () => {
    const C = model.numClasses;
    const logits = await logitsOf(model);
    const holdOut = 0.3;
    const seed = 2;
    const { train, heldOut } = splitStrokes(strokes, SIDE, SIDE, holdOut, seed, UNLABELLED);
    expect(heldOut, 'strokes held out').to.not.equal(null);
    // The model's classes where no stroke is, taught or held out.
    const own = argmax(logits, C);
    const teacher = own.map((c, p) => (strokes[p] === UNLABELLED ? c : UNLABELLED));
    const distill = 0.5;
    const steps: FineTuneStep[] = [];
    let report: FineTuneReport | null = null;
    // The crop is the whole window, unscaled and unflipped: the first step's forward is the model's.
    const tuned = await fineTune(model, [{ image, labels: strokes }], {
      steps: 2, lr: 1e-4, crop: SIDE, batch: 1, scale: [1, 1], flip: false, seed, holdOut, distill, evalEvery: 1,
      onStep: (s) => void steps.push(s), onReport: (r) => void (report = r),
    });
    tuned.dispose();
    // The classes of the strokes taught weigh (1 / their pixels)^0.5; the held-out strokes are weighed alike.
    const weights = balanced(train, C);
    const taughtLoss = pixelCrossEntropy(logits, train, C, weights).loss;
    const distilled = pixelCrossEntropy(logits, teacher, C).loss;
    console.log(`      (strokes ${taughtLoss.toFixed(4)} + ${distill} x distilled ${distilled.toFixed(4)}; first step ${steps[0].loss.toFixed(4)}, its distillation ${steps[0].distillLoss?.toFixed(4)})`);
    expect(relativeError([steps[0].distillLoss!], [distill * distilled]), 'the distillation term').to.be.lessThan(1e-4);
    expect(relativeError([steps[0].loss], [taughtLoss + distill * distilled]), 'the first loss').to.be.lessThan(1e-4);
    const r = report! as FineTuneReport;
    const expected = pixelCrossEntropy(logits, heldOut!, C, weights);
    expect(r.painted.heldOut, 'held-out pixels').to.equal(expected.pixels);
    expect(relativeError([r.heldOut!.before], [expected.loss]), 'the held-out loss before the first step').to.be.lessThan(1e-4);
    // Measured with them: how far the model has moved where nothing is painted, the distillation's cross-entropy unweighted.
    expect(relativeError([r.heldOut!.measured[0].drift!], [distilled]), 'the drift before the first step').to.be.lessThan(1e-4);
    // What the drift weighs in 'least-loss': 2 x the model's recall of the classes painted - 1, at least 0.
    const painted = [...new Set(strokes)].filter((c) => c !== UNLABELLED);
    const counts = painted.map((c) => strokes.filter((v) => v === c).length);
    const recall = painted.reduce((sum, c, k) => sum + strokes.filter((v, p) => v === c && own[p] === c).length / counts[k], 0) / painted.length;
    console.log(`      (the model's recall of the classes painted ${recall.toFixed(3)}: the drift weighs ${r.heldOut!.driftWeight.toFixed(3)})`);
    // fineTune reads the model's classes through segment(), this test through forwardToHost: a pixel whose two
    // best logits tie within rounding may differ, which moves the weight by 2 / (classes x that class's pixels).
    const onePixel = 2 / (painted.length * Math.min(...counts));
    expect(r.heldOut!.driftWeight, "the drift's weight, within one pixel's worth").to.be.closeTo(Math.max(0, 2 * recall - 1), onePixel);
    expect(r.heldOut!.measured.map((m) => m.step), 'measured before the first step and after each').to.deep.equal([0, 1, 2]);
    expect(steps.map((s) => s.heldOutLoss), "each step's held-out loss").to.deep.equal(r.heldOut!.measured.slice(1).map((m) => m.loss));
    expect(r.settings).to.deep.include({ recipe: 'strokes', steps: 2, crop: SIDE, batch: 1, sampleSize: 'network', cropAt: 'strokes', distill, balance: BALANCE, holdOut, keep: 'best' });
  });

  it('returns the weights of the step best on the held-out strokes; where none beat the model as it was, that model, with a warning', async () => {
    const C = model.numClasses;
    const holdOut = 0.3;
    // The aeroplane painted as a bird: the model is wrong where painted, and the held-out strokes say so.
    const bird = strokes.map((v) => (v === 1 ? 3 : v));
    const { train, heldOut } = splitStrokes(bird, SIDE, SIDE, holdOut, 0, UNLABELLED);
    for (const lr of [3e-3, 3]) {
      let report: FineTuneReport | null = null;
      const tuned = await fineTune(model, [{ image, labels: bird }], { steps: 4, lr, crop: SIDE, batch: 1, scale: [1, 1], holdOut, evalEvery: 1, onReport: (r) => void (report = r) });
      try {
        const r = report! as FineTuneReport;
        console.log(`      (lr ${lr}: held-out ${r.heldOut!.measured.map((m) => `${m.loss.toFixed(4)} (${m.miou.toFixed(1)})`).join(' ')}; kept step ${r.keptStep}; ${r.warnings.join('; ') || 'no warning'})`);
        const [start, ...later] = r.heldOut!.measured;
        const best = later.reduce((b, m) => (m.loss <= start.loss && (m.miou > b.miou || (m.miou === b.miou && m.loss < b.loss)) ? m : b), start);
        expect(r.keptStep, 'the step kept').to.equal(best.step);
        expect(r.heldOut!.after).to.equal(best.loss);
        // The model returned is that step's: its own held-out loss is the one measured there.
        const own = pixelCrossEntropy(await logitsOf(tuned), heldOut!, C, balanced(train, C)).loss;
        expect(relativeError([own], [r.heldOut!.after]), "the returned model's held-out loss").to.be.lessThan(1e-4);
        if (lr === 3e-3) expect(r.keptStep, 'a learning rate that teaches: a step after the first kept').to.be.greaterThan(0);
        if (lr === 3) {
          // Steps this large overshoot from the first: the model as it was is kept, and the page is told.
          expect(r.keptStep).to.equal(0);
          expect(relativeError(await logitsOf(tuned), await logitsOf(model)), 'the logits of the model as it was').to.equal(0);
          expect(r.warnings.some((w) => w.startsWith('no step did better on the held-out strokes than the model as it was')), 'the warning').to.equal(true);
        }
      } finally {
        tuned.dispose();
      }
    }
  });

  it("a new class painted starts from its parent (the model's class on most of its pixels): the parent's row, its bias ln 2 lower; the parent is not distilled where nothing is painted", async () => {
    const C = model.numClasses;
    const classes = [...VOC_CLASSES, 'road'];
    const ROAD = C;
    // The background painted in the window's lower half becomes road: the model calls it background.
    const painted = strokes.map((v, p) => (v === 0 && p >= (SIDE * SIDE) / 2 ? ROAD : v));
    expect(painted.filter((v) => v === ROAD).length, 'road painted').to.be.greaterThan(1000);
    const logits = await logitsOf(model);
    const own = argmax(logits, C);
    // The start: the model's logits and road's, background's less ln 2.
    const start = Float32Array.from({ length: (logits.length / C) * (C + 1) }, (_, i) => {
      const [p, c] = [Math.floor(i / (C + 1)), i % (C + 1)];
      return c < C ? logits[p * C + c] : logits[p * C] - Math.LN2;
    });
    const teacher = own.map((c, p) => (painted[p] === UNLABELLED && c !== 0 ? c : UNLABELLED));
    const distill = 0.5;
    const steps: FineTuneStep[] = [];
    const lines: string[] = [];
    const tuned = await fineTune(model, [{ image, labels: painted }], {
      classes, steps: 1, lr: 1e-12, crop: SIDE, batch: 1, scale: [1, 1], flip: false, holdOut: 0, distill,
      onStep: (s) => void steps.push(s), onProgress: (l) => void lines.push(l),
    });
    try {
      expect(lines, 'the progress line').to.include('road starts from background, the class the model gives most of its painted pixels');
      expect(relativeError(await logitsOf(tuned), start), "the taught model's logits: road's background's less ln 2, the rest as they were").to.be.lessThan(1e-4);
      const distilled = pixelCrossEntropy(start, teacher, C + 1).loss;
      const taughtLoss = pixelCrossEntropy(start, painted, C + 1, balanced(painted, C + 1)).loss;
      console.log(`      (strokes ${taughtLoss.toFixed(4)} + ${distill} x distilled ${distilled.toFixed(4)} over ${teacher.filter((v) => v !== UNLABELLED).length} pixels; first step ${steps[0].loss.toFixed(4)})`);
      expect(relativeError([steps[0].distillLoss!], [distill * distilled]), 'the distillation term: no background').to.be.lessThan(1e-4);
      expect(relativeError([steps[0].loss], [taughtLoss + distill * distilled]), 'the first loss').to.be.lessThan(1e-4);
    } finally {
      tuned.dispose();
    }
  });

  it("a class list extending the model's keeps the known classes' rows (recipe 'plain' starts afresh); the recipe's choices come back in the report", async () => {
    const classes = [...VOC_CLASSES, 'road'];
    const C = model.numClasses;
    const before = await logitsOf(model);
    let report: FineTuneReport | null = null;
    // A step too small to move anything: the rows are those the model started with.
    const kept = await fineTune(model, [{ image, labels: strokes }], { classes, steps: 1, lr: 1e-12, onReport: (r) => void (report = r) });
    const fresh = await fineTune(model, [{ image, labels: strokes }], { classes, recipe: 'plain', steps: 1, crop: 33, lr: 1e-12 });
    try {
      for (const [m, what] of [[kept, 'strokes'], [fresh, 'plain']] as const) {
        expect(m.classNames, what).to.deep.equal(classes);
        const logits = await logitsOf(m);
        const old = Float32Array.from({ length: (logits.length / (C + 1)) * C }, (_, i) => logits[Math.floor(i / C) * (C + 1) + (i % C)]);
        const err = relativeError(old, before);
        if (what === 'strokes') expect(err, "recipe 'strokes': the VOC classes' logits as they were").to.be.lessThan(1e-4);
        else expect(err, "recipe 'plain': a new classifier").to.be.greaterThan(0.1);
      }
      const r = report! as FineTuneReport;
      // The window is painted on 5 rows of 24: over a fifth of its pixels.
      const share = strokes.filter((v) => v !== UNLABELLED).length / strokes.length;
      expect(share).to.be.within(0.15, 0.25);
      expect(r.settings).to.deep.include({ recipe: 'strokes', steps: 1, sampleSize: 'network', cropAt: 'strokes', keep: 'best' });
      expect(r.steps).to.equal(1);
    } finally {
      kept.dispose();
      fresh.dispose();
    }
  });
});
