// The CPU device (loadModel(..., { device: 'cpu' }): our graph as ONNX on onnxruntime-node)
// against WebGPU on the default model, through the calls users make: the same results in the
// same shape for every way of segmenting, fineTune on the CPU, what only WebGPU does refused by name, and 'auto' on a
// machine without a Vulkan driver running on the CPU.
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { RgbImage } from '../../src/io/image.js';
import { readImage } from '../../src/io/image.js';
import { type DeepLabModel, type SegmentResult, loadModel } from '../../src/model/model.js';
import { fineTune } from '../../src/train/fine-tune.js';
import { classAgreement, expectClose, expectRejects, expectThrows, relativeError, testContext } from '../helpers.js';
import { sharedPath } from '../shared.js';

const VOC_IMAGE = sharedPath('data', 'voc-sample', 'JPEGImages', '2007_000033.jpg');
const DEFAULT_TFLITE = sharedPath('weights', 'deeplabv3_257_mv_gpu.tflite');

/** The labels of `a` and `b` agree on at least 99.9 % of pixels; the results have the same shape. */
function expectSameResult(a: SegmentResult, b: SegmentResult, what: string): void {
  expect(Object.keys(a).sort(), `${what}: fields`).to.deep.equal(Object.keys(b).sort());
  expect([a.width, a.height, a.numClasses], `${what}: size`).to.deep.equal([b.width, b.height, b.numClasses]);
  expect(classAgreement(a.classes, b.classes), `${what}: labels equal`).to.be.at.least(0.999);
  if (a.probabilities) expectClose(a.probabilities, b.probabilities!, `${what}: probabilities`);
}

describe('model: the CPU device', () => {
  let photo: RgbImage;
  let cpu: DeepLabModel;
  let gpu: DeepLabModel;
  before(async () => {
    photo = await readImage(VOC_IMAGE);
    cpu = await loadModel(DEFAULT_TFLITE, { device: 'cpu' });
    gpu = await loadModel(DEFAULT_TFLITE, { device: 'webgpu', ctx: await testContext() });
  });
  after(() => {
    cpu?.dispose();
    gpu?.dispose();
  });

  it('runs on onnxruntime-node and says so; it holds no GPU memory', () => {
    expect(cpu.deviceName).to.equal('cpu');
    expect(cpu.deviceLabel).to.match(/^CPU \(onnxruntime-node \d+\.\d+/);
    expect(gpu.deviceName).to.equal('webgpu');
    expect(cpu.memory().total).to.equal(0);
  });

  it("segments the VOC photo as WebGPU does: labels, probabilities and logits, in the same shape", async () => {
    const include = ['probabilities', 'logits'] as const;
    expectSameResult(await cpu.segment(photo, { include: [...include] }), await gpu.segment(photo, { include: [...include] }), 'one image');
  });

  it('multi-scale and flipped passes, tiles and batches give what WebGPU gives', async () => {
    for (const opts of [{ scales: [0.75, 1.25], flip: true, include: ['probabilities' as const] }, { tile: 200, overlap: 0.25 }]) {
      expectSameResult(await cpu.segment(photo, opts), await gpu.segment(photo, opts), JSON.stringify(opts));
    }
    const half = { width: 250, height: 183, data: photo.data.slice(0, 250 * 183 * 3) };
    const [a, b] = await cpu.segmentBatch([photo, half], { batchSize: 2 });
    const [c, d] = await gpu.segmentBatch([photo, half], { batchSize: 2 });
    expectSameResult(a, c, 'batch item 0');
    expectSameResult(b, d, 'batch item 1');
  });

  it("forwardToHost gives WebGPU's logits", async () => {
    const { input, height, width } = cpu.preprocess(photo);
    expectClose(await cpu.forwardToHost(input, height, width), await gpu.forwardToHost(input, height, width), 'logits');
  });

  it('refuses, by name, what only WebGPU does', async () => {
    const input = new Float32Array(257 * 257 * 3);
    expectThrows(() => cpu.ctx, /ctx: deeplabv3_257_mv_gpu\.tflite runs on the CPU \(device 'cpu'\); ctx needs a model loaded with device 'webgpu'/);
    await expectRejects(cpu.forward(input, 257, 257), /forward: .* runs on the CPU/);
    await expectRejects(cpu.tune(), /tune: .* runs on the CPU/);
    await expectRejects(cpu.profile(input, 257, 257), /profile: .* runs on the CPU/);
  });

  it('fineTune of a model on the CPU trains on the CPU: the taught model is on the CPU, its first loss the WebGPU model\'s', async () => {
    const sample = { image: photo, labels: new Uint8Array(photo.width * photo.height) };
    const o = { recipe: 'plain' as const, steps: 1, crop: 33, lr: 0.001, scale: [1, 1] as [number, number], flip: false, seed: 2 };
    const losses: number[][] = [[], []];
    const taught = [await fineTune(cpu, [sample], { ...o, onStep: (r) => void losses[0].push(r.loss) }), await fineTune(gpu, [sample], { ...o, onStep: (r) => void losses[1].push(r.loss) })];
    try {
      expect(taught.map((m) => m.deviceName)).to.deep.equal(['cpu', 'webgpu']);
      expect(relativeError(losses[0], losses[1]), 'the first loss on either device').to.be.lessThan(1e-5);
    } finally {
      for (const m of taught) m.dispose();
    }
  });

  it('refuses options that are for WebGPU, and a device it does not know', async () => {
    await expectRejects(loadModel(DEFAULT_TFLITE, { device: 'cpu', precision: 'f16' }), /device 'cpu' runs float32: precision 'f16' is for a model on WebGPU/);
    await expectRejects(loadModel(DEFAULT_TFLITE, { device: 'cpu', tune: 'full' }), /device 'cpu': tune 'full' is for a model on WebGPU/);
    await expectRejects(loadModel(DEFAULT_TFLITE, { device: 'cpu', ctx: await testContext() }), /device 'cpu': ctx is for a model on WebGPU/);
    await expectRejects(loadModel(DEFAULT_TFLITE, { device: 'gpu' as never }), /device must be 'webgpu', 'cpu', 'auto', got 'gpu'/);
  });

  it('is refused once disposed', async () => {
    const once = await loadModel(DEFAULT_TFLITE, { device: 'cpu' });
    once.dispose();
    await expectRejects(once.segment(photo), /used after dispose\(\)/);
  });

  it("'auto' in a Node process without a Vulkan driver runs on the CPU and segments as WebGPU does here", async function () {
    this.timeout(120_000);
    const dir = mkdtempSync(join(tmpdir(), 'deeplab-no-vulkan-'));
    try {
      const script = resolve('dist/test/model/cpu-device-child.js');
      const out = await new Promise<string>((done, fail) =>
        execFile(process.execPath, [script, DEFAULT_TFLITE, VOC_IMAGE], { env: { ...process.env, VK_ICD_FILENAMES: join(dir, 'no-driver.json'), VK_DRIVER_FILES: join(dir, 'no-driver.json') }, maxBuffer: 64 << 20 }, (e, stdout, stderr) =>
          e ? fail(new Error(`${e.message}\n${stderr}`)) : done(stdout),
        ),
      );
      const { device, progress, classes } = JSON.parse(out) as { device: string; progress: string[]; classes: number[] };
      expect(device).to.equal('cpu');
      expect(progress.join('\n')).to.match(/no WebGPU here \(No WebGPU adapter could be created.*\): .* runs on the CPU \(onnxruntime-node/);
      const want = await gpu.segment(photo);
      expect(classAgreement(classes, want.classes), 'labels equal to WebGPU here').to.be.at.least(0.999);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
