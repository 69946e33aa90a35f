// segment() on mmseg models does what mmseg's inferencer does: the keep-ratio resize (OpenCV's
// bilinear), mean/std on 0..255, the whole image or mmseg's sliding windows (logits averaged over
// the windows covering each pixel), the logits resized back with the network's align_corners.
// Each is checked against the pipeline written out here step by step on the same network. Also:
// the test pipeline survives our checkpoint format, the ONNX export runs in onnxruntime, and a
// registry model that cannot be downloaded names the address to fetch it from.
import { expect } from 'chai';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { normalizeMeanStd255, resizeRgbBilinear } from '../../src/io/mmseg-input.js';
import type { RgbImage } from '../../src/io/rgb-image.js';
import { resizeBilinearCpu } from '../../src/kernels/resize/resize.js';
import { type LoadedWeights, loadWeights } from '../../src/model/loading/load-weights.js';
import { findModel } from '../../src/model/loading/registry.js';
import { resolveWeights } from '../../src/model/loading/weights-store.js';
import { DeepLabModel } from '../../src/model/model.js';
import { exportOnnx } from '../../src/model/onnx-export.js';
import { windowStarts } from '../../src/model/tiling.js';
import { type FineTuneStep, fineTune } from '../../src/train/fine-tune.js';
import { expectClose, expectRejects, randomRgbImage, relativeError, testContext, expectThrows } from '../helpers.js';
import { type Saved, savedTensor, torchSaveZip } from '../import/torch-save.js';
import { runOnnx, runOursNchw } from '../onnx-runtime.js';
import { permuteAxes } from '../../src/graph/onnx/lower.js';
import { NHWC_TO_NCHW } from '../onnx-runtime.js';
import { prngStateDict, readManifest } from './mmseg-prng.js';
import { setFlags } from '../../src/util/flags.js';

/** mmseg's slide_inference grid along one axis: window starts for a length, crop and stride. */
function mmsegStarts(length: number, crop: number, stride: number): number[] {
  const grids = Math.floor(Math.max(length - crop + stride - 1, 0) / stride) + 1;
  return Array.from({ length: grids }, (_, i) => {
    const end = Math.min(i * stride + crop, length);
    return Math.max(end - crop, 0);
  });
}

/** Softmax over the last axis of [pixels, C], in float64. */
function softmax(v: ArrayLike<number>, C: number): Float64Array {
  const out = new Float64Array(v.length);
  for (let p = 0; p < v.length; p += C) {
    let max = -Infinity;
    for (let c = 0; c < C; c++) max = Math.max(max, v[p + c]);
    let sum = 0;
    for (let c = 0; c < C; c++) sum += Math.exp(v[p + c] - max);
    for (let c = 0; c < C; c++) out[p + c] = Math.exp(v[p + c] - max) / sum;
  }
  return out;
}

/** Classes equal wherever the reference's best class leads the runner-up by more than `margin`. */
function expectSameClasses(ours: Uint8Array, probs: Float64Array, C: number, what: string, margin = 1e-4): void {
  let compared = 0;
  for (let p = 0; p < ours.length; p++) {
    const row = Array.from(probs.subarray(p * C, (p + 1) * C));
    const sorted = [...row].sort((a, b) => b - a);
    if (sorted[0] - sorted[1] <= margin) continue;
    compared++;
    expect(ours[p], `${what}: pixel ${p}`).to.equal(row.indexOf(sorted[0]));
  }
  expect(compared, `${what}: pixels with a clear winner`).to.be.greaterThan(ours.length * 0.9);
}

describe('mmseg models: segment() as mmseg infers', function () {
  this.timeout(600_000);
  let dir: string;
  let weights: LoadedWeights;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mmseg-segment-'));
    const state = prngStateDict(readManifest('manifest_r18-d8_c19.json'));
    const dict = new Map<string, Saved>();
    for (const [name, t] of state) dict.set(name, name.endsWith('num_batches_tracked') ? savedTensor([], BigInt64Array.of(40000n)) : savedTensor(t.shape, t.data));
    // A 769x769 Cityscapes model: slides, aligns corners. Small test scale and windows keep it quick.
    const path = join(dir, 'deeplabv3_r18-d8_769x769_80k_cityscapes.pth');
    writeFileSync(path, torchSaveZip(new Map<string, Saved>([['meta', new Map()], ['state_dict', dict]])));
    weights = { ...(await loadWeights(path, { testScale: [96, 60] })), slide: { crop: 33, stride: 22 } };
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("our windows are mmseg's slide grid for every length", () => {
    for (const [crop, stride] of [[769, 513], [480, 320], [33, 22], [512, 341]]) {
      for (let length = 1; length <= 2600; length += length < 100 ? 1 : 7) {
        expect(windowStarts(length, crop, 0, stride), `${length} px, crop ${crop}, stride ${stride}`).to.deep.equal(mmsegStarts(length, crop, stride));
      }
    }
    expectThrows(() => windowStarts(100, 33, 0, 34), 'windowStarts: stride must be a whole number of pixels from 1 to the tile (33), got 34');
    expectThrows(() => windowStarts(100, 33, 0, 0), /stride must be a whole number/);
  });

  it('OpenCV-style resize: half-pixel bilinear without antialiasing, within a grey level of the float computation', () => {
    const img = randomRgbImage(37, 23, 5);
    for (const [w, h] of [[60, 41], [17, 11], [37, 23]] as const) {
      const ours = resizeRgbBilinear(img, w, h);
      const exact = resizeBilinearCpu(Float64Array.from(img.data), [1, img.height, img.width, 3], { outH: h, outW: w, mode: 'half_pixel' });
      let worst = 0;
      for (let i = 0; i < exact.length; i++) worst = Math.max(worst, Math.abs(ours.data[i] - exact[i]));
      expect(worst, `${w}x${h}`).to.be.at.most(1);
    }
  });

  /** The network's logits for an image already at the network's size (NHWC). */
  async function logitsOf(model: DeepLabModel, img: RgbImage): Promise<Float32Array> {
    return model.forwardToHost(normalizeMeanStd255(img), img.height, img.width);
  }

  it('slide: the windows of the resized image, their logits averaged, resized back with align_corners', async () => {
    const model = await DeepLabModel.fromWeights(weights, { ctx: await testContext() });
    try {
      expect(model.config.resizeMode).to.equal('align_corners');
      const img = randomRgbImage(80, 50, 11);
      // mmseg's pipeline, step by step: keep-ratio resize to fit 96x60 (factor 1.2: 96x60).
      const [h, w] = model.networkSize(img.width, img.height);
      expect([h, w]).to.deep.equal([60, 96]);
      const resized = resizeRgbBilinear(img, w, h);
      const C = model.numClasses;
      const sum = new Float64Array(h * w * C);
      const count = new Float64Array(h * w);
      let windows = 0;
      for (const y0 of mmsegStarts(h, 33, 22)) {
        for (const x0 of mmsegStarts(w, 33, 22)) {
          const crop: RgbImage = { width: 33, height: 33, data: new Uint8Array(33 * 33 * 3) };
          for (let y = 0; y < 33; y++) crop.data.set(resized.data.subarray(((y0 + y) * w + x0) * 3, ((y0 + y) * w + x0 + 33) * 3), y * 33 * 3);
          const logits = await logitsOf(model, crop);
          for (let y = 0; y < 33; y++)
            for (let x = 0; x < 33; x++) {
              count[(y0 + y) * w + x0 + x]++;
              for (let c = 0; c < C; c++) sum[((y0 + y) * w + x0 + x) * C + c] += logits[(y * 33 + x) * C + c];
            }
          windows++;
        }
      }
      expect(windows).to.equal(4 * 3);
      const averaged = sum.map((v, i) => v / count[Math.floor(i / C)]);
      const back = resizeBilinearCpu(averaged, [1, h, w, C], { outH: img.height, outW: img.width, mode: 'align_corners' });
      const reference = softmax(back, C);

      let progress = 0;
      const result = await model.segment(img, { include: ['probabilities'], onTileProgress: (done) => (progress = done) });
      expect(progress, 'windows reported').to.equal(12);
      console.log(`      slide probabilities: relative error ${relativeError(result.probabilities!, reference).toExponential(2)}`);
      expectClose(result.probabilities!, reference, 'slide probabilities');
      expectSameClasses(result.classes, reference, C, 'slide classes');
      // slide: false is the whole resized image through the network at once: other numbers.
      const whole = await model.segment(img, { include: ['probabilities'], slide: false });
      expect(relativeError(whole.probabilities!, reference)).to.be.greaterThan(1e-3);
      await expectRejects(model.segment(img, { include: ['logits'] }), /averages the logits of sliding windows; ask for probabilities, or pass slide: false/);
    } finally {
      model.dispose();
    }
  });

  it('whole: the keep-ratio resize, mean/std on 0..255, the logits resized back with the network\'s mode', async () => {
    for (const mode of ['half_pixel', 'align_corners'] as const) {
      const w0: LoadedWeights = { ...weights, slide: undefined, config: { ...weights.config, resizeMode: mode } };
      const model = await DeepLabModel.fromWeights(w0, { ctx: await testContext() });
      try {
        const img = randomRgbImage(70, 44, 3);
        const [h, w] = model.networkSize(img.width, img.height);
        // f = min(96/70, 60/44) = 1.3636..: int(70 f + 0.5) x int(44 f + 0.5) = 95 x 60.
        expect([h, w]).to.deep.equal([60, 95]);
        const logits = await logitsOf(model, resizeRgbBilinear(img, w, h));
        const back = resizeBilinearCpu(Float64Array.from(logits), [1, h, w, model.numClasses], { outH: img.height, outW: img.width, mode });
        const reference = softmax(back, model.numClasses);
        const result = await model.segment(img, { include: ['probabilities'] });
        expectClose(result.probabilities!, reference, `whole probabilities (${mode})`);
        expectSameClasses(result.classes, reference, model.numClasses, `whole classes (${mode})`);
      } finally {
        model.dispose();
      }
    }
  });

  it('our checkpoint keeps the test pipeline: keep-ratio scale, sliding windows, align corners, classes', async () => {
    const model = await DeepLabModel.fromWeights(weights, { ctx: await testContext() });
    try {
      const path = join(dir, 'saved.safetensors');
      await model.save(path);
      const back = await loadWeights(path);
      expect(back.inputPolicy).to.deep.equal({ kind: 'keep-ratio', long: 96, short: 60 });
      expect(back.slide).to.deep.equal({ crop: 33, stride: 22 });
      expect(back.config).to.deep.include({ head: 'mmseg', stem: 'v1c', backbone: 'resnet18', resizeMode: 'align_corners', dilationConvention: 'mmseg' });
      expect(back.classes).to.deep.equal(weights.classes);
      for (const [k, t] of weights.params) expect(relativeError(back.params.get(k)!.data, t.data), k).to.equal(0);
    } finally {
      model.dispose();
    }
  });

  it('ONNX export: onnxruntime runs the mmseg network to our logits', async () => {
    const height = 33;
    const width = 41;
    const path = join(dir, 'mmseg.onnx');
    exportOnnx(path, weights, { height, width, source: 'test' });
    const nhwc = normalizeMeanStd255(randomRgbImage(width, height, 7));
    const image = permuteAxes(nhwc, [1, height, width, 3], NHWC_TO_NCHW);
    const ort = (await runOnnx(readFileSync(path), { image })).get('logits')!;
    const ours = runOursNchw(weights.buildGraph({ height, width }), weights.params, image).get('logits')!;
    expect(ort.dims).to.deep.equal([1, 19, height, width]);
    console.log(`      onnxruntime vs ours: relative error ${relativeError(ort.data, ours.data).toExponential(2)}`);
    expectClose(ort.data, ours.data, 'mmseg logits');
  });

  it('fine-tuning: a new 3-class head learns one crop, the loss falls, the result segments with the new classes', async () => {
    const model = await DeepLabModel.fromWeights({ ...weights, slide: undefined }, { ctx: await testContext() });
    try {
      const image = randomRgbImage(33, 33, 21);
      // Three bands, every pixel labelled.
      const labels = Uint8Array.from({ length: 33 * 33 }, (_, p) => Math.min(2, Math.floor((p % 33) / 11)));
      const steps: FineTuneStep[] = [];
      const tuned = await fineTune(model, [{ image, labels }], { recipe: 'plain', steps: 12, crop: 33, lr: 0.01, classes: ['left', 'middle', 'right'], scale: [1, 1], flip: false, seed: 5, onStep: (r) => void steps.push(r) });
      try {
        expect(steps.length).to.equal(12);
        console.log(`      loss ${steps[0].loss.toFixed(3)} -> ${steps[11].loss.toFixed(3)}`);
        expect(steps[11].loss, 'the last loss below the first').to.be.lessThan(steps[0].loss * 0.9);
        expect(tuned.classNames).to.deep.equal(['left', 'middle', 'right']);
        expect(tuned.config).to.deep.include({ head: 'mmseg', stem: 'v1c', numClasses: 3 });
        expect((await tuned.segment(image)).classes.length).to.equal(33 * 33);
      } finally {
        tuned.dispose();
      }
    } finally {
      model.dispose();
    }
  });

  it('a registry model that cannot be downloaded names the address to fetch and where to put it', async () => {
    const entry = findModel('mmseg-r50-d8-cityscapes-512x1024');
    const cache = mkdtempSync(join(tmpdir(), 'mmseg-cache-'));
    const savedFetch = globalThis.fetch;
    // Offline: fetch fails as Node's does without a network.
    globalThis.fetch = (() => Promise.reject(new TypeError('fetch failed', { cause: new Error('getaddrinfo ENOTFOUND download.openmmlab.com') }))) as typeof fetch;
    const restoreFlags = setFlags({ DEEPLAB_CACHE_DIR: cache, DEEPLAB_WEIGHTS_DIR: undefined });
    try {
      const e = await expectRejects(resolveWeights(entry), `download of ${entry.url} failed`);
      expect(e.message).to.include('ENOTFOUND');
      expect(e.message).to.include(`named ${entry.fileName}`);
      await expectRejects(resolveWeights(entry, { download: false }), `download it from ${entry.url}`);
    } finally {
      globalThis.fetch = savedFetch;
      restoreFlags();
      rmSync(cache, { recursive: true, force: true });
    }
  });
});
