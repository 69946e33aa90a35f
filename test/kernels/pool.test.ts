import { expect } from 'chai';
import { runOnce } from '../../src/gpu/dispatch.js';
import { readTensor, uploadTensor } from '../../src/gpu/tensor.js';
import {
  type Pool2dParams,
  globalAvgPool,
  globalAvgPoolCpu,
  pool2d,
  pool2dCpu,
  pool2dOutputShape,
  prepareGlobalAvgPool,
  preparePool2d,
} from '../../src/kernels/pool/pool.js';
import { expectClose, numel, poisonedTensor, randomArray, testContext, expectThrows, disposeAfterTest } from '../helpers.js';

describe('kernel: pool', () => {
  async function checkGlobal(shape: number[], lo = -1, hi = 1): Promise<void> {
    const ctx = await testContext();
    const x = randomArray(numel(shape), lo, hi);
    const input = uploadTensor(ctx, x, shape);
    const out = poisonedTensor(ctx, [shape[0], 1, 1, shape[3]]);
    try {
      await runOnce(ctx, 'globalAvgPool test', () => prepareGlobalAvgPool(ctx, { input, out }));
      expectClose(await readTensor(ctx, out), globalAvgPoolCpu(x, shape), `globalAvgPool ${shape}`);
    } finally {
      input.dispose();
      out.dispose();
    }
  }

  it('global average pool 65x65x5 (N=2)', () => checkGlobal([2, 65, 65, 5]));
  // 19 channels span two 16-wide channel blocks, the second one partial.
  it('global average pool 13x11x19 (N=2)', () => checkGlobal([2, 13, 11, 19]));
  // An offset mean is where a naive f32 running sum loses digits.
  it('global average pool 65x65x3 with a large common offset', () => checkGlobal([1, 65, 65, 3], 99, 101));
  it('global average pool of a 1x1 map is the identity', () => checkGlobal([3, 1, 1, 7]));

  const shape = [2, 13, 11, 19];

  async function checkPool(p: Pool2dParams, lo = -1, hi = 1): Promise<void> {
    const ctx = await testContext();
    const x = randomArray(numel(shape), lo, hi);
    const input = uploadTensor(ctx, x, shape);
    const outShape = pool2dOutputShape(shape, p);
    const out = poisonedTensor(ctx, outShape);
    try {
      await runOnce(ctx, 'pool2d test', () => preparePool2d(ctx, { input, out }, p));
      expectClose(await readTensor(ctx, out), pool2dCpu(x, shape, p), JSON.stringify(p));
    } finally {
      input.dispose();
      out.dispose();
    }
  }

  const stem: Pool2dParams = {
    kind: 'max',
    kernelH: 3,
    kernelW: 3,
    strideH: 2,
    strideW: 2,
    padTop: 1,
    padBottom: 1,
    padLeft: 1,
    padRight: 1,
  };

  it('max 3x3 stride 2 pad 1 (ResNet stem) gives 7x6', () => {
    expect(pool2dOutputShape(shape, stem)).to.deep.equal([2, 7, 6, 19]);
    return checkPool(stem);
  });
  // All inputs negative: padding that leaked in as 0 would win the max at the borders.
  it('max pool treats padding as -inf (all-negative input)', () => checkPool(stem, -3, -1));
  it('avg 3x3 stride 2 pad 1, count_include_pad = true', () => checkPool({ ...stem, kind: 'avg', countIncludePad: true }));
  it('avg 3x3 stride 2 pad 1, count_include_pad = false', () => checkPool({ ...stem, kind: 'avg', countIncludePad: false }));
  it('avg defaults to count_include_pad = true', async () => {
    const ctx = await testContext();
    const p: Pool2dParams = { ...stem, kind: 'avg' };
    const x = randomArray(numel(shape), 0.5, 1.5);
    const input = uploadTensor(ctx, x, shape);
    let out;
    try {
      out = await pool2d(ctx, input, p);
      const got = await readTensor(ctx, out);
      expectClose(got, pool2dCpu(x, shape, { ...p, countIncludePad: true }), 'avg default');
      // The corner window has 4 real taps of 9: with positive inputs the two conventions differ.
      expect(relDiff(got[0], pool2dCpu(x, shape, { ...p, countIncludePad: false })[0])).to.be.greaterThan(0.1);
    } finally {
      input.dispose();
      out?.dispose();
    }
  });
  it('avg 3x2, stride 2x1, asymmetric pads (TF SAME style), count_include_pad = false', () =>
    checkPool({
      kind: 'avg',
      kernelH: 3,
      kernelW: 2,
      strideH: 2,
      strideW: 1,
      padTop: 0,
      padBottom: 2,
      padLeft: 1,
      padRight: 0,
      countIncludePad: false,
    }));
  it('max 2x2 stride 2 without padding (drops the odd last row/column)', () =>
    checkPool({ kind: 'max', kernelH: 2, kernelW: 2, strideH: 2, strideW: 2, padTop: 0, padBottom: 0, padLeft: 0, padRight: 0 }));

  it('globalAvgPool convenience call returns [N,1,1,C]', async () => {
    const ctx = await testContext();
    const s = [2, 5, 3, 4];
    const x = randomArray(numel(s));
    const input = uploadTensor(ctx, x, s);
    let out;
    try {
      out = await globalAvgPool(ctx, input);
      expect(out.shape).to.deep.equal([2, 1, 1, 4]);
      expectClose(await readTensor(ctx, out), globalAvgPoolCpu(x, s), 'globalAvgPool()');
    } finally {
      input.dispose();
      out?.dispose();
    }
  });

  describe('errors', () => {
    it('rejects a wrong output shape', async () => {
      const ctx = await testContext();
      const input = disposeAfterTest(uploadTensor(ctx, randomArray(numel(shape)), shape));
      const bad = disposeAfterTest(poisonedTensor(ctx, [2, 7, 7, 19]));
      const badGlobal = disposeAfterTest(poisonedTensor(ctx, [2, 1, 1, 18]));
      expectThrows(() => preparePool2d(ctx, { input, out: bad }, stem), /pool2d\(max 3x3 s2,2\): out has shape \[2,7,7,19\], expected \[2,7,6,19\]/);
      expectThrows(() => prepareGlobalAvgPool(ctx, { input, out: badGlobal }), /globalAvgPool: out .*\[2,1,1,18\].*\[2,1,1,19\]/);
    });
    it('rejects zero-size and wrong-rank inputs', () => {
      expectThrows(() => pool2dOutputShape([2, 0, 11, 19], stem), /pool2d.*zero-size.*\[2,0,11,19\]/);
      expectThrows(() => globalAvgPoolCpu(new Float32Array(0), [1, 4, 0, 3]), /globalAvgPool.*zero-size/);
      expectThrows(() => pool2dOutputShape([13, 11, 19], stem), /pool2d.*input must have rank 4.*\[13,11,19\]/);
    });
    it('rejects windows larger than the padded input (output size <= 0)', () => {
      const p = { ...stem, kernelH: 5, kernelW: 5, padTop: 0, padBottom: 0, padLeft: 0, padRight: 0 };
      expectThrows(() => pool2dOutputShape([1, 3, 8, 2], p), /output size 0x2 <= 0/);
    });
    it('rejects pads >= kernel, zero strides and unknown kinds', () => {
      expectThrows(() => pool2dOutputShape(shape, { ...stem, padLeft: 3 }), /padLeft = 3 must be smaller than the kernel size 3/);
      expectThrows(() => pool2dOutputShape(shape, { ...stem, strideH: 0 }), /strideH must be a positive integer, got 0/);
      expectThrows(() => pool2dOutputShape(shape, { ...stem, kind: 'min' as 'max' }), /unknown kind 'min'/);
    });
  });
});

function relDiff(a: number, b: number): number {
  return Math.abs(a - b) / Math.max(Math.abs(a), Math.abs(b));
}
