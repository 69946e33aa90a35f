// GELU (PyTorch's exact x Phi(x), the Mix Transformer's activation) where activations are applied:
// its float64 reference's erfc against exact values, a standalone elementwise kernel over every
// piece of WGSL's erfc (the series, the continued fraction, the tails) and a depthwise conv's
// epilogue (Mix-FFN's). The tests looping over ACTIVATIONS cover the other kernels and the gradient.
import { expect } from 'chai';
import { runOnce } from '../../src/gpu/dispatch.js';
import { readTensor, uploadTensor } from '../../src/gpu/tensor.js';
import { activateCpu } from '../../src/kernels/activation/activation.js';
import { erf, erfc } from '../../src/kernels/activation/erf.js';
import { convParams } from '../../src/kernels/conv2d/params.js';
import { prepareElementwise } from '../../src/kernels/elementwise/elementwise.js';
import { poisonedTensor, testContext } from '../helpers.js';
import { expectConvEpilogueAsCpu } from './conv-epilogue.js';

/** erfc at points on both sides of the reference's split (2), from Python's math.erfc. */
const ERFC: readonly [number, number][] = [
  [0.1, 0.8875370839817152],
  [1, 0.15729920705028513],
  [1.9, 0.0072095707647425325],
  [2, 0.004677734981047265],
  [2.5, 0.0004069520174449589],
  [3, 2.2090496998585438e-5],
  [4, 1.541725790028002e-8],
  [6, 2.1519736712498916e-17],
];

/** gelu(x) = x/2 erfc(-x / sqrt 2), from Python's math.erfc. */
const GELU: readonly [number, number][] = [
  [-10, -7.619853024160593e-23],
  [-3, -0.004049694094890287],
  [-1, -0.15865525393145707],
  [-0.5, -0.15426876936299344],
  [0.3, 0.18537342665668577],
  [1, 0.8413447460685429],
  [2.5, 2.4844758366855597],
  [5, 4.99999856674214],
];

describe('activation: gelu', () => {
  it('CPU reference: erfc within 1e-13 relative of exact values, erf odd, gelu(0) = 0', () => {
    for (const [z, want] of ERFC) {
      expect(erfc(z), `erfc(${z})`).to.be.closeTo(want, want * 1e-13);
      expect(erfc(-z), `erfc(${-z})`).to.be.closeTo(2 - want, 1e-15);
      expect(erf(-z), `erf(${-z})`).to.equal(-erf(z));
    }
    for (const [x, want] of GELU) expect(activateCpu(x, 'gelu'), `gelu(${x})`).to.be.closeTo(want, Math.abs(want) * 1e-13);
    expect(activateCpu(0, 'gelu')).to.equal(0);
    expect(Number.isNaN(activateCpu(NaN, 'gelu'))).to.equal(true);
  });

  it('GPU: within f32 precision of the reference over both erfc forms and the tails, relatively where the value is small', async () => {
    const ctx = await testContext();
    const xs = Float32Array.from([-1000, -40, -12, -6, -3, -1.7, -1.69, -1, -0.3, -1e-6, 0, 1e-6, 0.3, 1, 1.69, 1.7, 3, 6, 12, 100, 3.4e38]);
    const shape = [1, 1, 1, xs.length];
    const a = uploadTensor(ctx, xs, shape);
    const out = poisonedTensor(ctx, shape);
    try {
      await runOnce(ctx, 'gelu points', () => prepareElementwise(ctx, { a, out }, { op: 'unary', activation: 'gelu' }));
      const got = await readTensor(ctx, out);
      xs.forEach((x, i) => {
        const want = activateCpu(x, 'gelu');
        // exp(-x^2 / 2) in f32 carries its argument's rounding: relative error growing as x^2 2^-24.
        expect(got[i], `gelu(${x})`).to.be.closeTo(Math.fround(want), Math.abs(want) * (2e-6 + x * x * 1e-7) + 1e-37);
      });
    } finally {
      a.dispose();
      out.dispose();
    }
  });

  it("as a depthwise convolution's epilogue with bias (Mix-FFN), dilated", () =>
    expectConvEpilogueAsCpu('gelu depthwise', [1, 13, 9, 12], [3, 3, 1, 12], convParams({ groups: 12, dilationH: 2, dilationW: 2, padTop: 2, padBottom: 2, padLeft: 2, padRight: 2, activation: 'gelu' })));
});
