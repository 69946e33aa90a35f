// The overlay drawn on the GPU (a render pass into a colour texture, as into a page's canvas)
// against the CPU's overlayPalette, byte for byte.
import { expect } from 'chai';
import { OverlayRenderer } from '../../src/gpu/overlay-renderer.js';
import { type GpuTensor, uploadTensor } from '../../src/gpu/tensor.js';
import { overlayPalette } from '../../src/io/overlay.js';
import { VOC_PALETTE } from '../../src/model/voc.js';
import { makeRng, RUN_SEED, testContext, expectRejects, expectThrows } from '../helpers.js';
import { randomRgba, readRgbaTexture, rgbaTexture, rgbaToRgb } from '../frames.js';

/** A target the test can poison, draw into and read (GPUTextureUsage exists once a context is made). */
const targetUsage = (): number => GPUTextureUsage.RENDER_ATTACHMENT | GPUTextureUsage.COPY_SRC | GPUTextureUsage.COPY_DST;

/** Class indices: a third background, the rest any of the palette's (255, void, included). */
function randomClasses(n: number, seed: number): Uint32Array<ArrayBuffer> {
  const r = makeRng(RUN_SEED ^ seed);
  return Uint32Array.from({ length: n }, () => (r() < 0.33 ? 0 : r() < 0.05 ? 255 : 1 + Math.floor(r() * 20)));
}

/** What the CPU overlay gives, as RGBA at the target's size (nearest, as the shader maps it). */
function expectedRgba(frame: Uint8Array, W: number, H: number, classes: Uint32Array, alpha: number, TW: number, TH: number): Uint8Array {
  const blended = overlayPalette(rgbaToRgb(frame, W, H), Uint8Array.from(classes, (c) => Math.min(c, 255)), VOC_PALETTE, alpha).data;
  const out = new Uint8Array(TW * TH * 4);
  for (let y = 0; y < TH; y++)
    for (let x = 0; x < TW; x++) {
      const s = Math.min(Math.floor((y * H) / TH), H - 1) * W + Math.min(Math.floor((x * W) / TW), W - 1);
      out.set([blended[3 * s], blended[3 * s + 1], blended[3 * s + 2], 255], (y * TW + x) * 4);
    }
  return out;
}

function mismatches(got: Uint8Array, want: Uint8Array): number {
  let n = Math.abs(got.length - want.length);
  for (let i = 0; i < Math.min(got.length, want.length); i++) if (got[i] !== want[i]) n++;
  return n;
}

describe('gpu: the overlay renderer', () => {
  const cases: [number, number, number, number, GPUTextureFormat, number][] = [
    [37, 23, 37, 23, 'rgba8unorm', 0.5],
    [61, 45, 61, 45, 'bgra8unorm', 0.25],
    [19, 13, 41, 30, 'rgba8unorm', 0.75],
    [8, 5, 8, 5, 'rgba8unorm', 1],
    [8, 5, 8, 5, 'rgba8unorm', 0],
  ];
  for (const [W, H, TW, TH, format, alpha] of cases) {
    it(`a ${W}x${H} frame onto a ${TW}x${TH} ${format} target, alpha ${alpha}, equals overlayPalette to the byte`, async () => {
      const ctx = await testContext();
      const rgba = randomRgba(W, H, W * 7 + H);
      const classIds = randomClasses(W * H, W + 100 * H);
      const frame = rgbaTexture(ctx, W, H, rgba);
      const target = ctx.device.createTexture({ size: [TW, TH], format, usage: targetUsage() });
      // Poison: any pixel not drawn stays an odd colour.
      ctx.device.queue.writeTexture({ texture: target }, new Uint8Array(TW * TH * 4).fill(77), { bytesPerRow: TW * 4 }, [TW, TH]);
      const classes = uploadTensor(ctx, classIds, [1, H, W]);
      const renderer = new OverlayRenderer(ctx, VOC_PALETTE, alpha);
      try {
        await renderer.draw(frame, classes, target);
        let got = await readRgbaTexture(ctx, target);
        if (format === 'bgra8unorm') got = got.map((v, i) => (i % 4 === 0 ? got[i + 2] : i % 4 === 2 ? got[i - 2] : v));
        expect(mismatches(got, expectedRgba(rgba, W, H, classIds, alpha, TW, TH)), 'bytes that differ from the CPU overlay').to.equal(0);
      } finally {
        renderer.destroy();
        frame.destroy();
        target.destroy();
        classes.dispose();
      }
    });
  }

  it('draws frame after frame with nothing allocated, follows a new alpha, and releases its buffers', async () => {
    const ctx = await testContext();
    const [W, H] = [29, 17];
    const held = (): number => ctx.liveBufferCount - ctx.pool.stats.idle;
    const before = held();
    const frame = rgbaTexture(ctx, W, H, randomRgba(W, H, 1));
    const target = ctx.device.createTexture({ size: [W, H], format: 'rgba8unorm', usage: targetUsage() });
    const classes = uploadTensor(ctx, randomClasses(W * H, 5), [1, H, W]);
    const renderer = new OverlayRenderer(ctx, VOC_PALETTE);
    try {
      const made = ctx.liveBufferCount;
      for (let k = 0; k < 4; k++) {
        const rgba = randomRgba(W, H, 10 + k);
        const ids = randomClasses(W * H, 20 + k);
        ctx.device.queue.writeTexture({ texture: frame }, rgba, { bytesPerRow: W * 4 }, [W, H]);
        ctx.device.queue.writeBuffer(classes.buffer, 0, ids);
        renderer.alpha = k % 2 ? 0.25 : 0.5;
        await renderer.draw(frame, classes, target);
        expect(mismatches(await readRgbaTexture(ctx, target), expectedRgba(rgba, W, H, ids, renderer.alpha, W, H)), `frame ${k}`).to.equal(0);
        expect(ctx.liveBufferCount, `buffers after frame ${k}`).to.equal(made);
      }
    } finally {
      renderer.destroy();
      frame.destroy();
      target.destroy();
      classes.dispose();
    }
    expect(held(), 'buffers left (pool idle ones aside)').to.equal(before);
  });

  it('refuses a class map that is not the frame\'s, a bad palette or alpha', async () => {
    const ctx = await testContext();
    const frame = rgbaTexture(ctx, 6, 4, randomRgba(6, 4, 2));
    const target = ctx.device.createTexture({ size: [6, 4], format: 'rgba8unorm', usage: targetUsage() });
    const wrong: GpuTensor = uploadTensor(ctx, new Uint32Array(20), [1, 4, 5]);
    const renderer = new OverlayRenderer(ctx, VOC_PALETTE);
    try {
      await expectRejects(
        renderer.draw(frame, wrong, target),
        /the class map must be a u32 tensor \[1,4,6\] \(the frame's size\), got u32 \[1,4,5\]/,
        'drawing with a class map of another size',
      );
      expectThrows(() => new OverlayRenderer(ctx, new Uint8Array(4)), /palette must be RGB triples, got 4 bytes/);
      expectThrows(() => new OverlayRenderer(ctx, VOC_PALETTE, 1.5), /alpha must be in \[0, 1\], got 1.5/);
      expectThrows(() => (renderer.alpha = NaN), /alpha must be in \[0, 1\], got NaN/);
    } finally {
      renderer.destroy();
      frame.destroy();
      target.destroy();
      wrong.dispose();
    }
  });
});
