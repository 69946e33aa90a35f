import { expect } from 'chai';
import { runOnce } from '../../src/gpu/dispatch.js';
import { roundToHalf } from '../../src/gpu/half.js';
import { type GpuTensor, readTensor, uploadTensor } from '../../src/gpu/tensor.js';
import { type MatmulParams, matmul, matmulCpu, matmulGeometry, matmulOutputShape, matmulSpace, prepareMatmul } from '../../src/kernels/matmul/matmul.js';
import { type MatmulTile, defaultMatmulTile, matmulTileProblem, matmulTiles } from '../../src/kernels/matmul/tiles.js';
import type { KernelLimits } from '../../src/gpu/kernel-limits.js';
import { FP16_TOLERANCE, expectClose, expectThrows, numel, poisonedTensor, randomArray, testContext } from '../helpers.js';
import { ADAPTER_CLASSES, everyCandidate } from './every-candidate.js';

/** Operand shapes for a product of sizes batch x M x N over K with the given transposes. */
function shapesFor(batch: number, M: number, N: number, K: number, p: MatmulParams): [number[], number[]] {
  return [p.transA ? [batch, K, M] : [batch, M, K], p.transB ? [batch, N, K] : [batch, K, N]];
}

const flags: [boolean, boolean][] = [[false, false], [false, true], [true, false], [true, true]];

/**
 * Runs one product on the GPU (operands of `dtype`, a NaN-poisoned output) with `tile` (default:
 * the context's choice) and checks it against the CPU reference (in f16: on the rounded operands,
 * the result rounded as the kernel stores it).
 */
async function checkProduct(batch: number, M: number, N: number, K: number, p: MatmulParams, tile?: MatmulTile, what = '', dtype: 'f32' | 'f16' = 'f32'): Promise<void> {
  const ctx = await testContext();
  const [aShape, bShape] = shapesFor(batch, M, N, K, p);
  const half = dtype === 'f16';
  const av = half ? roundToHalf(randomArray(numel(aShape))) : randomArray(numel(aShape));
  const bv = half ? roundToHalf(randomArray(numel(bShape))) : randomArray(numel(bShape));
  const a = uploadTensor(ctx, av, aShape, 'a', half);
  const b = uploadTensor(ctx, bv, bShape, 'b', half);
  const out = poisonedTensor(ctx, [batch, M, N], 'out', dtype);
  try {
    await runOnce(ctx, 'matmul', () => prepareMatmul(ctx, { a, b, out }, p, tile));
    const got = await readTensor(ctx, out);
    const ref = matmulCpu(Float64Array.from(av), aShape, bv, bShape, p);
    const name = `matmul ${what}${batch} x (${M}x${K})${p.transA ? '^T' : ''} (${K}x${N})${p.transB ? '^T' : ''}`;
    if (!half) return expectClose(got, ref, name);
    expect(got.every(Number.isFinite), `${name}: every output written`).to.equal(true);
    expectClose(got, roundToHalf(Float32Array.from(ref)), name, FP16_TOLERANCE);
  } finally {
    for (const t of [a, b, out]) t.dispose();
  }
}

describe('kernel: batched matmul', () => {
  it('CPU reference multiplies 2x3 by 3x2 by hand, and transposes', () => {
    const a = Float32Array.from([1, 2, 3, 4, 5, 6]);
    const b = Float32Array.from([7, 8, 9, 10, 11, 12]);
    const plain = { transA: false, transB: false, alpha: 1 };
    expect([...matmulCpu(a, [1, 2, 3], b, [1, 3, 2], plain)]).to.deep.equal([58, 64, 139, 154]);
    // a^T (3x2, a read as [1,2,3]) times b^T (2x3, b read as [1,3,2]), scaled by 0.5.
    expect([...matmulCpu(a, [1, 2, 3], b, [1, 3, 2], { transA: true, transB: true, alpha: 0.5 })]).to.deep.equal([19.5, 24.5, 29.5, 27, 34, 41, 34.5, 43.5, 52.5]);
  });

  // The context's choice (the default): sizes off its blocks and workgroups everywhere, several
  // workgroups each way; attention's shapes (heads as batch, 64 tokens of 16); a one-element
  // inner size.
  const sizes: [number, number, number, number, number][] = [
    [3, 37, 21, 19, 1],
    [8, 64, 64, 16, 0.25],
    [2, 17, 33, 1, -2],
    [1, 1, 40, 70, 1],
    [2, 70, 67, 45, 0.5],
  ];
  for (const [transA, transB] of flags) {
    for (const [batch, M, N, K, alpha] of sizes) {
      const p = { transA, transB, alpha };
      it(`GPU equals the CPU reference: ${batch} x (${M}x${K})${transA ? '^T' : ''} (${K}x${N})${transB ? '^T' : ''}, alpha ${alpha}`, () => checkProduct(batch, M, N, K, p));
    }
  }

  // Tuning may change only speed: every tile of every adapter class's space against the CPU
  // reference. Odd sizes are off every block (2 to 8 rows and columns an invocation) and every
  // workgroup; the second crosses several workgroups each way for every tile.
  const candidateSizes: [number, number, number, number][] = [
    [3, 37, 21, 19],
    [2, 137, 263, 23],
  ];
  for (const [transA, transB] of flags) {
    for (const [batch, M, N, K] of candidateSizes) {
      const p = { transA, transB, alpha: 0.5 };
      it(`every tile a tuner may choose, on every adapter class: ${batch} x (${M}x${K})${transA ? '^T' : ''} (${K}x${N})${transB ? '^T' : ''}`, async () => {
        const ctx = await testContext();
        const [aShape, bShape] = shapesFor(batch, M, N, K, p);
        const g = matmulGeometry(aShape, bShape, p);
        await everyCandidate((cls) => matmulSpace({ g, p, cls, limits: ctx.kernelLimits, dtype: 'f32' }), (tile, name) => checkProduct(batch, M, N, K, p, tile, `${name} `));
      });
    }
  }

  it('every tile on f16 tensors (f32 sums), either operand transposed', async function () {
    // Cold, on a loaded 2-core host, 209 s (stress runs, docs/testing.md): twice that and more.
    this.timeout(600_000);
    const ctx = await testContext();
    if (!ctx.hasHalf) this.skip();
    for (const [transA, transB] of [[false, true], [true, false]] as const) {
      const p = { transA, transB, alpha: 0.25 };
      const [aShape, bShape] = shapesFor(2, 37, 29, 24, p);
      const g = matmulGeometry(aShape, bShape, p);
      await everyCandidate((cls) => matmulSpace({ g, p, cls, limits: ctx.kernelLimits, dtype: 'f16' }), (tile, name) => checkProduct(2, 37, 29, 24, p, tile, `${name} f16 `, 'f16'));
    }
  });

  it("offers each adapter class its default first, in the product's precision, and says why a tile cannot run", async () => {
    const ctx = await testContext();
    const p = { transA: false, transB: true, alpha: 1 };
    const g = matmulGeometry([16, 256, 30], [16, 256, 30], p);
    for (const cls of ADAPTER_CLASSES) {
      const space = matmulSpace({ g, p, cls, limits: ctx.kernelLimits, dtype: 'f32' });
      expect(space.candidates[0].variant, cls).to.deep.equal(defaultMatmulTile(cls));
      expect(space.candidates.map((c) => c.name), `${cls}: the first tiling among them`).to.include('t4x4w8x8');
      expect(space.candidates.length, `${cls}: a small space`).to.be.within(2, 12);
      expect(space.candidates.every((c) => c.accumulate === 'f32'), `${cls}: f32 sums`).to.equal(true);
      const half = matmulSpace({ g, p, cls, limits: ctx.kernelLimits, dtype: 'f16' });
      expect([half.precision.storage, half.shape, half.candidates.map((c) => c.name)], `${cls}: f16, the same tiles under another key`).to.deep.equal(['f16', space.shape, space.candidates.map((c) => c.name)]);
    }
    const limits: KernelLimits = { ...ctx.kernelLimits, maxComputeInvocationsPerWorkgroup: 64 };
    expect(matmulTiles('gpu', limits).every((v) => v.WGX * v.WGY <= 64), 'tiles past the device are not offered').to.equal(true);
    expect(matmulTileProblem({ TM: 8, TN: 16, WGX: 8, WGY: 8 }, limits)).to.match(/more than 64 accumulators/);
    expect(matmulTileProblem({ TM: 4, TN: 4, WGX: 16, WGY: 16 }, limits)).to.match(/a 16 x 16 workgroup exceeds the device's limits/);
    expect(matmulTileProblem({ TM: 0, TN: 4, WGX: 8, WGY: 8 }, limits)).to.match(/positive integers/);
    const a = uploadTensor(ctx, randomArray(8), [2, 2, 2]);
    const out = poisonedTensor(ctx, [2, 2, 2]);
    try {
      expectThrows(() => prepareMatmul(ctx, { a, b: a, out }, { ...p, transB: false }, { TM: 4, TN: 4, WGX: 64, WGY: 64 }), /matmul: tile t4x4w64x64 cannot run: a 64 x 64 workgroup exceeds/);
    } finally {
      a.dispose();
      out.dispose();
    }
  });

  it('half precision: f16 operands and output, f32 accumulation', async function () {
    const ctx = await testContext();
    if (!ctx.hasHalf) this.skip();
    await checkProduct(4, 37, 29, 24, { transA: false, transB: true, alpha: 0.25 }, undefined, 'f16 ', 'f16');
  });

  it('matmul convenience call allocates [batch, M, N]', async () => {
    const ctx = await testContext();
    const p = { transA: true, transB: false, alpha: 1 };
    const av = randomArray(2 * 5 * 3);
    const bv = randomArray(2 * 5 * 4);
    const a = uploadTensor(ctx, av, [2, 5, 3]);
    const b = uploadTensor(ctx, bv, [2, 5, 4]);
    let out: GpuTensor | undefined;
    try {
      out = await matmul(ctx, a, b, p);
      expect(out.shape).to.deep.equal([2, 3, 4]);
      expectClose(await readTensor(ctx, out), matmulCpu(av, [2, 5, 3], bv, [2, 5, 4], p), 'matmul()');
    } finally {
      for (const t of [a, b, out]) t?.dispose();
    }
  });

  it('refuses operands that are not rank 3, batches and inner sizes that differ, a wrong output', async () => {
    const plain = { transA: false, transB: false, alpha: 1 };
    expectThrows(() => matmulOutputShape([4, 5], [1, 5, 2], plain), 'matmul: a must be [batch, rows, columns], got [4,5]');
    expectThrows(() => matmulOutputShape([2, 4, 5], [3, 5, 2], plain), 'matmul: batches differ in [2,4,5] x [3,5,2]');
    expectThrows(() => matmulOutputShape([2, 4, 5], [2, 4, 2], plain), 'matmul: inner sizes differ in [2,4,5] x [2,4,2] (5 vs 4)');
    expectThrows(() => matmulOutputShape([2, 4, 5], [2, 4, 2], { ...plain, transB: true }), 'matmul: inner sizes differ in [2,4,5] x [2,4,2]^T (5 vs 2)');
    expectThrows(() => matmulOutputShape([2, 4, 5], [2, 5, 2], { ...plain, alpha: NaN }), 'matmul: alpha must be finite, got NaN');
    const ctx = await testContext();
    const a = uploadTensor(ctx, randomArray(8), [2, 2, 2]);
    const out = poisonedTensor(ctx, [2, 4]);
    try {
      expectThrows(() => prepareMatmul(ctx, { a, b: a, out }, plain), 'matmul: out has shape [2,4], expected [2,2,2]');
    } finally {
      a.dispose();
      out.dispose();
    }
  });
});
