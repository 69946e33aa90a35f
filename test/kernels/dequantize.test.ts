// Quantized weights widened on the GPU (dequantize.wgsl) against the CPU reference:
// random values, outputs poisoned with NaN, counts that fill no whole packed word.
import { expect } from 'chai';
import { runOnce } from '../../src/gpu/dispatch.js';
import { halfBits } from '../../src/gpu/half.js';
import { readTensor } from '../../src/gpu/tensor.js';
import { type QuantizedValues, dequantizeCpu, packedWords, prepareDequantize } from '../../src/kernels/quantize/dequantize.js';
import { expectClose, expectRejects, numel, poisonedTensor, rng, testContext } from '../helpers.js';

async function widenOnGpu(q: QuantizedValues, shape: number[]): Promise<Float32Array> {
  const ctx = await testContext();
  const words = packedWords(q);
  const packed = ctx.createBuffer(words.byteLength, GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST, 'packed');
  ctx.device.queue.writeBuffer(packed, 0, words.buffer, words.byteOffset, words.byteLength);
  const scales = q.kind === 'int8' ? ctx.createBuffer(q.scales.byteLength, GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST, 'scales') : undefined;
  if (scales && q.kind === 'int8') ctx.device.queue.writeBuffer(scales, 0, q.scales.buffer, q.scales.byteOffset, q.scales.byteLength);
  const out = poisonedTensor(ctx, shape);
  try {
    const channels = q.kind === 'int8' ? q.scales.length : undefined;
    await runOnce(ctx, 'dequantize test', () => prepareDequantize(ctx, { kind: q.kind, packed, scales, channels, out }));
    return await readTensor(ctx, out);
  } finally {
    out.dispose();
    ctx.destroyBuffer(packed);
    if (scales) ctx.destroyBuffer(scales);
  }
}

describe('kernel: dequantize (compact weights widened to f32)', () => {
  // [kh, kw, cin, cout]: counts 3*3*5*7 = 315 (not a multiple of 4), a depthwise 3x3x1x13, a 1x1.
  for (const shape of [
    [3, 3, 5, 7],
    [3, 3, 1, 13],
    [1, 1, 33, 3],
  ]) {
    it(`int8 per output channel ${JSON.stringify(shape)}`, async () => {
      const r = rng();
      const n = numel(shape);
      const channels = shape[3];
      const values = new Int8Array(n).map(() => Math.floor(r() * 255) - 127);
      values[0] = -128; // the full signed range, sign extension included
      values[n - 1] = 127;
      const scales = new Float32Array(channels).map(() => 1e-3 + r() * 0.05);
      const q: QuantizedValues = { kind: 'int8', values, scales };
      const got = await widenOnGpu(q, shape);
      expect(got.every(Number.isFinite), 'every output written').to.equal(true);
      const ref = dequantizeCpu(q);
      expect(ref[0]).to.equal(Math.fround(-128 * scales[0]));
      expectClose(got, ref, 'int8 widened');
    });

    it(`f16 ${JSON.stringify(shape)}`, async () => {
      const r = rng();
      const n = numel(shape);
      const bits = new Uint16Array(n).map(() => halfBits((r() * 2 - 1) * 4));
      bits[1] = 0x0001; // the smallest subnormal
      bits[2] = 0xfbff; // -65504
      const q: QuantizedValues = { kind: 'f16', bits };
      const got = await widenOnGpu(q, shape);
      // Widening f16 is exact.
      expect([...got]).to.deep.equal([...dequantizeCpu(q)]);
    });
  }

  it('refuses int8 without one scale per output channel, and too few packed bytes', async () => {
    const ctx = await testContext();
    const out = poisonedTensor(ctx, [1, 1, 4, 6]);
    const packed = ctx.createBuffer(24, GPUBufferUsage.STORAGE, 'packed');
    const small = ctx.createBuffer(8, GPUBufferUsage.STORAGE, 'small');
    const scales = ctx.createBuffer(16, GPUBufferUsage.STORAGE, 'scales');
    try {
      await expectRejects(() => prepareDequantize(ctx, { kind: 'int8', packed, scales, channels: 4, out }), /one scale per channel of the last axis \(6\), got 4/);
      await expectRejects(() => prepareDequantize(ctx, { kind: 'int8', packed, out }), /got none/);
      await expectRejects(() => prepareDequantize(ctx, { kind: 'f16', packed: small, out }), /8 packed bytes cannot hold 24 f16 values/);
    } finally {
      out.dispose();
      for (const b of [packed, small, scales]) ctx.destroyBuffer(b);
    }
  });
});
