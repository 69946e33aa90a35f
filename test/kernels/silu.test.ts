// SiLU (x * sigmoid(x), MobileViT's activation) where activations are applied: a standalone
// elementwise kernel and every convolution epilogue (the tests looping over ACTIVATIONS cover
// the elementwise, batch-norm and gradient kernels).
import { expect } from 'chai';
import { runOnce } from '../../src/gpu/dispatch.js';
import { readTensor, uploadTensor } from '../../src/gpu/tensor.js';
import { activateCpu } from '../../src/kernels/activation/activation.js';
import { convParams } from '../../src/kernels/conv2d/params.js';
import { prepareElementwise } from '../../src/kernels/elementwise/elementwise.js';
import { poisonedTensor, testContext } from '../helpers.js';
import { expectConvEpilogueAsCpu } from './conv-epilogue.js';

describe('activation: silu', () => {
  it('CPU reference: silu(0) = 0, silu(x) -> x for large x, -> 0 for very negative x', () => {
    expect(activateCpu(0, 'silu')).to.equal(0);
    expect(activateCpu(1, 'silu')).to.be.closeTo(1 / (1 + Math.exp(-1)), 1e-15);
    expect(activateCpu(50, 'silu')).to.be.closeTo(50, 1e-12);
    expect(activateCpu(-800, 'silu')).to.equal(-0);
  });

  it('GPU: extreme inputs stay finite (exp(-x) overflowing gives the limit 0)', async () => {
    const ctx = await testContext();
    const xs = Float32Array.from([-1000, -100, -88.8, -20, 0, 1e-8, 20, 100, 1000, 3.4e38]);
    const shape = [1, 1, 1, xs.length];
    const a = uploadTensor(ctx, xs, shape);
    const out = poisonedTensor(ctx, shape);
    try {
      await runOnce(ctx, 'silu extremes', () => prepareElementwise(ctx, { a, out }, { op: 'unary', activation: 'silu' }));
      const got = await readTensor(ctx, out);
      expect(got.every(Number.isFinite), `finite: ${Array.from(got)}`).to.equal(true);
      xs.forEach((x, i) => expect(got[i], `silu(${x})`).to.be.closeTo(Math.fround(activateCpu(x, 'silu')), Math.abs(activateCpu(x, 'silu')) * 1e-6 + 1e-30));
    } finally {
      a.dispose();
      out.dispose();
    }
  });

  const convCases: [string, number[], number[], Parameters<typeof convParams>[0]][] = [
    ['1x1 (pointwise, the GEMM)', [2, 7, 9, 13], [1, 1, 13, 19], {}],
    ['3x3 pad 1', [1, 11, 6, 5], [3, 3, 5, 7], { padTop: 1, padBottom: 1, padLeft: 1, padRight: 1 }],
    ['3x3 depthwise stride 2', [1, 13, 9, 12], [3, 3, 1, 12], { groups: 12, strideH: 2, strideW: 2, padTop: 1, padBottom: 1, padLeft: 1, padRight: 1 }],
  ];
  for (const [what, inShape, wShape, partial] of convCases) {
    it(`as a convolution's epilogue: ${what}, with bias`, () => expectConvEpilogueAsCpu(what, inShape, wShape, convParams({ ...partial, activation: 'silu' })));
  }
});
