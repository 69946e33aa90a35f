// Teaching from strokes, the parts that need no GPU: strokes made from a label map (bands,
// scribbles, clicks, and clicks where a model is wrong: src/train/stroke-patterns.ts), the held-out split of whole strokes
// (stroke-split.ts), strokes resized to the network's view without losing one (teach-data.ts),
// the crops centred on the strokes with the starting model's classes aligned to them and the
// held-out windows counting each pixel once (teach-crops.ts), the step kept and its warning
// (fine-tune-loop.ts), and the recipe's settings (teach-recipe.ts). Label maps are random from
// the run's seed.
import { expect } from 'chai';
import type { LoadedWeights } from '../../src/model/loading/load-weights.js';
import { splitStrokes, strokeComponents } from '../../src/train/stroke-split.js';
import { STROKE_PATTERNS, correctionsFromLabels, strokesFromLabels } from '../../src/train/stroke-patterns.js';
import { better, driftWeight, warningsOf } from '../../src/train/fine-tune-loop.js';
import { heldOutPasses, strokeBatch } from '../../src/train/teach-crops.js';
import { type StrokeSample, paintedByClass, resizeStrokes } from '../../src/train/teach-data.js';
import { STROKES_RECIPE, teachSettings } from '../../src/train/teach-recipe.js';
import { UNLABELLED } from '../../src/train/teach-samples.js';
import { expectThrows, rng } from '../helpers.js';

/** A label map of `rects` random rectangles of classes 0..classes-1 over background 0, a 255 border around each. */
function randomScene(width: number, height: number, rects: number, classes: number, r: () => number): Uint8Array {
  const labels = new Uint8Array(width * height);
  for (let k = 0; k < rects; k++) {
    const w = 6 + Math.floor(r() * width * 0.4);
    const h = 6 + Math.floor(r() * height * 0.4);
    const x0 = Math.floor(r() * (width - w));
    const y0 = Math.floor(r() * (height - h));
    const c = 1 + Math.floor(r() * (classes - 1));
    for (let y = y0; y < y0 + h; y++) for (let x = x0; x < x0 + w; x++) labels[y * width + x] = x === x0 || y === y0 || x === x0 + w - 1 || y === y0 + h - 1 ? 255 : c;
  }
  return labels;
}

/** Random strokes: `n` short horizontal runs of random classes over an unlabelled map. */
function randomStrokes(width: number, height: number, n: number, classes: number, r: () => number): Uint8Array {
  const labels = new Uint8Array(width * height).fill(UNLABELLED);
  for (let k = 0; k < n; k++) {
    const y = Math.floor(r() * height);
    const x0 = Math.floor(r() * (width - 8));
    const c = Math.floor(r() * classes);
    for (let x = x0; x < x0 + 2 + Math.floor(r() * 6); x++) labels[y * width + x] = c;
  }
  return labels;
}

describe('train: teaching from strokes, without the GPU', () => {
  it('strokes from a label map: bands every 24th row band; scribbles and clicks inside each region large enough, in its class; nothing where the map ignores', () => {
    const r = rng();
    for (let trial = 0; trial < 4; trial++) {
      const [w, h] = [60 + Math.floor(r() * 80), 50 + Math.floor(r() * 80)];
      const truth = randomScene(w, h, 4, 5, r);
      const bands = strokesFromLabels(truth, w, h, 'bands');
      for (let p = 0; p < truth.length; p++) expect(bands[p], `band pixel ${p}`).to.equal(Math.floor(p / w) % 24 < 5 && truth[p] !== 255 ? truth[p] : UNLABELLED);
      const { component, classes } = strokeComponents(truth, w, h, 255);
      const sizes = classes.map((_, id) => component.filter((c) => c === id).length);
      for (const pattern of ['scribbles', 'clicks'] as const) {
        const s = strokesFromLabels(truth, w, h, pattern, { seed: trial, radius: 3 });
        const paintedIn = classes.map(() => 0);
        for (let p = 0; p < s.length; p++) {
          if (s[p] === UNLABELLED) continue;
          expect(s[p], `${pattern}: pixel ${p}'s class`).to.equal(truth[p]);
          paintedIn[component[p]]++;
        }
        for (const [id, n] of paintedIn.entries()) {
          if (sizes[id] >= 100) expect(n, `${pattern}: region ${id} (${sizes[id]} pixels) painted`).to.be.greaterThan(0);
          else expect(n, `${pattern}: region ${id} (${sizes[id]} pixels, under 100) left alone`).to.equal(0);
          if (pattern === 'clicks') expect(n, `clicks: region ${id}: at most two dots of radius 3`).to.be.at.most(2 * 29);
        }
        expect(strokesFromLabels(truth, w, h, pattern, { seed: trial, radius: 3 }), `${pattern}: the same from the same seed`).to.deep.equal(s);
      }
    }
    expectThrows(() => strokesFromLabels(new Uint8Array(4), 2, 2, 'dots' as never), 'strokesFromLabels: pattern must be one of bands, scribbles, clicks, got "dots"');
    expectThrows(() => strokesFromLabels(new Uint8Array(3), 2, 2, 'bands'), 'strokesFromLabels: labels must be a Uint8Array of 2x2 values');
    expect(STROKE_PATTERNS).to.deep.equal(['bands', 'scribbles', 'clicks']);
  });

  it("corrections: clicks in the label map's class where the model is wrong, the largest error regions first, none where it is right", () => {
    const r = rng();
    let regionsClicked = 0;
    for (let trial = 0; trial < 4; trial++) {
      const [w, h] = [60 + Math.floor(r() * 80), 50 + Math.floor(r() * 80)];
      const truth = randomScene(w, h, 4, 5, r);
      // The model wrong in a few random rectangles of other classes; right everywhere else.
      const predicted = truth.map((c) => (c === 255 ? 0 : c));
      const wrongIn = randomScene(w, h, 3, 5, r);
      for (let p = 0; p < predicted.length; p++) if (wrongIn[p] !== 0 && wrongIn[p] !== 255) predicted[p] = (truth[p] + 1) % 5;
      const wrong = truth.map((c, p) => (c !== 255 && predicted[p] !== c ? c : 255));
      const { component, classes } = strokeComponents(wrong, w, h, 255);
      const sizes = classes.map((_, id) => component.filter((c) => c === id).length);
      const clicked = [...sizes.keys()].filter((id) => sizes[id] >= 100).sort((a, b) => sizes[b] - sizes[a] || a - b).slice(0, 2);
      const s = correctionsFromLabels(truth, predicted, w, h, { radius: 3, maxRegions: 2 });
      const paintedIn = classes.map(() => 0);
      for (let p = 0; p < s.length; p++) {
        if (s[p] === UNLABELLED) continue;
        expect(s[p], `pixel ${p}: the label map's class`).to.equal(truth[p]);
        expect(predicted[p], `pixel ${p}: painted only where the model is wrong`).to.not.equal(truth[p]);
        paintedIn[component[p]]++;
      }
      for (const [id, n] of paintedIn.entries()) {
        if (clicked.includes(id)) expect(n, `error region ${id} (${sizes[id]} pixels), among the two largest, clicked`).to.be.within(1, 2 * 29);
        else expect(n, `error region ${id} (${sizes[id]} pixels) left alone`).to.equal(0);
      }
      regionsClicked += clicked.length;
    }
    expect(regionsClicked, 'error regions clicked over the trials').to.be.greaterThan(2);
    const truth = randomScene(40, 30, 2, 3, r);
    expect(correctionsFromLabels(truth, truth, 40, 30).every((v) => v === UNLABELLED), 'a model right everywhere: nothing clicked').to.equal(true);
    expectThrows(() => correctionsFromLabels(truth, new Uint8Array(5), 40, 30), "correctionsFromLabels: predicted must be a Uint8Array of 40x30 values, the model's classes at the labels' size");
    expectThrows(() => correctionsFromLabels(new Uint8Array(5), truth, 40, 30), 'correctionsFromLabels: labels must be a Uint8Array of 40x30 values');
  });

  it('the held-out split takes whole strokes, round(share x strokes) of each class, leaving each class one to teach', () => {
    const r = rng();
    for (let trial = 0; trial < 6; trial++) {
      const [w, h] = [40 + Math.floor(r() * 40), 30 + Math.floor(r() * 40)];
      const labels = randomStrokes(w, h, 5 + Math.floor(r() * 30), 4, r);
      const share = 0.1 + r() * 0.5;
      const { train, heldOut } = splitStrokes(labels, w, h, share, trial, UNLABELLED);
      const { component, classes } = strokeComponents(labels, w, h, UNLABELLED);
      const perClass = new Map<number, number>();
      for (const c of classes) perClass.set(c, (perClass.get(c) ?? 0) + 1);
      const held = new Map<number, boolean>();
      for (let p = 0; p < labels.length; p++) {
        if (labels[p] === UNLABELLED) {
          expect([train[p], heldOut?.[p] ?? UNLABELLED], `unpainted pixel ${p}`).to.deep.equal([UNLABELLED, UNLABELLED]);
          continue;
        }
        const isHeld = heldOut !== null && heldOut[p] !== UNLABELLED;
        expect(isHeld ? heldOut![p] : train[p], `painted pixel ${p} in one part, its class kept`).to.equal(labels[p]);
        expect(isHeld ? train[p] : (heldOut?.[p] ?? UNLABELLED), `painted pixel ${p} in one part only`).to.equal(UNLABELLED);
        const id = component[p];
        if (held.has(id)) expect(held.get(id), `stroke ${id} in one part whole`).to.equal(isHeld);
        held.set(id, isHeld);
      }
      for (const [c, n] of perClass) {
        const heldOfClass = classes.filter((k, id) => k === c && held.get(id)).length;
        expect(heldOfClass, `class ${c}: strokes held out of ${n} at share ${share.toFixed(2)}`).to.equal(Math.min(n - 1, Math.round(share * n)));
      }
      expect(splitStrokes(labels, w, h, share, trial, UNLABELLED), 'the same split from the same seed').to.deep.equal({ train, heldOut });
    }
    const one = new Uint8Array(16).fill(UNLABELLED).fill(2, 0, 3);
    expect(splitStrokes(one, 4, 4, 0.5, 0, UNLABELLED).heldOut, 'a class painted once is never held out').to.equal(null);
    expect(splitStrokes(one, 4, 4, 0, 0, UNLABELLED).heldOut).to.equal(null);
    expectThrows(() => splitStrokes(one, 4, 4, 1, 0, UNLABELLED), 'holdOut must be a share in [0, 1), got 1');
  });

  it('strokes resized to the network keep every stroke in its class; enlarged, they are resized nearest', () => {
    const r = rng();
    for (let trial = 0; trial < 4; trial++) {
      const [w, h] = [80 + Math.floor(r() * 200), 80 + Math.floor(r() * 200)];
      // Strokes a pixel high: a nearest-neighbour downscale would drop many.
      const indices = randomStrokes(w, h, 30, 5, r);
      const [tw, th] = [20 + Math.floor(r() * 50), 20 + Math.floor(r() * 50)];
      const small = resizeStrokes({ width: w, height: h, indices }, tw, th);
      expect([small.width, small.height]).to.deep.equal([tw, th]);
      const { component, classes } = strokeComponents(indices, w, h, UNLABELLED);
      // A target pixel's footprint: the source pixels [floor(x w / tw), floor((x + 1) w / tw)) across (at least one), likewise down.
      const from = (x: number, n: number, size: number): number => Math.floor((x * n) / size);
      const upTo = (x: number, n: number, size: number): number => Math.max(from(x, n, size) + 1, from(x + 1, n, size));
      const target = (v: number, n: number, size: number): number => Array.from({ length: size }, (_, x) => x).find((x) => from(x, n, size) <= v && v < upTo(x, n, size))!;
      for (const [id, c] of classes.entries()) {
        const p = component.indexOf(id);
        const [x, y] = [target(p % w, w, tw), target(Math.floor(p / w), h, th)];
        // The target pixel whose footprint holds the stroke's first pixel is painted (perhaps by another class painted more there).
        expect(small.indices[y * tw + x], `stroke ${id} (class ${c}) at its first pixel`).to.not.equal(UNLABELLED);
      }
      for (let q = 0; q < small.indices.length; q++) {
        if (small.indices[q] === UNLABELLED) continue;
        const [x, y] = [q % tw, Math.floor(q / tw)];
        // Its centre's class, or one painted in its footprint.
        let found = indices[Math.floor(((y + 0.5) * h) / th) * w + Math.floor(((x + 0.5) * w) / tw)] === small.indices[q];
        for (let sy = from(y, h, th); sy < upTo(y, h, th); sy++) for (let sx = from(x, w, tw); sx < upTo(x, w, tw); sx++) found ||= indices[sy * w + sx] === small.indices[q];
        expect(found, `pixel ${q}'s class ${small.indices[q]} is painted at its centre or in its footprint`).to.equal(true);
      }
      const big = resizeStrokes({ width: 10, height: 8, indices: indices.subarray(0, 80) }, 25, 19);
      for (let q = 0; q < 25 * 19; q++) expect(big.indices[q]).to.equal(indices[Math.floor(((Math.floor(q / 25) + 0.5) * 8) / 19) * 10 + Math.floor((((q % 25) + 0.5) * 10) / 25)]);
    }
  });

  /** A band image whose two bands are each pixel's x and y, with strokes and a teacher map: a crop's values say where each of its pixels came from. */
  function coordinateSample(w: number, h: number, r: () => number): StrokeSample {
    const normalized = new Float32Array(w * h * 2);
    for (let p = 0; p < w * h; p++) normalized.set([p % w, Math.floor(p / w)], 2 * p);
    const labels = randomStrokes(w, h, 12, 3, r);
    const teacher = Uint8Array.from(labels, (v, p) => (v === UNLABELLED ? (p * 7) % 5 : UNLABELLED));
    const label = { width: w, height: h, indices: labels };
    const heldOut = { width: w, height: h, indices: randomStrokes(w, h, 6, 3, r) };
    return { image: { width: w, height: h, channels: 2, normalized }, label, heldOut, teacher: { width: w, height: h, indices: teacher }, byClass: paintedByClass(label) };
  }
  const weights = { config: { inChannels: 2 } } as unknown as LoadedWeights;

  it("crops centred on the strokes hold the class in turn, the starting model's classes aligned with them; held-out windows count each pixel once, the starting model's classes with them", () => {
    const r = rng();
    const samples = [coordinateSample(70, 50, r), coordinateSample(45, 90, r)];
    const C = 33;
    const batch = 3;
    for (let step = 0; step < 6; step++) {
      const b = strokeBatch(samples, step, weights, { crop: C, scale: [1, 1], flip: true, seed: 4, cropAt: 'strokes' }, batch, true);
      expect(b.distill, 'the distillation labels').to.have.length(batch * C * C);
      for (let k = 0; k < batch; k++) {
        const i = step * batch + k;
        const s = samples[i % 2];
        const { width } = s.label;
        let painted = 0;
        for (let d = 0; d < C * C; d++) {
          const [x, y] = [b.images[2 * (k * C * C + d)], b.images[2 * (k * C * C + d) + 1]];
          const label = b.labels[k * C * C + d];
          const taught = b.distill![k * C * C + d];
          // The padding (the crop past the image) holds 0 bands and no label.
          if (label === UNLABELLED && taught === UNLABELLED) continue;
          const p = y * width + x;
          expect([label, taught], `crop ${i}, pixel ${d}: the labels of its source (${x}, ${y})`).to.deep.equal([s.label.indices[p], s.teacher!.indices[p]]);
          if (label === s.byClass[Math.floor(i / 2) % s.byClass.length].cls) painted++;
        }
        expect(painted, `crop ${i}: pixels of the class in turn`).to.be.greaterThan(0);
      }
    }
    const again = strokeBatch(samples, 3, weights, { crop: C, scale: [0.5, 1.5], flip: true, seed: 4, cropAt: 'anywhere' }, batch, false);
    expect(again.distill, 'no distillation labels where the step does not distil').to.equal(undefined);
    expect(strokeBatch(samples, 3, weights, { crop: C, scale: [0.5, 1.5], flip: true, seed: 4, cropAt: 'anywhere' }, batch, false), 'the same crops from (seed, step)').to.deep.equal(again);

    const passes = heldOutPasses(samples, weights, C, 2, true);
    const heldOut = samples.reduce((n, s) => n + s.heldOut!.indices.filter((v) => v !== UNLABELLED).length, 0);
    expect(passes.reduce((n, p) => n + p.pixels, 0), 'held-out pixels over the passes').to.equal(heldOut);
    let counted = 0;
    const seen = new Set<string>();
    for (const p of passes) {
      for (let d = 0; d < p.batch.labels.length; d++) {
        if (p.batch.labels[d] === UNLABELLED) continue;
        counted++;
        const key = `${p.batch.images[2 * d]},${p.batch.images[2 * d + 1]},${p.batch.labels[d]}`;
        expect(seen.has(key), `held-out pixel ${key} counted once`).to.equal(false);
        seen.add(key);
      }
    }
    expect(counted).to.equal(heldOut);

    // Where the run distils, the passes carry the starting model's classes too, each pixel once, where it is.
    const teacherPixels = (x: StrokeSample): number => x.teacher!.indices.filter((v) => v !== UNLABELLED).length;
    for (const [i, s] of samples.entries()) {
      const alone = heldOutPasses([s], weights, C, 2, true);
      expect(alone.reduce((n, p) => n + p.distilled, 0), `sample ${i}: distilled pixels over the passes`).to.equal(teacherPixels(s));
      const taught = new Map<number, number>();
      for (const p of alone) {
        for (let d = 0; d < p.batch.distill!.length; d++) {
          const c = p.batch.distill![d];
          if (c === UNLABELLED) continue;
          const at = p.batch.images[2 * d + 1] * s.label.width + p.batch.images[2 * d];
          expect(taught.has(at), `sample ${i}: distilled pixel ${at} counted once`).to.equal(false);
          taught.set(at, c);
        }
      }
      expect(taught.size).to.equal(teacherPixels(s));
      for (const [at, c] of taught) expect(c, `sample ${i}, pixel ${at}: the starting model's class`).to.equal(s.teacher!.indices[at]);
    }
    const unheld = { ...samples[1], heldOut: null };
    const mixed = heldOutPasses([samples[0], unheld], weights, C, 2, true);
    expect(mixed.reduce((n, p) => n + p.pixels, 0), 'a sample holding nothing out adds no held-out pixel').to.equal(samples[0].heldOut!.indices.filter((v) => v !== UNLABELLED).length);
    expect(mixed.reduce((n, p) => n + p.distilled, 0), "and its unpainted pixels' classes are measured with the others'").to.equal(teacherPixels(samples[0]) + teacherPixels(unheld));
    const plain = heldOutPasses(samples, weights, C, 2, false);
    expect([plain.every((p) => p.batch.distill === undefined && p.distilled === 0), plain.reduce((n, p) => n + p.pixels, 0)], 'a run that does not distil: the held-out strokes alone').to.deep.equal([true, heldOut]);
    expect(heldOutPasses([unheld], weights, C, 2, true), 'nothing held out: no passes').to.deep.equal([]);
  });

  it("the step kept: 'least-loss' weighs the held-out strokes' loss and the unpainted pixels' drift (by the starting model's recall), 'best' their mIoU; the warning says what held the start", () => {
    const start = { step: 0, loss: 0.5, miou: 60, drift: 0.1 };
    const gainedMore = { step: 5, loss: 0.2, miou: 60, drift: 0.3 };
    const movedMore = { step: 5, loss: 0.45, miou: 70, drift: 0.3 };
    expect(better('least-loss', gainedMore, start, start), 'the strokes gained 0.3, the unpainted pixels moved 0.2: kept').to.equal(true);
    expect(better('least-loss', movedMore, start, start), 'the strokes gained 0.05, the unpainted pixels moved 0.2: not kept').to.equal(false);
    const [a, b] = [{ step: 5, loss: 0.45, miou: 0 }, { step: 0, loss: 0.5, miou: 0 }];
    expect(better('least-loss', a, b, b), 'a run that does not distil: the held-out loss alone').to.equal(true);
    expect(better('least-loss', movedMore, start, start, 0.2), 'the drift weighed 0.2: 0.04 moved against 0.05 gained, kept').to.equal(true);
    expect([driftWeight(1), driftWeight(0.75), driftWeight(0.5), driftWeight(0.2), driftWeight(null)], 'the drift weighs 2 x recall - 1, at least 0, nothing where the recall is unknown').to.deep.equal([1, 0.5, 0, 0, 0]);
    const sharpened = { step: 5, loss: 0.52, miou: 60, drift: 0.01 };
    expect(better('least-loss', sharpened, start, start), 'never a step whose held-out loss rose, however little it moved elsewhere').to.equal(false);
    expect(better('best', movedMore, start, start), "'best': the held-out mIoU, its loss not above the start's").to.equal(true);
    expect(better('best', { ...movedMore, loss: 0.55 }, start, start), "'best': not where the held-out loss rose").to.equal(false);

    const flat = [1, 1, 1, 1, 1, 1];
    expect(warningsOf(flat, { before: 0.5, after: 0.5, measured: [start, movedMore], driftWeight: 1 }, 0, 0, 5)).to.deep.equal([
      "no step did better than the model as it was: at step 5 the held-out strokes' loss fell (0.500 to 0.450), but the model moved more from its own classes where nothing is painted (their loss 0.100 to 0.300): that model is kept",
    ]);
    const worse = { ...movedMore, loss: 0.6 };
    expect(warningsOf(flat, { before: 0.5, after: 0.5, measured: [start, worse], driftWeight: 1 }, 0, 0, 5)).to.deep.equal([
      'the held-out strokes got worse: loss 0.500 before, 0.600 after step 5',
      'no step did better on the held-out strokes than the model as it was: that model is kept',
    ]);
    expect(warningsOf(flat, { before: 0.5, after: 0.2, measured: [start, gainedMore], driftWeight: 1 }, 5, 0, 5), 'a step kept: no warning').to.deep.equal([]);
    expect(warningsOf(flat, { before: 0.5, after: 0.5, measured: [start, { ...movedMore, loss: 0.5 }], driftWeight: 0 }, 0, 0, 5), 'the drift weighing nothing: the plain warning').to.deep.equal([
      'no step did better on the held-out strokes than the model as it was: that model is kept',
    ]);
  });

  it("the recipe: 'strokes' fills in what is left out from the share painted, 'plain' needs steps, crop and lr; settings out of range are refused by name", () => {
    const few = teachSettings({}, { paintedShare: 0.001, networkSide: 257, images: 1 });
    expect(few).to.deep.include({ recipe: 'strokes', balance: STROKES_RECIPE.balance, crop: 257, batch: STROKES_RECIPE.batch, scale: STROKES_RECIPE.scale, freezeBackbone: true, sampleSize: 'network', cropAt: 'strokes', holdOut: STROKES_RECIPE.holdOut, keep: 'least-loss', freezeBn: true, flip: true });
    expect([few.steps, few.lr, few.distill], 'a few clicks: the least steps and learning rate, the most distillation').to.deep.equal([STROKES_RECIPE.least.steps, STROKES_RECIPE.least.lr, STROKES_RECIPE.distill.most]);
    expect(teachSettings({}, { paintedShare: STROKES_RECIPE.few.share, networkSide: 257, images: 1 }).lr, "at few's share, few's rate").to.equal(STROKES_RECIPE.few.lr);
    const many = teachSettings({}, { paintedShare: 0.9, networkSide: 513, images: 1 });
    expect([many.steps, many.lr, many.distill], 'much painted: the most steps and learning rate, the least distillation').to.deep.equal([STROKES_RECIPE.many.steps, STROKES_RECIPE.many.lr, STROKES_RECIPE.distill.least]);
    const { share: at } = STROKES_RECIPE.distill;
    expect(teachSettings({}, { paintedShare: at / 9, networkSide: 257, images: 1 }).distill, 'between them, the root of the shares: a ninth of the share distils 3x').to.equal(3);
    expect(teachSettings({}, { paintedShare: STROKES_RECIPE.keepByMiou, networkSide: 257, images: 1 }).keep, "from keepByMiou's share up, the step whose held-out mIoU is best").to.equal('best');
    expect(teachSettings({}, { paintedShare: STROKES_RECIPE.keepByMiou * 0.99, networkSide: 257, images: 1 }).keep, 'below it, the least held-out loss').to.equal('least-loss');
    expect(teachSettings({ keep: 'best' }, { paintedShare: 0.001, networkSide: 257, images: 1 }).keep, "the caller's keep as given").to.equal('best');
    expect(teachSettings({}, { paintedShare: 0.001, networkSide: 257, images: 1, paintsNew: true }).keep, 'a new class painted: by mIoU whatever is painted').to.equal('best');
    const alone = (share: number): number => teachSettings({}, { paintedShare: share, networkSide: 257, images: 1 }).steps;
    const three = (share: number): number => teachSettings({}, { paintedShare: share, networkSide: 257, images: 3 }).steps;
    expect(three(0.2), "three images with few or more painted: each seen as often as one taught alone").to.equal(3 * alone(0.2));
    expect(three(STROKES_RECIPE.few.share), "at few's share, already the steps times the images").to.equal(3 * alone(STROKES_RECIPE.few.share));
    expect(three(STROKES_RECIPE.least.share), "at least's share (clicks) one image's steps").to.equal(alone(STROKES_RECIPE.least.share));
    const mid = Math.sqrt(STROKES_RECIPE.least.share * STROKES_RECIPE.few.share);
    expect(three(mid), 'half way on the log scale: twice').to.equal(2 * alone(mid));
    expect(teachSettings({ steps: 7 }, { paintedShare: 0.2, networkSide: 257, images: 3 }).steps, "the caller's steps as given").to.equal(7);
    expect(teachSettings({}, { paintedShare: 0.1, networkSide: 65, images: 1 }).crop, 'the whole image as the network sees it').to.equal(65);
    expect(teachSettings({}, { paintedShare: 0.1, networkSide: 2049, images: 1 }).crop, 'up to the largest crop').to.equal(STROKES_RECIPE.maxCrop);
    expect(teachSettings({ lr: 0.5, steps: 3, crop: 17, holdOut: 0, distill: 0.25 }, { paintedShare: 0.1, networkSide: 257, images: 1 })).to.deep.include({ lr: 0.5, steps: 3, crop: 17, holdOut: 0, distill: 0.25 });
    const plain = teachSettings({ recipe: 'plain', steps: 4, crop: 33, lr: 0.01 }, { paintedShare: 0.1, networkSide: 257, images: 1 });
    expect(plain).to.deep.include({ batch: 1, scale: [0.5, 2.0], freezeBackbone: false, sampleSize: 'image', cropAt: 'anywhere', distill: 0, balance: 0, holdOut: 0, keep: 'last' });
    const facts = { paintedShare: 0.1, networkSide: 257, images: 1 };
    expectThrows(() => teachSettings({ recipe: 'plain', crop: 33 }, facts), "fineTune: recipe 'plain' takes its steps, lr from the caller: give steps and lr");
    expectThrows(() => teachSettings({ recipe: 'fancy' as never }, facts), `fineTune: recipe must be 'strokes' or 'plain', got "fancy"`);
    expectThrows(() => teachSettings({ holdOut: 1 }, facts), 'fineTune: holdOut must be a share in [0, 1), got 1');
    expectThrows(() => teachSettings({ distill: -1 }, facts), 'fineTune: distill must be a non-negative weight, got -1');
    expectThrows(() => teachSettings({ evalEvery: 0 }, facts), 'fineTune: evalEvery must be a positive whole number of steps, got 0');
    expectThrows(() => teachSettings({ keep: 'first' as never }, facts), `fineTune: keep must be 'best' or 'least-loss' or 'last', got "first"`);
    expectThrows(() => teachSettings({ cropAt: 'centre' as never }, facts), `fineTune: cropAt must be 'strokes' or 'anywhere', got "centre"`);
    expectThrows(() => teachSettings({ freezeBn: false }, facts), /^fineTune: holdOut measures the held-out strokes with the training pass, which updates the batch-norm statistics when freezeBn is false/);
    expect(teachSettings({ freezeBn: false, holdOut: 0 }, facts).freezeBn).to.equal(false);
  });
});
