// segment() of a frame on the GPU (a texture, as a page's copyExternalImageToTexture fills it):
// the same result, to the bit, as segment() of the same pixels as an RgbImage, since the frame
// kernels reproduce the CPU preprocessing exactly; resources kept from frame to frame.
import { expect } from 'chai';
import type { GpuContext } from '../../src/gpu/context.js';
import { createTensor, readTensorU32 } from '../../src/gpu/tensor.js';
import { readImage } from '../../src/io/image.js';
import type { RgbImage } from '../../src/io/rgb-image.js';
import { type DeepLabModel, type SegmentOptions, type SegmentResult, loadModel } from '../../src/model/model.js';
import { expectRejects, randomRgbImage, testContext } from '../helpers.js';
import { randomRgba, rgbToRgba, rgbaTexture, rgbaToRgb } from '../frames.js';
import { sharedPath } from '../shared.js';

const VOC_IMAGE = sharedPath('data', 'voc-sample', 'JPEGImages', '2007_000033.jpg');
const TFLITE_257 = sharedPath('weights', 'deeplabv3_257_mv_gpu.tflite');
const MNV3_RANDOM = sharedPath('fixtures', 'torchvision', 'deeplabv3_mobilenet_v3_large_random.pth');

function differing(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let n = Math.abs(a.length - b.length);
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (!Object.is(a[i], b[i])) n++;
  return n;
}

/** Results must be identical: classes, and the probabilities / logits bit for bit. */
function expectIdentical(got: SegmentResult, want: SegmentResult, what: string): void {
  expect([got.width, got.height, got.numClasses], `${what}: size`).to.deep.equal([want.width, want.height, want.numClasses]);
  expect(differing(got.classes, want.classes), `${what}: classes that differ`).to.equal(0);
  for (const k of ['probabilities', 'logits'] as const) {
    expect(got[k] === undefined, `${what}: ${k} present`).to.equal(want[k] === undefined);
    if (want[k]) expect(differing(got[k]!, want[k]!), `${what}: ${k} whose bits differ`).to.equal(0);
  }
}

/** segment() of `img` as a texture and as an RgbImage. */
async function bothWays(ctx: GpuContext, model: DeepLabModel, img: RgbImage, opts: SegmentOptions = {}): Promise<[SegmentResult, SegmentResult]> {
  const texture = rgbaTexture(ctx, img.width, img.height, rgbToRgba(img));
  try {
    return [await model.segment(texture, opts), await model.segment(img, opts)];
  } finally {
    texture.destroy();
  }
}

/** Buffers the context holds beyond what its pool keeps idle (idle ones are reused, not leaked). */
const heldBuffers = (ctx: GpuContext): number => ctx.liveBufferCount - ctx.pool.stats.idle;

describe('model: segment() of a frame on the GPU', function () {
  this.timeout(600_000);
  let ctx: GpuContext;
  before(async () => {
    ctx = await testContext();
  });

  describe('TF Lite MobileNetV2 257 ([-1, 1] input)', () => {
    let model: DeepLabModel;
    let photo: RgbImage;
    before(async () => {
      model = await loadModel(TFLITE_257, { ctx });
      photo = await readImage(VOC_IMAGE);
    });
    after(() => model?.dispose());

    it('a VOC photo as a texture gives the RgbImage path\'s classes and probabilities, bit for bit', async () => {
      const [frame, still] = await bothWays(ctx, model, photo, { include: ['probabilities'] });
      expectIdentical(frame, still, 'VOC photo');
      expect(new Set(frame.classes).has(1), 'the aeroplane is found').to.equal(true);
    });
  });

  describe('torchvision MobileNetV3 (random weights, ImageNet normalisation, short side 24)', () => {
    let model: DeepLabModel;
    before(async () => {
      model = await loadModel(MNV3_RANDOM, { ctx, shortSide: 24 });
    });
    after(() => model?.dispose());

    for (const [w, h, opts] of [
      [41, 29, { include: ['probabilities', 'logits'] }],
      [29, 53, {}],
      [24, 24, { include: ['logits'] }],
      [67, 45, { scales: [0.75], include: ['probabilities'] }],
    ] as [number, number, SegmentOptions][]) {
      it(`a ${w}x${h} frame ${JSON.stringify(opts)} equals the RgbImage path bit for bit`, async () => {
        const img = randomRgbImage(w, h, w * 31 + h);
        const [frame, still] = await bothWays(ctx, model, img, opts);
        expectIdentical(frame, still, `${w}x${h}`);
      });
    }

    it('frames of one size reuse every resource: nothing is allocated per frame; another size, then dispose, release what was made', async () => {
      const before = heldBuffers(ctx);
      const own = await loadModel(MNV3_RANDOM, { ctx, shortSide: 24 });
      const [W, H] = [53, 37];
      const texture = rgbaTexture(ctx, W, H, randomRgba(W, H, 0));
      const classes = createTensor(ctx, [1, H, W], 'u32', 'class map');
      let small: ReturnType<typeof createTensor> | null = null;
      let other: GPUTexture | null = null;
      try {
        let after: { live: number; pool: unknown } | null = null;
        for (let k = 1; k <= 6; k++) {
          const rgba = randomRgba(W, H, k);
          ctx.device.queue.writeTexture({ texture }, rgba, { bytesPerRow: W * 4 }, [W, H]);
          await own.segmentFrameInto(texture, classes);
          const got = await readTensorU32(ctx, classes);
          const want = await own.segment(rgbaToRgb(rgba, W, H));
          expect(differing(got, want.classes), `frame ${k}: classes that differ from segment(RgbImage)`).to.equal(0);
          const now = { live: ctx.liveBufferCount, pool: ctx.pool.stats };
          if (k === 2) after = now;
          if (k > 2) expect(now, `GPU buffers after frame ${k} (as after frame 2)`).to.deep.equal(after);
        }
        // A new texture of another size: the kernels are prepared again for it.
        other = rgbaTexture(ctx, 31, 43, randomRgba(31, 43, 9));
        small = createTensor(ctx, [1, 43, 31], 'u32', 'class map');
        await own.segmentFrameInto(other, small);
        const want = await own.segment(rgbaToRgb(randomRgba(31, 43, 9), 31, 43));
        expect(differing(await readTensorU32(ctx, small), want.classes), 'the other size: classes that differ').to.equal(0);
      } finally {
        texture.destroy();
        other?.destroy();
        classes.dispose();
        small?.dispose();
        own.dispose();
      }
      expect(heldBuffers(ctx), 'buffers held after dispose (pool idle ones aside)').to.equal(before);
    });

    it('refuses what a frame cannot be given, with errors that name the problem', async () => {
      const texture = rgbaTexture(ctx, 20, 10, randomRgba(20, 10, 3));
      const srgb = rgbaTexture(ctx, 20, 10, randomRgba(20, 10, 3), 'rgba8unorm-srgb');
      const wrong = createTensor(ctx, [1, 10, 21], 'u32', 'class map');
      const floats = createTensor(ctx, [1, 10, 20], 'f32', 'class map');
      try {
        await expectRejects(model.segment(texture, { flip: true }), /multi-scale and flipped inference take still images/, 'flip on a frame');
        await expectRejects(model.segment(texture, { scales: [0.5, 1] }), /segmented at one scale/, 'two scales on a frame');
        await expectRejects(model.segmentBatch([texture as never]), /segmentBatch: frames .* are segmented one at a time with segment\(\)/, 'segmentBatch of a texture');
        await expectRejects(model.segment(srgb), /segment: texture format rgba8unorm-srgb is not read/, 'an sRGB texture');
        await expectRejects(model.segmentFrameInto(texture, wrong), /classes is \[1,10,21\], the frame 20x10 needs \[1,10,20\]/, 'a class map of another size');
        await expectRejects(model.segmentFrameInto(texture, floats), /classes must be a \[1, height, width\] u32 tensor, got f32/, 'a float class map');
        await expectRejects(model.segmentFrameInto({ width: 2, height: 2 } as never, wrong), /the frame must be a GPUTexture/, 'not a frame');
      } finally {
        texture.destroy();
        srgb.destroy();
        wrong.dispose();
        floats.dispose();
      }
    });
  });
});
