import { expect } from 'chai';
import { runOnce } from '../../src/gpu/dispatch.js';
import { roundToHalf } from '../../src/gpu/half.js';
import { type GpuTensor, readTensor, uploadTensor } from '../../src/gpu/tensor.js';
import { type MatmulParams, matmul, matmulCpu, matmulOutputShape, prepareMatmul } from '../../src/kernels/matmul/matmul.js';
import { FP16_TOLERANCE, expectClose, expectThrows, numel, poisonedTensor, randomArray, testContext } from '../helpers.js';

/** Operand shapes for a product of sizes batch x M x N over K with the given transposes. */
function shapesFor(batch: number, M: number, N: number, K: number, p: MatmulParams): [number[], number[]] {
  return [p.transA ? [batch, K, M] : [batch, M, K], p.transB ? [batch, N, K] : [batch, K, N]];
}

const flags: [boolean, boolean][] = [[false, false], [false, true], [true, false], [true, true]];

describe('kernel: batched matmul', () => {
  it('CPU reference multiplies 2x3 by 3x2 by hand, and transposes', () => {
    const a = Float32Array.from([1, 2, 3, 4, 5, 6]);
    const b = Float32Array.from([7, 8, 9, 10, 11, 12]);
    const plain = { transA: false, transB: false, alpha: 1 };
    expect([...matmulCpu(a, [1, 2, 3], b, [1, 3, 2], plain)]).to.deep.equal([58, 64, 139, 154]);
    // a^T (3x2, a read as [1,2,3]) times b^T (2x3, b read as [1,3,2]), scaled by 0.5.
    expect([...matmulCpu(a, [1, 2, 3], b, [1, 3, 2], { transA: true, transB: true, alpha: 0.5 })]).to.deep.equal([19.5, 24.5, 29.5, 27, 34, 41, 34.5, 43.5, 52.5]);
  });

  // Sizes off the 4x4 blocks and the 32x32 of a workgroup everywhere, several workgroups each
  // way; attention's shapes (heads as batch, 64 tokens of 16); a one-element inner size.
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
      it(`GPU equals the CPU reference: ${batch} x (${M}x${K})${transA ? '^T' : ''} (${K}x${N})${transB ? '^T' : ''}, alpha ${alpha}`, async () => {
        const ctx = await testContext();
        const [aShape, bShape] = shapesFor(batch, M, N, K, p);
        const av = randomArray(numel(aShape));
        const bv = randomArray(numel(bShape));
        const a = uploadTensor(ctx, av, aShape);
        const b = uploadTensor(ctx, bv, bShape);
        const out = poisonedTensor(ctx, [batch, M, N]);
        try {
          await runOnce(ctx, 'matmul', () => prepareMatmul(ctx, { a, b, out }, p));
          expectClose(await readTensor(ctx, out), matmulCpu(Float64Array.from(av), aShape, bv, bShape, p), 'matmul');
        } finally {
          for (const t of [a, b, out]) t.dispose();
        }
      });
    }
  }

  it('half precision: f16 operands and output, f32 accumulation', async function () {
    const ctx = await testContext();
    if (!ctx.hasHalf) this.skip();
    const p = { transA: false, transB: true, alpha: 0.25 };
    const [aShape, bShape] = shapesFor(4, 37, 29, 24, p);
    const av = roundToHalf(randomArray(numel(aShape)));
    const bv = roundToHalf(randomArray(numel(bShape)));
    const a = uploadTensor(ctx, av, aShape, 'a', true);
    const b = uploadTensor(ctx, bv, bShape, 'b', true);
    const out = poisonedTensor(ctx, [4, 37, 29], 'out', 'f16');
    try {
      await runOnce(ctx, 'matmul f16', () => prepareMatmul(ctx, { a, b, out }, p));
      const got = await readTensor(ctx, out);
      expect(got.every(Number.isFinite), 'every output written').to.equal(true);
      expectClose(got, roundToHalf(matmulCpu(av, aShape, bv, bShape, p)), 'matmul f16', FP16_TOLERANCE);
    } finally {
      for (const t of [a, b, out]) t.dispose();
    }
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
