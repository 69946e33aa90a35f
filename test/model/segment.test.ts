// The library API: segment() results, multi-scale / flip averaging, GPU memory hygiene over
// many calls, and clear errors for bad input.
import { expect } from 'chai';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RgbImage } from '../../src/io/image.js';
import { readImage } from '../../src/io/image.js';
import { type DeepLabModel, type SegmentResult, loadModel } from '../../src/model/model.js';
import { withFlags } from '../../src/util/flags.js';
import { expectClose, testContext, expectRejects } from '../helpers.js';
import { sharedPath } from '../shared.js';

const VOC_IMAGE = sharedPath('data', 'voc-sample', 'JPEGImages', '2007_000033.jpg');
const MNV3_RANDOM = sharedPath('fixtures', 'torchvision', 'deeplabv3_mobilenet_v3_large_random.pth');

function crop(img: RgbImage, w: number, h: number): RgbImage {
  const data = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) data.set(img.data.subarray(y * img.width * 3, (y * img.width + w) * 3), y * w * 3);
  return { width: w, height: h, data };
}

function mirror(p: Float32Array, w: number, h: number, c: number): Float32Array {
  const out = new Float32Array(p.length);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) out.set(p.subarray((y * w + (w - 1 - x)) * c, (y * w + (w - 1 - x)) * c + c), (y * w + x) * c);
  return out;
}

describe('model: segment()', () => {
  let photo: RgbImage;
  before(async () => {
    photo = await readImage(VOC_IMAGE);
  });

  describe('default model (mobilenetv2-pascal-257)', () => {
    let model: DeepLabModel;
    before(async () => {
      model = await loadModel('mobilenetv2-pascal-257', { ctx: await testContext() });
    });
    after(() => model?.dispose());

    it('segmentBatch: images batched in one forward pass give what one at a time gives', async () => {
      // The 257 model's network size is fixed, so images of different sizes share one pass.
      const images = [crop(photo, 61, 47), crop(photo, 500, 366), crop(photo, 97, 129)];
      const one: SegmentResult[] = [];
      for (const img of images) one.push(await model.segment(img, { include: ['probabilities'] }));
      const together = await model.segmentBatch(images, { include: ['probabilities'] });
      expect(together).to.have.length(3);
      together.forEach((r, k) => {
        expect([r.width, r.height]).to.deep.equal([images[k].width, images[k].height]);
        expectClose(r.probabilities!, one[k].probabilities!, `image ${k} probabilities`);
        const differ = r.classes.filter((c, i) => c !== one[k].classes[i]).length;
        // Near-ties may flip between runs of different batch sizes; nothing else.
        expect(differ / r.classes.length, `image ${k}: classes that differ`).to.be.lessThan(1e-3);
      });
      // Given the promise, not a function: the call must reject, not throw where it is made.
      await expectRejects(model.segmentBatch(images, { batchSize: 0 }), /batchSize must be a positive integer, got 0/, 'batchSize 0');
    });

    it('returns one class per image pixel, consistent with the probabilities', async () => {
      const r = await model.segment(VOC_IMAGE, { include: ['probabilities'] });
      expect([r.width, r.height]).to.deep.equal([500, 366]);
      expect(r.classes.length).to.equal(500 * 366);
      const p = r.probabilities!;
      expect(p.length).to.equal(500 * 366 * 21);
      let worstSum = 0;
      for (let i = 0; i < r.classes.length; i++) {
        let sum = 0;
        let best = 0;
        for (let c = 0; c < 21; c++) {
          sum += p[i * 21 + c];
          if (p[i * 21 + c] > p[i * 21 + best]) best = c;
        }
        worstSum = Math.max(worstSum, Math.abs(sum - 1));
        expect(r.classes[i]).to.equal(best);
      }
      expect(worstSum).to.be.lessThan(1e-4);
      // The photo is an aeroplane on sky: both must be present.
      const found = new Set(r.classes);
      expect(found.has(0) && found.has(1), `classes found: ${[...found]}`).to.equal(true);
    });

    it('rejects bad options and a zero-size image with clear errors', async () => {
      await expectRejects(() => model.segment(photo, { scales: [0] }), /scales must be positive/, 'scale 0 accepted');
      await expectRejects(() => model.segment(photo, { include: ['bogus' as 'logits'] }), /unknown output 'bogus'/, 'unknown output accepted');
      await expectRejects(() => model.segment({ width: 0, height: 0, data: new Uint8Array(0) }), /segment: zero-size image \(0x0\)/, 'zero-size image accepted');
    });
  });

  describe('small torchvision model (random MobileNetV3 weights, short side 33)', () => {
    let model: DeepLabModel;
    before(async () => {
      model = await loadModel(MNV3_RANDOM, { ctx: await testContext(), shortSide: 33 });
    });
    after(() => model?.dispose());

    it('flip averages the mirrored pass, un-mirrored, with the plain one', async () => {
      const img = crop(photo, 61, 47);
      const flipped: RgbImage = { width: 61, height: 47, data: new Uint8Array(61 * 47 * 3) };
      for (let y = 0; y < 47; y++)
        for (let x = 0; x < 61; x++) flipped.data.set(img.data.subarray((y * 61 + 60 - x) * 3, (y * 61 + 60 - x) * 3 + 3), (y * 61 + x) * 3);
      const plain = (await model.segment(img, { include: ['probabilities'] })).probabilities!;
      const onMirror = mirror((await model.segment(flipped, { include: ['probabilities'] })).probabilities!, 61, 47, 21);
      const both = await model.segment(img, { flip: true, include: ['probabilities'] });
      let worst = 0;
      for (let i = 0; i < plain.length; i++) worst = Math.max(worst, Math.abs(both.probabilities![i] - (plain[i] + onMirror[i]) / 2));
      expect(worst).to.be.lessThan(1e-5);
    });

    it('multi-scale returns averaged probabilities at the image size', async () => {
      const img = crop(photo, 45, 39);
      const r = await model.segment(img, { scales: [0.5, 1, 1.5], include: ['probabilities'] });
      expect(r.classes.length).to.equal(45 * 39);
      for (let i = 0; i < 45 * 39; i += 97) {
        let s = 0;
        for (let c = 0; c < 21; c++) s += r.probabilities![i * 21 + c];
        expect(Math.abs(s - 1)).to.be.lessThan(1e-4);
      }
    });

    it('segments a 4.3-megapixel photo (classes only) and refuses full-size probabilities past the binding limit', async () => {
      const W = 2400;
      const H = 1800;
      const big: RgbImage = { width: W, height: H, data: new Uint8Array(W * H * 3) };
      for (let y = 0; y < H; y++) big.data.set(photo.data.subarray((y % 366) * 1500, (y % 366) * 1500 + 1500).subarray(0, 1500), y * W * 3);
      const r = await model.segment(big);
      expect(r.classes.length).to.equal(W * H);
      // Full-size probabilities are W*H*21 floats (363 MB): more than lavapipe's 128 MB binding.
      const limit = model.ctx.maxBindingBytes;
      if (W * H * 21 * 4 > limit) {
        await expectRejects(() => model.segment(big, { include: ['probabilities'] }), /exceeds the device's storage-binding limit of \d+ bytes/, 'an over-limit request was accepted');
      }
    });

    it('200 consecutive segment calls leave no GPU buffer behind', async function () {
      // About 15 s on an idle 2-core machine; allow for a busy one.
      this.timeout(1_200_000);
      const ctx = model.ctx;
      // Buffers in use: created and not destroyed, minus those idle in the reuse pool.
      const inUse = (): number => ctx.liveBufferCount - ctx.pool.idleCount;
      const before = inUse();
      const fresh = await loadModel(MNV3_RANDOM, { ctx, shortSide: 33 });
      // Two sizes in turn, and every 40th call a new size: executors (a cache of three) are
      // evicted and rebuilt along the way.
      const common = [crop(photo, 40, 30), crop(photo, 31, 45)];
      let afterWarmUp = 0;
      for (let i = 0; i < 200; i++) {
        const im = i % 40 === 39 ? crop(photo, 33 + Math.floor(i / 40), 36) : common[i % 2];
        await fresh.segment(im);
        if (i === 1) afterWarmUp = inUse();
        // Steady state on the common sizes: nothing accumulates between calls.
        if (i % 40 === 37) expect(inUse(), `buffers in use at call ${i}`).to.be.at.most(afterWarmUp + 40);
      }
      fresh.dispose();
      expect(inUse(), 'buffers in use after 200 calls and dispose()').to.equal(before);
      await expectRejects(() => fresh.segment(common[0]), /used after dispose/, 'segment after dispose() was accepted');
    });
  });

  describe('loading errors', () => {
    it('names an unknown model and lists the known ones', async () => {
      await expectRejects(() => loadModel('resnet9000-pascal'), /unknown model 'resnet9000-pascal'.*mobilenetv2-pascal-257/, 'unknown model accepted');
    });

    it('rejects a .pth that is not a DeepLabv3 checkpoint, and a missing file', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'deeplab-test-'));
      try {
        const bogus = join(dir, 'x.pth');
        writeFileSync(bogus, Buffer.from('definitely not a zip archive, just text'));
        await expectRejects(async () => loadModel(bogus, { ctx: await testContext() }), /zip|PyTorch|checkpoint/i, 'bogus .pth accepted');
        await expectRejects(() => loadModel(join(dir, 'missing.tflite')), /not found: .*missing\.tflite/, 'missing file accepted');
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it('rejects a weights file whose sha256 does not match the registry', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'deeplab-test-'));
      try {
        // A real TFLite file, but not the registered one: same name, other bytes.
        copyFileSync(sharedPath('weights', 'deeplabv3_257_mv_gpu.tflite'), join(dir, 'deeplabv3_257_mv_gpu.tflite'));
        writeFileSync(join(dir, 'deeplabv3_257_mv_gpu.tflite'), Buffer.from([1, 2, 3]), { flag: 'a' });
        await withFlags({ DEEPLAB_WEIGHTS_DIR: dir }, () =>
          expectRejects(() => loadModel('mobilenetv2-pascal-257', { download: false }), /sha256 [0-9a-f]{64} does not match 68a53978/, 'corrupt file accepted'),
        );
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
});
