// Sigmoid (EfficientNet's squeeze-excite gate) at the extremes: the forward's exp(-x) and the
// gradient's cancellation (1 - s near 1) are where a float32 kernel goes wrong; the tests looping
// over ACTIVATIONS cover the ordinary range in every kernel.
import { expect } from 'chai';
import { runOnce } from '../../src/gpu/dispatch.js';
import { readTensor, uploadTensor } from '../../src/gpu/tensor.js';
import { activateCpu } from '../../src/kernels/activation/activation.js';
import { activationGradCpu, prepareActivationGrad } from '../../src/kernels/activation/activation-grad.js';
import { prepareElementwise } from '../../src/kernels/elementwise/elementwise.js';
import { disposeAfterTest, poisonedTensor, testContext } from '../helpers.js';

const XS = Float32Array.from([-1000, -100, -88.8, -20, -6, 0, 1e-8, 6, 20, 100, 1000, 3.4e38]);
const SHAPE = [1, 1, 1, XS.length];

describe('activation: sigmoid', () => {
  it('CPU reference: sigmoid(0) = 1/2, -> 1 for large x, -> 0 for very negative x', () => {
    expect(activateCpu(0, 'sigmoid')).to.equal(0.5);
    expect(activateCpu(1, 'sigmoid')).to.be.closeTo(1 / (1 + Math.exp(-1)), 1e-15);
    expect(activateCpu(50, 'sigmoid')).to.equal(1);
    expect(activateCpu(-800, 'sigmoid')).to.equal(0);
  });

  it('GPU forward: extreme inputs give the limits, finite everywhere', async () => {
    const ctx = await testContext();
    const a = disposeAfterTest(uploadTensor(ctx, XS, SHAPE));
    const out = disposeAfterTest(poisonedTensor(ctx, SHAPE));
    await runOnce(ctx, 'sigmoid extremes', () => prepareElementwise(ctx, { a, out }, { op: 'unary', activation: 'sigmoid' }));
    const got = await readTensor(ctx, out);
    XS.forEach((x, i) => expect(got[i], `sigmoid(${x})`).to.be.closeTo(activateCpu(x, 'sigmoid'), activateCpu(x, 'sigmoid') * 1e-6 + 1e-30));
  });

  it('GPU gradient: relative accuracy in the tails too (no 1 - s cancellation), 0 at the extremes', async () => {
    const ctx = await testContext();
    const ones = new Float32Array(XS.length).fill(1);
    const x = disposeAfterTest(uploadTensor(ctx, XS, SHAPE));
    const dy = disposeAfterTest(uploadTensor(ctx, ones, SHAPE));
    const dx = disposeAfterTest(poisonedTensor(ctx, SHAPE));
    await runOnce(ctx, 'sigmoid grad extremes', () => prepareActivationGrad(ctx, { x, dy, dx }, 'sigmoid'));
    const got = await readTensor(ctx, dx);
    const ref = activationGradCpu(Float64Array.from(XS), Float64Array.from(ones), 'sigmoid');
    XS.forEach((v, i) => expect(got[i], `sigmoid'(${v})`).to.be.closeTo(ref[i], ref[i] * 1e-5 + 1e-30));
  });
});
