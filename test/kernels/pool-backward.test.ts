import { expect } from 'chai';
import { runOnce } from '../../src/gpu/dispatch.js';
import { type GpuTensor, readTensor, uploadTensor } from '../../src/gpu/tensor.js';
import { type Pool2dParams, globalAvgPoolCpu, pool2dCpu, pool2dOutputShape } from '../../src/kernels/pool/pool.js';
import {
  globalAvgPoolBackward,
  globalAvgPoolBackwardCpu,
  pool2dBackward,
  pool2dBackwardCpu,
  prepareGlobalAvgPoolBackward,
  preparePool2dBackward,
} from '../../src/kernels/pool/pool-backward.js';
import { expectGradient, f64, separatedValues } from '../gradcheck.js';
import { expectClose, numel, poisonedTensor, randomArray, rng, testContext, expectThrows, disposeAfterTest } from '../helpers.js';

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
const asymmetric: Pool2dParams = {
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
};
const cases: [string, Pool2dParams][] = [
  ['max 3x3 s2 p1 (ResNet stem)', stem],
  ['avg 3x3 s2 p1, count_include_pad', { ...stem, kind: 'avg', countIncludePad: true }],
  ['avg 3x3 s2 p1, real taps only', { ...stem, kind: 'avg', countIncludePad: false }],
  ['avg 3x2 s2x1, asymmetric pads, real taps only', asymmetric],
  ['max 3x2 s2x1, asymmetric pads', { ...asymmetric, kind: 'max' }],
  ['max 2x2 s2 (drops the odd last row/column)', { ...stem, kernelH: 2, kernelW: 2, padTop: 0, padBottom: 0, padLeft: 0, padRight: 0 }],
  ['avg 2x3 s3x1 (gaps between windows), include pad', { ...asymmetric, kernelH: 2, kernelW: 3, strideH: 3, padBottom: 1, countIncludePad: true }],
  ['max 5x5 s1 p2 (overlapping windows)', { ...stem, kernelH: 5, kernelW: 5, strideH: 1, strideW: 1, padTop: 2, padBottom: 2, padLeft: 2, padRight: 2 }],
];

/** Values drawn from only `levels` distinct numbers, so windows hold ties. */
function tiedArray(n: number, levels: number): Float32Array {
  const r = rng();
  return Float32Array.from({ length: n }, () => Math.floor(r() * levels) - 1);
}

describe('kernel: pool backward', () => {
  describe('CPU reference vs central differences', () => {
    it('global average pool', () => {
      const shape = [2, 3, 4, 3];
      const x = f64(randomArray(numel(shape)));
      const r = f64(randomArray(6));
      expectGradient((v) => globalAvgPoolCpu(v, shape), x, r, globalAvgPoolBackwardCpu(r, shape), 'globalAvgPool');
    });
    for (const [what, p] of cases) {
      it(what, () => {
        const shape = [2, 7, 6, 2];
        // Apart by more than the step: a max window's two largest never trade places within it.
        const x = separatedValues(numel(shape));
        const r = f64(randomArray(numel(pool2dOutputShape(shape, p))));
        const dx = pool2dBackwardCpu(r, shape, p, x);
        expect(dx).to.be.instanceOf(Float64Array);
        expectGradient((v) => pool2dCpu(v, shape, p), x, r, dx, what);
      });
    }
    it('max: a window of equal values sends the gradient to its first element in scan order', () => {
      const shape = [1, 2, 2, 1];
      const p: Pool2dParams = { ...stem, kernelH: 2, kernelW: 2, padTop: 0, padBottom: 0, padLeft: 0, padRight: 0 };
      expect(Array.from(pool2dBackwardCpu(new Float64Array([3]), shape, p, new Float64Array([5, 5, 5, 5])))).to.deep.equal([3, 0, 0, 0]);
      expect(Array.from(pool2dBackwardCpu(new Float64Array([3]), shape, p, new Float64Array([1, 5, 2, 5])))).to.deep.equal([0, 3, 0, 0]);
    });
  });

  const shape = [2, 13, 11, 19];

  async function checkGpu(p: Pool2dParams, x: Float32Array, s = shape): Promise<void> {
    const ctx = await testContext();
    const outShape = pool2dOutputShape(s, p);
    const dy = randomArray(numel(outShape));
    const input = uploadTensor(ctx, x, s, 'x');
    const dyT = uploadTensor(ctx, dy, outShape, 'dy');
    const dx = poisonedTensor(ctx, s, 'dx');
    try {
      await runOnce(ctx, 'pool backward test', () =>
        preparePool2dBackward(ctx, { input: p.kind === 'max' ? input : undefined, dy: dyT, dx }, p),
      );
      expectClose(await readTensor(ctx, dx), pool2dBackwardCpu(f64(dy), s, p, x), `${JSON.stringify(p)} ${s}`);
    } finally {
      input.dispose();
      dyT.dispose();
      dx.dispose();
    }
  }

  describe('GPU vs CPU reference', () => {
    for (const [what, p] of cases) {
      it(`${what} on [2,13,11,19]`, () => checkGpu(p, randomArray(numel(shape))));
    }
    // Ties are where "which element was the max" matters: both must pick the first in scan order.
    it('max pool with many ties (values from 3 levels)', () => checkGpu(stem, tiedArray(numel(shape), 3)));
    it('max 5x5 s1 p2 with ties', () => checkGpu(cases[7][1], tiedArray(numel(shape), 2)));
    it('max pool of a constant map: each window feeds its top-left real element', () =>
      checkGpu(stem, new Float32Array(numel(shape)).fill(0.25)));
    // All negative: padding must not act as a 0 that wins the max.
    it('max pool, all-negative input', () => checkGpu(stem, randomArray(numel(shape), -3, -1)));
  });

  describe('global average pool on the GPU', () => {
    for (const s of [
      [2, 13, 11, 19],
      [1, 65, 65, 5],
      [3, 1, 1, 7],
    ]) {
      it(`[${s}]`, async () => {
        const ctx = await testContext();
        const dy = randomArray(s[0] * s[3]);
        const dyT = disposeAfterTest(uploadTensor(ctx, dy, [s[0], 1, 1, s[3]]));
        const dx = disposeAfterTest(poisonedTensor(ctx, s));
        await runOnce(ctx, 'gap backward test', () => prepareGlobalAvgPoolBackward(ctx, { dy: dyT, dx }));
        expectClose(await readTensor(ctx, dx), globalAvgPoolBackwardCpu(dy, s), `globalAvgPoolBackward ${s}`);
      });
    }
  });

  it('convenience calls return dx with the input shape', async () => {
    const ctx = await testContext();
    const s = [1, 6, 5, 3];
    const x = randomArray(numel(s));
    const input = uploadTensor(ctx, x, s);
    const outShape = pool2dOutputShape(s, stem);
    const dy = randomArray(numel(outShape));
    const dyT = uploadTensor(ctx, dy, outShape);
    const gdy = randomArray(3);
    const gdyT = uploadTensor(ctx, gdy, [1, 1, 1, 3]);
    const made: GpuTensor[] = [];
    try {
      const dx = await pool2dBackward(ctx, dyT, s, stem, input);
      made.push(dx);
      expectClose(await readTensor(ctx, dx), pool2dBackwardCpu(dy, s, stem, x), 'pool2dBackward()');
      const gdx = await globalAvgPoolBackward(ctx, gdyT, s);
      made.push(gdx);
      expect(gdx.shape).to.deep.equal(s);
      expectClose(await readTensor(ctx, gdx), globalAvgPoolBackwardCpu(gdy, s), 'globalAvgPoolBackward()');
    } finally {
      for (const t of [input, dyT, gdyT, ...made]) t.dispose();
    }
  });

  describe('errors', () => {
    it('rejects a dy of the wrong shape and a max pool without its input', async () => {
      const ctx = await testContext();
      const dy = disposeAfterTest(uploadTensor(ctx, randomArray(2 * 7 * 7 * 19), [2, 7, 7, 19]));
      const goodDy = disposeAfterTest(uploadTensor(ctx, randomArray(2 * 7 * 6 * 19), [2, 7, 6, 19]));
      const dx = disposeAfterTest(poisonedTensor(ctx, shape));
      const wrongInput = disposeAfterTest(poisonedTensor(ctx, [2, 13, 11, 18]));
      const gdy = disposeAfterTest(uploadTensor(ctx, randomArray(2 * 18), [2, 1, 1, 18]));
      expectThrows(() => preparePool2dBackward(ctx, { dy, dx }, { ...stem, kind: 'avg' }), /pool2dBackward\(avg 3x3 s2,2\): dy has shape \[2,7,7,19\], expected \[2,7,6,19\]/);
      expectThrows(() => preparePool2dBackward(ctx, { dy: goodDy, dx }, stem), /max pooling needs the forward input/);
      expectThrows(() => preparePool2dBackward(ctx, { input: wrongInput, dy: goodDy, dx }, stem), /input has shape \[2,13,11,18\], expected \[2,13,11,19\]/);
      expectThrows(() => prepareGlobalAvgPoolBackward(ctx, { dy: gdy, dx }), /globalAvgPoolBackward: dy .*\[2,1,1,18\].*\[2,1,1,19\]/);
    });
    it('CPU reference: max pooling needs x; dy must fill the output shape', () => {
      expectThrows(() => pool2dBackwardCpu(new Float64Array(2 * 7 * 6 * 19), shape, stem), /max pooling needs the forward input x of shape \[2,13,11,19\]/);
      expectThrows(() => pool2dBackwardCpu(new Float64Array(5), shape, { ...stem, kind: 'avg' }), /5 values of dy do not fill \[2,7,6,19\]/);
    });
  });
});
