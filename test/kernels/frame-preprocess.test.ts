import { expect } from 'chai';
import { runOnce } from '../../src/gpu/dispatch.js';
import { readTensor } from '../../src/gpu/tensor.js';
import {
  type FramePreprocessParams,
  framePreprocessCpu,
  normalizationTable,
  prepareFramePreprocess,
} from '../../src/kernels/frame/frame-preprocess.js';
import { expectClose, poisonedTensor, testContext, expectThrows } from '../helpers.js';
import { INPUT_NORMALIZATION_NAMES, type InputNormalizationName, inputNormalization } from '../../src/io/input-normalization.js';
import { randomRgba, rgbaTexture } from '../frames.js';
import type { Resample } from '../../src/io/resize-cpu.js';

/** Elements whose bits differ (NaN poison left unwritten counts). */
function bitMismatches(got: Float32Array, want: Float32Array): number {
  let n = 0;
  for (let i = 0; i < want.length; i++) if (!Object.is(got[i], want[i])) n++;
  return n + Math.abs(got.length - want.length);
}

describe('kernel: frame preprocessing (texture -> the input pipeline\'s resize -> normalised NHWC)', () => {
  it('the normalisation table holds the CPU pipeline values by hand', () => {
    const t = normalizationTable('minus_one_one');
    expect(t.length).to.equal(768);
    expect([t[0], t[1], t[2]]).to.deep.equal([-1, -1, -1]);
    expect(t[255 * 3]).to.equal(1);
    expect(t[3 * 51]).to.equal(Math.fround(Math.fround(51 / 127.5) - 1));
    const im = normalizationTable('imagenet');
    expect(im[3 * 255 + 1]).to.equal(Math.fround(Math.fround(Math.fround(255 / 255) - Math.fround(0.456)) / Math.fround(0.224)));
    expect(normalizationTable('unit')[3 * 51 + 2]).to.equal(Math.fround(51 / 255));
    expectThrows(() => normalizationTable('none' as InputNormalizationName), `normalization must be ${INPUT_NORMALIZATION_NAMES.map((n) => `'${n}'`).join(' or ')}, got 'none'`);
    // mmseg's mean and std on 0..255 values: every level as its CPU path normalises it.
    const levels = { width: 256, height: 1, data: Uint8Array.from({ length: 768 }, (_, i) => Math.floor(i / 3)) };
    expect([...normalizationTable('imagenet_255')]).to.deep.equal([...inputNormalization('imagenet_255').normalize(levels)]);
  });

  // [frame width, height] -> [network width, height]: odd sizes, down, up, mixed, identity, 1x1.
  // PIL's bilinear by default; hub processors' resizes in torch's fixed point (int16 weights,
  // bicubic's negative lobes clamped); PIL's LANCZOS.
  const hub = (filter: 'bilinear' | 'bicubic'): Resample => ({ filter, fixedPoint: 'torch' });
  const cases: [number, number, number, number, InputNormalizationName, Resample?][] = [
    [97, 61, 33, 21, 'minus_one_one'],
    [13, 9, 40, 29, 'imagenet'],
    [129, 7, 17, 45, 'minus_one_one'],
    [50, 31, 50, 31, 'imagenet'],
    [1, 1, 5, 3, 'minus_one_one'],
    [301, 173, 257, 257, 'minus_one_one'],
    [211, 97, 71, 33, 'imagenet'],
    [97, 61, 33, 45, 'unit', hub('bicubic')],
    [13, 9, 40, 29, 'unit', hub('bicubic')],
    [211, 97, 71, 33, 'minus_one_one', hub('bilinear')],
    [61, 97, 61, 50, 'unit', { filter: 'bicubic', fixedPoint: 'pillow' }],
    // TF DeepLab's demo shrinks with PIL's LANCZOS (the 'pad-to-crop' input policy): support 3, negative lobes.
    [190, 130, 95, 65, 'minus_one_one', { filter: 'lanczos', fixedPoint: 'pillow' }],
    [13, 9, 40, 29, 'minus_one_one', { filter: 'lanczos', fixedPoint: 'pillow' }],
  ];
  for (const [inW, inH, outW, outH, normalization, resample] of cases) {
    const how = resample ? `, ${resample.filter} in ${resample.fixedPoint}'s fixed point` : '';
    it(`${inW}x${inH} -> ${outW}x${outH} (${normalization}${how}) equals the CPU pipeline bit for bit`, async () => {
      const ctx = await testContext();
      const rgba = randomRgba(inW, inH, inW * 1000 + outW);
      const p: FramePreprocessParams = { outW, outH, normalization, resample };
      const frame = rgbaTexture(ctx, inW, inH, rgba);
      const out = poisonedTensor(ctx, [1, outH, outW, 3]);
      try {
        await runOnce(ctx, 'framePreprocess test', () => prepareFramePreprocess(ctx, { frame, out }, p));
        const got = await readTensor(ctx, out);
        const want = framePreprocessCpu(rgba, inW, inH, p);
        expectClose(got, want, 'frame preprocessing');
        expect(bitMismatches(got, want), 'elements whose bits differ from the CPU pipeline').to.equal(0);
      } finally {
        frame.destroy();
        out.dispose();
      }
    });
  }

  it('reads a bgra8unorm texture (a canvas\'s usual format) as the same pixels', async () => {
    const ctx = await testContext();
    const [inW, inH, outW, outH] = [37, 23, 19, 29];
    const rgba = randomRgba(inW, inH, 7);
    const bgra = new Uint8Array(rgba.length);
    for (let i = 0; i < rgba.length; i += 4) bgra.set([rgba[i + 2], rgba[i + 1], rgba[i], rgba[i + 3]], i);
    const frame = rgbaTexture(ctx, inW, inH, bgra, 'bgra8unorm');
    const out = poisonedTensor(ctx, [1, outH, outW, 3]);
    try {
      const p: FramePreprocessParams = { outW, outH, normalization: 'imagenet' };
      await runOnce(ctx, 'framePreprocess bgra', () => prepareFramePreprocess(ctx, { frame, out }, p));
      expect(bitMismatches(await readTensor(ctx, out), framePreprocessCpu(rgba, inW, inH, p))).to.equal(0);
    } finally {
      frame.destroy();
      out.dispose();
    }
  });

  it('the same launches serve every new frame written into the texture', async () => {
    const ctx = await testContext();
    const [inW, inH, outW, outH] = [45, 27, 16, 21];
    const p: FramePreprocessParams = { outW, outH, normalization: 'minus_one_one' };
    const frame = rgbaTexture(ctx, inW, inH, randomRgba(inW, inH, 1));
    const out = poisonedTensor(ctx, [1, outH, outW, 3]);
    const dispatches = prepareFramePreprocess(ctx, { frame, out }, p);
    const live = ctx.liveBufferCount;
    try {
      for (let k = 2; k < 5; k++) {
        const rgba = randomRgba(inW, inH, k);
        ctx.device.queue.writeTexture({ texture: frame }, rgba, { bytesPerRow: inW * 4 }, [inW, inH]);
        const encoder = ctx.device.createCommandEncoder();
        const pass = encoder.beginComputePass();
        for (const d of dispatches) {
          pass.setPipeline(d.pipeline);
          pass.setBindGroup(0, d.bindGroup);
          pass.dispatchWorkgroups(...d.workgroups);
        }
        pass.end();
        await ctx.submitAndWait([encoder.finish()]);
        expect(bitMismatches(await readTensor(ctx, out), framePreprocessCpu(rgba, inW, inH, p)), `frame ${k}`).to.equal(0);
      }
      expect(ctx.liveBufferCount, 'nothing allocated per frame').to.equal(live);
    } finally {
      for (const d of dispatches) {
        ctx.destroyBuffer(d.uniformBuffer);
        for (const b of d.ownedBuffers ?? []) ctx.destroyBuffer(b);
      }
      frame.destroy();
      out.dispose();
    }
  });

  it('refuses textures it cannot read and outputs of the wrong shape, allocating nothing', async () => {
    const ctx = await testContext();
    const out = poisonedTensor(ctx, [1, 4, 5, 3]);
    const p: FramePreprocessParams = { outW: 5, outH: 4, normalization: 'imagenet' };
    const srgb = rgbaTexture(ctx, 6, 6, randomRgba(6, 6, 1), 'rgba8unorm-srgb');
    const unbindable = rgbaTexture(ctx, 6, 6, randomRgba(6, 6, 1), 'rgba8unorm', GPUTextureUsage.COPY_DST);
    const ok = rgbaTexture(ctx, 6, 6, randomRgba(6, 6, 1));
    const live = ctx.liveBufferCount;
    try {
      expectThrows(() => prepareFramePreprocess(ctx, { frame: srgb, out }, p), /texture format rgba8unorm-srgb is not read; use rgba8unorm or bgra8unorm/);
      expectThrows(() => prepareFramePreprocess(ctx, { frame: unbindable, out }, p), /without GPUTextureUsage.TEXTURE_BINDING/);
      expectThrows(() => prepareFramePreprocess(ctx, { frame: ok, out }, { ...p, outW: 6 }), /framePreprocess: out has shape \[1,4,5,3\], expected \[1,4,6,3\]/);
      expectThrows(() => prepareFramePreprocess(ctx, { frame: ok, out }, { ...p, outH: 0 }), /outH must be a positive integer, got 0/);
      expect(ctx.liveBufferCount, 'buffers left by the refused calls').to.equal(live);
    } finally {
      for (const t of [srgb, unbindable, ok]) t.destroy();
      out.dispose();
    }
  });
});
