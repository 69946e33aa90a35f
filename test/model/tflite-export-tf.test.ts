// TF Lite exports run by TF's own interpreter (tf.lite.Interpreter, XNNPACK, one thread, through
// scripts/tflite/tflite_run.py --serve: one Python process for the file, so TF's import is paid
// once): the float32 file of each DeepLab family gives the logits our forwardToHost gives on the
// same input (relative error < 1e-5, the same class on >= 99.99 % of pixels), the float16 file
// within 1e-2 (>= 99.9 %). The real TF MobileNetV2 at 257 and 513 runs on VOC photos; the
// fixtures on random inputs. Needs a Python with tensorflow (DEEPLAB_TF_PYTHON, default python3);
// skipped, saying why, where it has none.
import { expect } from 'chai';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readImage } from '../../src/io/image.js';
import { resizeRgbPil } from '../../src/io/resize-cpu.js';
import { loadWeights } from '../../src/model/loading/load-weights.js';
import { loadModel } from '../../src/model/model.js';
import { type TflitePrecision, exportTflite } from '../../src/model/tflite-export.js';
import { calibrationInputs } from '../../src/model/tflite-int8.js';
import { relativeError } from '../../src/util/relative-error.js';
import { fineTune } from '../../src/train/fine-tune.js';
import { TINY_SIZE, TINY_WEIGHTS, writeTinyCheckpoint } from '../browser/tiny-checkpoint.js';
import { messages, runCli } from '../cli/run-cli.js';
import { expectRejects, randomArray, randomRgbImage, rng, testContext } from '../helpers.js';
import { sharedPath } from '../shared.js';
import { TF_MNV2_257, TF_MNV2_513, TORCHVISION_RESNET50, writeMmsegV3plus, writeSmp, writeXception } from './tflite-fixtures.js';
import { type TfInput, TfProcess, tfRuns } from './tflite-tf.js';

const VOC = sharedPath('data', 'voc-sample');
const PHOTO = sharedPath('data', 'voc-sample', 'JPEGImages', '2007_000033.jpg');
/** Three of the sample's photos, none of the five the int8 file is calibrated on (the val split's first). */
const PHOTOS = ['2007_000032.jpg', 'voc12val_0120.png', 'voc12val_0294.png'].map((f) => sharedPath('data', 'voc-sample', 'JPEGImages', f));

/** Each pixel's class in an NHWC map of `classes` channels. */
function argmaxOf(logits: ArrayLike<number>, classes: number): Uint8Array {
  const out = new Uint8Array(logits.length / classes);
  for (let p = 0; p < out.length; p++) {
    let best = 0;
    for (let c = 1; c < classes; c++) if (logits[p * classes + c] > logits[p * classes + best]) best = c;
    out[p] = best;
  }
  return out;
}

/**
 * The share of pixels whose class (largest channel) in `theirs` is the class of `ours`, among
 * the pixels where our two largest logits lie more than `tie` (a fraction of our logits' RMS)
 * apart. A near-tie flips under any rounding, and a random input puts some on every run; a
 * difference where our margin is clear is an error the relative error alone could hide.
 */
function labelAgreement(theirs: Float32Array, ours: Float32Array, classes: number, tie: number): { share: number; clear: number } {
  let squares = 0;
  for (const v of ours) squares += v * v;
  const margin = tie * Math.sqrt(squares / ours.length);
  let same = 0;
  let clear = 0;
  for (let p = 0; p < ours.length / classes; p++) {
    const at = p * classes;
    let first = 0;
    let second = -1;
    let their = 0;
    for (let c = 1; c < classes; c++) {
      if (theirs[at + c] > theirs[at + their]) their = c;
      if (ours[at + c] > ours[at + first]) [second, first] = [first, c];
      else if (second < 0 || ours[at + c] > ours[at + second]) second = c;
    }
    if (ours[at + first] - ours[at + second] <= margin) continue;
    clear++;
    if (their === first) same++;
  }
  return { share: clear ? same / clear : 1, clear };
}

/**
 * Per precision: the logits' relative error, the share of pixels of the same class, and the
 * margin (of our logits' RMS) under which our top two count as tied. A class can flip only
 * where the margin is under twice the largest difference of one logit: seen up to 2.2e-5 of the
 * RMS in float32 and 2.1e-2 in float16, so the ties (1e-3, 0.1) leave out every pixel rounding
 * can flip, and a difference on any other pixel is a fault.
 */
const BOUNDS: Record<TflitePrecision, { error: number; agreement: number; tie: number }> = {
  float32: { error: 1e-5, agreement: 0.9999, tie: 1e-3 },
  float16: { error: 1e-2, agreement: 0.999, tie: 0.1 },
  int8: { error: Infinity, agreement: 0, tie: 0 },
};

describe('TF Lite export: TF\'s interpreter runs the files and gives our logits @slow', function () {
  this.timeout(900_000);
  let tfProcess: TfProcess | undefined;
  let dir = '';
  before(async function () {
    const started = await TfProcess.start();
    if ('why' in started) {
      console.log(`      skipped: ${started.why}`);
      this.skip();
    }
    tfProcess = started;
    dir = mkdtempSync(join(tmpdir(), 'tflite-tf-'));
  });
  after(async () => {
    await tfProcess?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** One model to check: exported at `size` (its crop where null) in each precision, run on `input` (random where none is given). */
  interface Case {
    name: string;
    path: string;
    size: [number, number] | null;
    precisions: TflitePrecision[];
    input?: Float32Array;
    /** The float32 file `deeplab export` wrote, checked in place of the library's. */
    written?: string;
  }

  /** Exports each case, runs TF on all the files in one process, and checks the bounds against forwardToHost. */
  async function check(...cases: Case[]): Promise<void> {
    const runs: { name: string; precision: TflitePrecision; classes: number; size: [number, number]; ours: Float32Array; run: TfInput }[] = [];
    for (const { name, path, size, precisions, input, written } of cases) {
      const w = await loadWeights(path);
      const model = await loadModel(path, { ctx: await testContext() });
      try {
        const [height, width] = size ?? [w.slide?.crop ?? 65, w.slide?.crop ?? 65];
        const x = input ?? randomArray(height * width * 3, -1, 1, rng());
        const ours = await model.forwardToHost(x, height, width);
        for (const precision of precisions) {
          const file = precision === 'float32' && written ? written : join(dir, `${name}-${precision}.tflite`);
          if (file !== written) exportTflite(file, w, { height, width, precision });
          runs.push({ name, precision, classes: w.config.numClasses, size: [height, width], ours, run: { model: file, input: x, shape: [1, height, width, 3] } });
        }
      } finally {
        model.dispose();
      }
    }
    const results = await tfRuns(tfProcess!, dir, runs.map((r) => r.run));
    for (const [i, { name, precision, classes, size, ours }] of runs.entries()) {
      const tf = results[i];
      // forwardToHost's output: the logits at the input's size (an imported file's own output, at its own size).
      expect(tf.shape.length, `${name} ${precision}: NHWC`).to.equal(4);
      expect(tf.shape.reduce((a, b) => a * b, 1), `${name} ${precision}: the output is forwardToHost's`).to.equal(ours.length);
      expect(tf.shape[3], `${name} ${precision}: a channel per class`).to.equal(classes);
      if (!name.startsWith('segformer')) expect(tf.shape.slice(1, 3), `${name}: at the input's size`).to.deep.equal(size);
      const err = relativeError(tf.output, ours);
      const { error, agreement, tie } = BOUNDS[precision];
      const { share, clear } = labelAgreement(tf.output, ours, classes, tie);
      const pixels = ours.length / classes;
      console.log(`      (${name} ${precision}: relative error ${err.toExponential(2)}, labels ${(100 * share).toFixed(3)} % of the ${clear} of ${pixels} pixels not tied)`);
      expect(err, `${name} ${precision}: TF's logits against forwardToHost's`).to.be.below(error);
      expect(clear, `${name} ${precision}: pixels not tied (the agreement means something)`).to.be.at.least(0.75 * pixels);
      expect(share, `${name} ${precision}: labels where ours are not tied`).to.be.at.least(agreement);
    }
  }

  it('TF MobileNetV2 257 (the real weights) on a VOC photo: float32 and float16', async () => {
    const w = await loadWeights(TF_MNV2_257);
    const [x] = calibrationInputs(w, [await readImage(PHOTO)], 257, 257);
    await check({ name: 'mnv2-257', path: TF_MNV2_257, size: [257, 257], precisions: ['float32', 'float16'], input: x });
  });

  it('TF MobileNetV2 513 (the real weights) on a VOC photo: float32 and float16 @extended', async () => {
    const w = await loadWeights(TF_MNV2_513);
    const [x] = calibrationInputs(w, [await readImage(PHOTO)], 513, 513);
    await check({ name: 'mnv2-513', path: TF_MNV2_513, size: [513, 513], precisions: ['float32', 'float16'], input: x });
  });

  it("torchvision's DeepLabv3-ResNet-50 and the Xception-65 DeepLabv3+ fixtures: float32 @extended", async () => {
    await check(
      { name: 'torchvision-resnet50', path: TORCHVISION_RESNET50, size: [49, 65], precisions: ['float32'] },
      { name: 'xception65-v3plus', path: writeXception(dir), size: [65, 65], precisions: ['float32'] },
    );
  });

  it('mmseg DeepLabv3+ ResNet-18 and smp DeepLabV3+ (ResNet-18, EfficientNet-B0) fixtures: float32', async () => {
    await check(
      { name: 'mmseg-v3plus-r18', path: writeMmsegV3plus(dir), size: [49, 65], precisions: ['float32'] },
      { name: 'smp-tu-resnet18', path: writeSmp('deeplabv3plus-tu-resnet18'), size: [64, 64], precisions: ['float32', 'float16'] },
      { name: 'smp-efficientnet-b0', path: writeSmp('deeplabv3plus-efficientnet-b0'), size: [64, 64], precisions: ['float32'] },
    );
  });

  it('transformer families where builtins express them (BATCH_MATMUL, SOFTMAX, layer and group norm as their arithmetic): MobileViT, MobileViTV2 and a SegFormer folder: float32', async () => {
    await check(
      { name: 'mobilevit-xx-small', path: sharedPath('fixtures', 'hf', 'deeplabv3-mobilevit-xx-small'), size: [64, 64], precisions: ['float32'] },
      { name: 'mobilevitv2-0.5', path: sharedPath('fixtures', 'hf', 'mobilevitv2-0.5-deeplabv3'), size: [64, 64], precisions: ['float32'] },
      { name: 'segformer', path: 'test/fixtures/hub-onnx/segformer-dynamo', size: [64, 64], precisions: ['float32'] },
    );
  });

  it('int8 of TF MobileNetV2 257, by `deeplab export --precision int8 --calibrate` on five VOC images: TF runs it; its classes are our reader\'s on >= 99.5 % of pixels of three photos and float32\'s on >= 99 %; the file is <= 0.3x float32\'s; --int8-io takes the pixels as they are', async () => {
    const [float, int8, io] = ['float32', 'int8', 'int8-io'].map((p) => join(dir, `mnv2-257-${p}.tflite`));
    const common = ['export', '--model', TF_MNV2_257, '--format', 'tflite', '--size', '257'];
    const calibrate = ['--precision', 'int8', '--calibrate', VOC, '--calibrate-count', '5'];
    // The --int8-io file calibrated on two images: its edges are what it checks, and calibration is the export's slow part.
    for (const [out, extra] of [[float, []], [int8, calibrate], [io, [...calibrate.slice(0, -1), '2', '--int8-io']]] as const) {
      const r = await runCli([...common, ...extra, '--out', out]);
      expect(r.code, messages(r.stderr)).to.equal(0);
    }
    expect(statSync(int8).size / statSync(float).size).to.be.at.most(0.3);
    const w = await loadWeights(TF_MNV2_257);
    const ours = await loadModel(int8, { ctx: await testContext() });
    try {
      const photos = await Promise.all(PHOTOS.map((p) => readImage(p)));
      const inputs = calibrationInputs(w, photos, 257, 257);
      let [withOurs, withFloat, ioWithFloat, pixels] = [0, 0, 0, 0];
      // Each photo through the int8, float32 and --int8-io files (the photo's bytes, resized to the
      // input, as they are), in one TF process.
      const shape = [1, 257, 257, 3];
      const tfs = await tfRuns(
        tfProcess!,
        dir,
        inputs.flatMap((x, i) => [
          { model: int8, input: x, shape },
          { model: float, input: x, shape },
          { model: io, input: resizeRgbPil(photos[i], 257, 257).data, shape },
        ]),
      );
      for (const [i, x] of inputs.entries()) {
        const [tfInt8, tfFloat] = [tfs[3 * i].output, tfs[3 * i + 1].output].map((o) => argmaxOf(o, 21));
        const oursInt8 = argmaxOf(await ours.forwardToHost(x, 257, 257), 21);
        const tfIo = tfs[3 * i + 2];
        expect([tfIo.info.input.dtype, tfIo.info.output.dtype]).to.deep.equal(['uint8', 'int8']);
        const ioClasses = argmaxOf(tfIo.output, 21);
        for (let p = 0; p < tfInt8.length; p++) {
          withOurs += tfInt8[p] === oursInt8[p] ? 1 : 0;
          withFloat += tfInt8[p] === tfFloat[p] ? 1 : 0;
          ioWithFloat += ioClasses[p] === tfFloat[p] ? 1 : 0;
        }
        pixels += tfInt8.length;
      }
      console.log(`      (int8: TF's classes as our reader's ${((100 * withOurs) / pixels).toFixed(2)} %, as float32's ${((100 * withFloat) / pixels).toFixed(2)} %; --int8-io as float32's ${((100 * ioWithFloat) / pixels).toFixed(2)} %)`);
      expect(withOurs / pixels, "TF's int8 classes against our reader's").to.be.at.least(0.995);
      expect(withFloat / pixels, "TF's int8 classes against its float32 classes").to.be.at.least(0.99);
      expect(ioWithFloat / pixels, "--int8-io's classes against float32's").to.be.at.least(0.98);
    } finally {
      ours.dispose();
    }
  });

  it('a model fine-tuned with fineTune, exported by `deeplab export --format tflite`: TF gives its logits', async () => {
    const start = join(dir, TINY_WEIGHTS);
    writeTinyCheckpoint(start);
    const model = await loadModel(start, { ctx: await testContext() });
    const image = randomRgbImage(TINY_SIZE, TINY_SIZE, 3);
    const labels = Uint8Array.from({ length: TINY_SIZE * TINY_SIZE }, (_, p) => (p % TINY_SIZE < TINY_SIZE / 2 ? 0 : 15));
    const tuned = await fineTune(model, [{ image, labels }], { steps: 2, crop: TINY_SIZE, lr: 0.01, seed: 1 });
    model.dispose();
    const kept = join(dir, 'tuned.safetensors');
    try {
      await tuned.save(kept);
    } finally {
      tuned.dispose();
    }
    const file = join(dir, 'tuned.tflite');
    const r = await runCli(['export', '--model', kept, '--format', 'tflite', '--size', String(TINY_SIZE), '--out', file]);
    expect(r.code, messages(r.stderr)).to.equal(0);
    expect(existsSync(file)).to.equal(true);
    await check({ name: 'fine-tuned', path: kept, size: [TINY_SIZE, TINY_SIZE], precisions: ['float32'], written: file });
  });

  it("a run TF refuses (a uint8 input to a float32 file) fails saying why, with the process's stderr; the process runs the next", async () => {
    const weights = join(dir, 'refused.safetensors');
    writeTinyCheckpoint(weights);
    const w = await loadWeights(weights);
    const file = join(dir, 'refused.tflite');
    exportTflite(file, w, { height: TINY_SIZE, width: TINY_SIZE, precision: 'float32' });
    const shape = [1, TINY_SIZE, TINY_SIZE, 3];
    const refused = tfRuns(tfProcess!, dir, [{ model: file, input: new Uint8Array(TINY_SIZE * TINY_SIZE * 3), shape }]);
    const e = await expectRejects(refused, /is uint8, the model's input is .*float32/, 'a uint8 input');
    expect(e.message, "stderr's tail: the traceback's last line").to.match(/SystemExit: .* is uint8/);
    const [next] = await tfRuns(tfProcess!, dir, [{ model: file, input: randomArray(TINY_SIZE * TINY_SIZE * 3, -1, 1, rng()), shape }]);
    expect(next.shape).to.deep.equal([1, TINY_SIZE, TINY_SIZE, w.config.numClasses]);
  });
});

describe("TF Lite export: TF's interpreter process", () => {
  it('a Python that cannot be started: why, for the TF tests to skip saying so', async () => {
    expect(await TfProcess.start('/nonexistent/python3')).to.deep.equal({
      why: '/nonexistent/python3 cannot import tensorflow (spawn /nonexistent/python3 ENOENT); set DEEPLAB_TF_PYTHON to a Python with tensorflow-cpu',
    });
  });
});
