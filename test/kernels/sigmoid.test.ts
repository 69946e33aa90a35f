// Sigmoid (the squeeze-and-excite gate of smp's SENets) at extreme inputs: exp(-x) overflowing
// must give the limit 0, not NaN (the ACTIVATIONS loops cover ordinary inputs in every kernel).
import { expect } from 'chai';
import { runOnce } from '../../src/gpu/dispatch.js';
import { readTensor, uploadTensor } from '../../src/gpu/tensor.js';
import { activateCpu } from '../../src/kernels/activation/activation.js';
import { activationDerivative } from '../../src/kernels/activation/activation-grad.js';
import { prepareElementwise } from '../../src/kernels/elementwise/elementwise.js';
import { poisonedTensor, testContext } from '../helpers.js';

describe('activation: sigmoid', () => {
  it('CPU reference: sigmoid(0) = 1/2, its derivative 1/4, limits 0 and 1', () => {
    expect(activateCpu(0, 'sigmoid')).to.equal(0.5);
    expect(activationDerivative(0, 'sigmoid')).to.equal(0.25);
    expect(activateCpu(-800, 'sigmoid')).to.equal(0);
    expect(activateCpu(800, 'sigmoid')).to.equal(1);
  });

  it('GPU: extreme inputs stay finite and in [0, 1]', async () => {
    const ctx = await testContext();
    const xs = Float32Array.from([-1000, -100, -88.8, -20, 0, 1e-8, 20, 100, 1000, 3.4e38]);
    const shape = [1, 1, 1, xs.length];
    const a = uploadTensor(ctx, xs, shape);
    const out = poisonedTensor(ctx, shape);
    try {
      await runOnce(ctx, 'sigmoid extremes', () => prepareElementwise(ctx, { a, out }, { op: 'unary', activation: 'sigmoid' }));
      const got = await readTensor(ctx, out);
      xs.forEach((x, i) => expect(got[i], `sigmoid(${x})`).to.be.closeTo(activateCpu(x, 'sigmoid'), 1e-6));
    } finally {
      a.dispose();
      out.dispose();
    }
  });
});
