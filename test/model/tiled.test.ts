// Sliding-window inference end to end: the driver with stand-in logits against the CPU blend
// of the same windows, and a real (small) model's tiled segment() against its whole-image run
// and against the CPU blend of its own windows.
import { expect } from 'chai';
import { GpuError } from '../../src/gpu/context.js';
import type { GpuContext } from '../../src/gpu/context.js';
import { type GpuTensor, uploadTensor } from '../../src/gpu/tensor.js';
import type { Graph } from '../../src/graph/ir.js';
import { Program } from '../../src/graph/program.js';
import { readImage } from '../../src/io/image.js';
import { resizeRgbPil } from '../../src/io/resize-cpu.js';
import { type RgbImage, cropRgb } from '../../src/io/rgb-image.js';
import { resizeBilinearCpu } from '../../src/kernels/resize/resize.js';
import { softmaxCpu } from '../../src/kernels/softmax/softmax.js';
import { type Segmenter, evaluateVoc } from '../../src/eval/voc.js';
import { type DeepLabModel, type SegmentOptions, type SegmentResult, loadModel } from '../../src/model/model.js';
import type { PostLogits } from '../../src/model/post-logits.js';
import { type TileHost, segmentTiled } from '../../src/model/tiled.js';
import type { DeviceProgram, DeviceTensors } from '../../src/model/devices/device.js';
import { GpuProgram } from '../../src/model/devices/webgpu/gpu-program.js';
import { gpuTensors } from '../../src/model/devices/webgpu/gpu-tensors.js';
import { type TilePlan, axisWeights, blendWindowsCpu, planTiles } from '../../src/model/tiling.js';
import { FP32_TOLERANCE, expectClose, expectRejects, randomArray, randomRgbImage, relativeError, testContext } from '../helpers.js';
import { sharedPath } from '../shared.js';

const VOC_IMAGE = sharedPath('data', 'voc-sample', 'JPEGImages', '2007_000033.jpg');
const MNV3_RANDOM = sharedPath('fixtures', 'torchvision', 'deeplabv3_mobilenet_v3_large_random.pth');

/** Buffers created and not destroyed, minus those idle in the reuse pool. */
function buffersInUse(ctx: GpuContext): number {
  return ctx.liveBufferCount - ctx.pool.idleCount;
}

/** Classes equal, except where the reference's two best probabilities are within float rounding. */
function expectClasses(got: Uint8Array, ref: Uint8Array, refProbs: Float32Array, C: number, what: string): void {
  let mismatches = 0;
  for (let i = 0; i < ref.length; i++) {
    if (got[i] === ref[i]) continue;
    const gap = Math.abs(refProbs[i * C + got[i]] - refProbs[i * C + ref[i]]);
    expect(gap, `${what}: pixel ${i}: class ${got[i]} vs ${ref[i]}`).to.be.lessThan(1e-5);
    mismatches++;
  }
  expect(mismatches, `${what}: near-ties`).to.be.lessThan(ref.length / 1000 + 1);
}

/**
 * A model stand-in: every forward pass returns fresh random logits at a fixed network size; it
 * records the windows it was given and the logits it returned, in order.
 */
class RandomLogitsHost implements TileHost {
  readonly crops: RgbImage[] = [];
  readonly logits: Float32Array[] = [];
  readonly batches: number[] = [];
  private readonly owned: (GpuTensor | Program)[] = [];
  readonly tensors: DeviceTensors;
  constructor(
    readonly ctx: GpuContext,
    readonly numClasses: number,
    private readonly net: [number, number],
    /** Forward passes of more windows fail as over the device's limits. */
    private readonly maxBatch = Infinity,
  ) {
    this.tensors = gpuTensors(ctx);
  }
  networkSize(): [number, number] {
    return this.net;
  }
  inputPadding(): null {
    return null;
  }
  postLogits(height: number, width: number): PostLogits {
    return { name: 'logits', height, width };
  }
  preprocess(img: RgbImage): { input: Float32Array; height: number; width: number } {
    this.crops.push(img);
    return { input: new Float32Array(this.net[0] * this.net[1] * 3), height: this.net[0], width: this.net[1] };
  }
  async forward(_input: Float32Array, height: number, width: number, batch: number): Promise<GpuTensor> {
    if (batch > this.maxBatch) {
      this.crops.splice(this.crops.length - batch, batch); // the driver retries these windows
      throw new GpuError(`a batch of ${batch} exceeds the test's limit`, 'limit');
    }
    const n = height * width * this.numClasses;
    const values = randomArray(batch * n, -4, 4);
    for (let k = 0; k < batch; k++) this.logits.push(values.slice(k * n, (k + 1) * n));
    this.batches.push(batch);
    const t = uploadTensor(this.ctx, values, [batch, height, width, this.numClasses], 'test logits');
    this.owned.push(t);
    return t;
  }
  async postProgram(_key: string, build: () => Graph): Promise<DeviceProgram> {
    const p = await Program.create(this.ctx, build(), new Map(), 'test post');
    this.owned.push(p);
    return new GpuProgram(p);
  }
  /** Each window's probabilities as segment() makes them: resized (half-pixel) to the window, softmax. */
  windowProbabilities(plan: TilePlan): Float32Array[] {
    const [h, w] = this.net;
    const C = this.numClasses;
    return this.logits.map((l) =>
      softmaxCpu(resizeBilinearCpu(l, [1, h, w, C], { outH: plan.windowHeight, outW: plan.windowWidth, mode: 'half_pixel' }), [1, plan.windowHeight, plan.windowWidth, C]),
    );
  }
  dispose(): void {
    for (const x of this.owned) x.dispose();
  }
}

/**
 * Tiled segment() against the CPU blend of each window segmented on its own (the model's
 * ordinary whole-image path on the window's pixels), at every batch size given; and a check
 * that this comparison can tell: the whole-image run and an unweighted blend are far off it.
 */
async function expectBlendOfWindows(model: DeepLabModel, img: RgbImage, tile: number, overlap: number, batchSizes: number[]): Promise<SegmentResult> {
  const plan = planTiles(img.width, img.height, tile, overlap);
  const C = model.numClasses;
  const windows: Float32Array[] = [];
  for (const win of plan.windows) {
    windows.push((await model.segment(cropRgb(img, win.x, win.y, plan.windowWidth, plan.windowHeight), { include: ['probabilities'] })).probabilities!);
  }
  const ref = blendWindowsCpu(plan, windows, C);
  let tiled: SegmentResult | undefined;
  for (const batchSize of batchSizes) {
    tiled = await model.segment(img, { tile, overlap, batchSize, include: ['probabilities'] });
    expectClose(tiled.probabilities!, ref.probabilities, `batch ${batchSize}: probabilities`);
    expectClasses(tiled.classes, ref.classes, ref.probabilities, C, `batch ${batchSize}: classes`);
  }
  const whole = await model.segment(img, { include: ['probabilities'] });
  expect(relativeError(whole.probabilities!, ref.probabilities), 'whole image vs tiled').to.be.greaterThan(10 * FP32_TOLERANCE);
  const flat = blendWindowsCpu(plan, windows, C, { rows: axisWeights(plan.windowHeight, true), cols: axisWeights(plan.windowWidth, true) });
  expect(relativeError(flat.probabilities, ref.probabilities), 'unweighted vs weighted blend').to.be.greaterThan(10 * FP32_TOLERANCE);
  return tiled!;
}

describe('tiled segmentation (sliding windows blended on the GPU)', () => {
  describe('the driver, on random logits', () => {
    const img = randomRgbImage(65, 97, 7);

    for (const [tile, overlap, batchSize] of [[40, 0.5, 1], [40, 0.5, 5], [49, 0.25, 4], [32, 0.8, 3]] as const) {
      it(`tile ${tile}, overlap ${overlap}, ${batchSize} window(s) a pass: the CPU blend of the same windows`, async () => {
        const ctx = await testContext();
        const host = new RandomLogitsHost(ctx, 7, [9, 11]);
        const before = buffersInUse(ctx);
        try {
          const plan = planTiles(65, 97, tile, overlap);
          const progress: number[] = [];
          const r = await segmentTiled(host, img, { tile, overlap, batchSize, keepProbabilities: true, onProgress: (done) => progress.push(done) });
          expect(host.logits.length, 'windows through the network').to.equal(plan.windows.length);
          expect(plan.ys.length, 'several window rows: the ring of rows is reused').to.be.greaterThan(2);
          // The windows went in row by row, each the image's pixels at its place.
          plan.windows.forEach((win, k) => {
            expect(Buffer.from(host.crops[k].data).equals(Buffer.from(cropRgb(img, win.x, win.y, plan.windowWidth, plan.windowHeight).data)), `window ${k}`).to.equal(true);
          });
          expect(progress[progress.length - 1]).to.equal(plan.windows.length);
          const ref = blendWindowsCpu(plan, host.windowProbabilities(plan), 7);
          expect([r.width, r.height, r.numClasses]).to.deep.equal([65, 97, 7]);
          expectClose(r.probabilities!, ref.probabilities, 'blended probabilities');
          expectClasses(r.classes, ref.classes, ref.probabilities, 7, 'classes');
        } finally {
          host.dispose();
        }
        expect(buffersInUse(ctx), 'GPU buffers left behind').to.equal(before);
      });
    }

    it('classes alone are the argmax of the same blend; a batch over the device limit is halved and retried', async () => {
      const ctx = await testContext();
      const host = new RandomLogitsHost(ctx, 5, [13, 7], 2);
      try {
        const plan = planTiles(65, 97, 40, 0.3);
        const r = await segmentTiled(host, img, { tile: 40, overlap: 0.3, batchSize: 8, keepProbabilities: false });
        expect(r.probabilities).to.equal(undefined);
        expect(Math.max(...host.batches)).to.equal(2);
        expect(host.logits.length).to.equal(plan.windows.length);
        const ref = blendWindowsCpu(plan, host.windowProbabilities(plan), 5);
        expectClasses(r.classes, ref.classes, ref.probabilities, 5, 'classes');
      } finally {
        host.dispose();
      }
    });

    it('refuses an accumulator the device cannot bind before any work, naming its size and the remedy', async () => {
      const ctx = await testContext();
      const host = new RandomLogitsHost(ctx, 30000, [9, 9]);
      try {
        await expectRejects(
          () => segmentTiled(host, randomRgbImage(5000, 40, 3), { tile: 64, overlap: 0.25, batchSize: 4, keepProbabilities: false }),
          /tiled accumulator, 40 rows \(one window\) of 5000 pixels x 30000 classes = 24000000000 bytes, exceeds the device's storage-binding limit of \d+ bytes; use a smaller tile/,
          'an unbindable accumulator',
        );
        expect(host.logits.length, 'forward passes before the refusal').to.equal(0);
      } finally {
        host.dispose();
      }
    });
  });

  describe('a real model (random MobileNetV3 weights, short side 33)', () => {
    let model: DeepLabModel;
    const img = randomRgbImage(65, 97, 11);
    before(async () => {
      model = await loadModel(MNV3_RANDOM, { ctx: await testContext(), shortSide: 33 });
    });
    after(() => model?.dispose());

    it('a tile as large as the image (or larger) gives exactly the whole-image result', async () => {
      const whole = await model.segment(img, { include: ['probabilities'] });
      for (const tile of [97, 128]) {
        const tiled = await model.segment(img, { tile, overlap: 0.5, include: ['probabilities'] });
        expect(Buffer.from(tiled.classes).equals(Buffer.from(whole.classes)), `tile ${tile}: classes`).to.equal(true);
        expect(Buffer.from(tiled.probabilities!.buffer).equals(Buffer.from(whole.probabilities!.buffer)), `tile ${tile}: probabilities`).to.equal(true);
        const classesOnly = await model.segment(img, { tile });
        expect(Buffer.from(classesOnly.classes).equals(Buffer.from(whole.classes)), `tile ${tile}: classes alone`).to.equal(true);
      }
    });

    it('smaller tiles blend each window’s own segmentation, weighted towards the window centres', async function () {
      this.timeout(300_000);
      await expectBlendOfWindows(model, img, 49, 0.25, [4, 1]);
    });

    it('segments a 4.3-megapixel image with its probabilities, which whole would exceed the binding limit @extended', async function () {
      this.timeout(600_000);
      const W = 2400;
      const H = 1800;
      const big = randomRgbImage(W, H, 5);
      const limit = model.ctx.maxBindingBytes;
      if (W * H * 21 * 4 > limit) {
        await expectRejects(() => model.segment(big, { include: ['probabilities'] }), /exceeds the device's storage-binding limit/, 'whole-image probabilities past the limit');
      }
      // 5 x 4 windows of 600. The accumulator holds 600 rows of 2400 pixels (121 MB); the whole image's would be 363 MB.
      const r = await model.segment(big, { tile: 600, overlap: 0.25, include: ['probabilities'] });
      expect(r.classes.length).to.equal(W * H);
      const p = r.probabilities!;
      for (let i = 0; i < W * H; i += 997) {
        let sum = 0;
        let best = 0;
        for (let c = 0; c < 21; c++) {
          sum += p[i * 21 + c];
          if (p[i * 21 + c] > p[i * 21 + best]) best = c;
        }
        expect(Math.abs(sum - 1), `pixel ${i}: probabilities sum to 1`).to.be.lessThan(1e-4);
        expect(r.classes[i], `pixel ${i}: the class is the most probable`).to.equal(best);
      }
    });

    it('leaves no GPU buffer behind over repeated tiled calls', async () => {
      const ctx = model.ctx;
      await model.segment(img, { tile: 40, overlap: 0.5 });
      const steady = buffersInUse(ctx);
      for (let i = 0; i < 3; i++) await model.segment(img, { tile: 40, overlap: 0.5, include: ['probabilities'] });
      await model.segment(img, { tile: 40, overlap: 0.5 });
      expect(buffersInUse(ctx)).to.equal(steady);
    });

    it('rejects bad tile options with clear errors', async () => {
      await expectRejects(() => model.segment(img, { tile: 16 }), /segment: tile must be a whole number of pixels, at least 32, got 16/, 'tile 16');
      await expectRejects(() => model.segment(img, { tile: 64, overlap: 1 }), /segment: overlap must be a share of the tile, at least 0 and below 1, got 1/, 'overlap 1');
      await expectRejects(() => model.segment(img, { overlap: 0.5 }), /segment: overlap needs tile/, 'overlap alone');
      await expectRejects(() => model.segment(img, { tile: 64, flip: true }), /tile cannot be combined with scales or flip/, 'tile with flip');
      await expectRejects(() => model.segment(img, { tile: 64, scales: [0.5, 1] }), /tile cannot be combined with scales or flip/, 'tile with scales');
      await expectRejects(() => model.segment(img, { tile: 64, include: ['logits'] }), /logits are not defined for tiled inference/, 'tile with logits');
    });
  });

  it('evaluateVoc hands tile and overlap to the model', async () => {
    const seen: SegmentOptions[] = [];
    const fake: Segmenter = {
      name: 'fake',
      numClasses: 2,
      classNames: ['a', 'b'],
      async segment(_image: string, opts?: SegmentOptions): Promise<SegmentResult> {
        seen.push(opts ?? {});
        return { width: 2, height: 1, classes: Uint8Array.of(0, 1), numClasses: 2 };
      },
    };
    const items = [{ id: 'x', imagePath: 'x.png', gtPath: 'x-gt.png' }];
    const readLabel = () => ({ width: 2, height: 1, indices: Uint8Array.of(0, 1) });
    const scores = await evaluateVoc(fake, items, { tile: 513, overlap: 0.5, readLabel });
    expect(scores.pixelAccuracy).to.equal(100);
    expect(seen).to.have.length(1);
    expect(seen[0]).to.include({ tile: 513, overlap: 0.5 });
  });

  describe('a trained model (mobilenetv2-pascal-257) on a photo @slow', () => {
    let model: DeepLabModel;
    let img: RgbImage;
    before(async () => {
      model = await loadModel('mobilenetv2-pascal-257', { ctx: await testContext() });
      img = resizeRgbPil(await readImage(VOC_IMAGE), 97, 71);
    });
    after(() => model?.dispose());

    it('a tile as large as the image gives exactly the whole-image classes and probabilities', async () => {
      const whole = await model.segment(img, { include: ['probabilities'] });
      const wholeClasses = await model.segment(img); // the fused resize + argmax path
      const tiled = await model.segment(img, { tile: 97, include: ['probabilities'] });
      expect(new Set(whole.classes).size, 'several classes').to.be.greaterThan(1);
      expect(Buffer.from(tiled.probabilities!.buffer).equals(Buffer.from(whole.probabilities!.buffer)), 'probabilities').to.equal(true);
      expect(Buffer.from(tiled.classes).equals(Buffer.from(whole.classes)), 'classes').to.equal(true);
      expect(Buffer.from(tiled.classes).equals(Buffer.from(wholeClasses.classes)), 'classes of the classes-only path').to.equal(true);
    });

    it('tiles of 49 (each window resized to 257x257) blend the windows’ own segmentations', async function () {
      // About 10 s on lavapipe: 6 windows segmented one by one, then tiled, then the whole image.
      this.timeout(600_000);
      const tiled = await expectBlendOfWindows(model, img, 49, 0.25, [4]);
      const classes = new Set(tiled.classes);
      expect(classes.has(0) && classes.has(1), 'background and aeroplane found').to.equal(true);
    });
  });
});
