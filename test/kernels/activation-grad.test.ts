import { expect } from 'chai';
import { runOnce } from '../../src/gpu/dispatch.js';
import { readTensor, uploadTensor } from '../../src/gpu/tensor.js';
import { ACTIVATIONS, activateCpu } from '../../src/kernels/activation/activation.js';
import { activationGradCpu, prepareActivationGrad } from '../../src/kernels/activation/activation-grad.js';
import { expectGradient, f64 } from '../gradcheck.js';
import { expectClose, poisonedTensor, randomArray, rng, testContext, expectThrows, disposeAfterTest } from '../helpers.js';

/** Values in [-8, 8] at least 1e-3 away from every kink (-3, 0, 3, 6), where f' jumps. */
function awayFromKinks(n: number): Float64Array {
  const r = rng();
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let v: number;
    do v = -8 + 16 * r();
    while ([-3, 0, 3, 6].some((k) => Math.abs(v - k) < 1e-3));
    out[i] = v;
  }
  return out;
}

describe('kernel: activation gradient', () => {
  for (const a of ACTIVATIONS) {
    it(`${a}: CPU gradient equals central differences (float64)`, () => {
      const x = awayFromKinks(300);
      const r = f64(randomArray(300));
      expectGradient((v) => v.map((e) => activateCpu(e, a)), x, r, activationGradCpu(x, r, a), a);
    });

    it(`${a}: GPU equals the CPU reference, kinks included`, async () => {
      const ctx = await testContext();
      const shape = [2, 7, 9, 13];
      const n = 2 * 7 * 9 * 13;
      const xs = randomArray(n, -8, 8);
      for (const [i, k] of [-3, 0, 3, 6].entries()) xs[i] = k; // PyTorch's convention at the kinks
      const dys = randomArray(n);
      const x = disposeAfterTest(uploadTensor(ctx, xs, shape));
      const dy = disposeAfterTest(uploadTensor(ctx, dys, shape));
      const dx = disposeAfterTest(poisonedTensor(ctx, shape));
      await runOnce(ctx, 'activation grad test', () => prepareActivationGrad(ctx, { x, dy, dx }, a));
      const got = await readTensor(ctx, dx);
      expectClose(got, activationGradCpu(xs, dys, a), a);
      const ref = activationGradCpu(xs, dys, a);
      // The branch taken at each kink must be PyTorch's (0 stays 0; a slope is the slope). erf has
      // no kink, and its slope at 6, exp(-36), is within WGSL exp's accuracy (3 + 2|x| ulp) to 5e-6 only.
      if (a === 'erf') return;
      for (let i = 0; i < 4; i++) expect(got[i], `${a} at the kink ${xs[i]}`).to.be.closeTo(ref[i], 1e-6 * Math.abs(ref[i]));
    });
  }

  it('rejects a gradient of another shape', async () => {
    const ctx = await testContext();
    const x = disposeAfterTest(uploadTensor(ctx, randomArray(6), [1, 2, 3, 1]));
    const dy = disposeAfterTest(uploadTensor(ctx, randomArray(6), [1, 3, 2, 1]));
    expectThrows(() => prepareActivationGrad(ctx, { x, dy, dx: x }, 'relu'), /activationGrad\(relu\): dy has shape \[1,3,2,1\], expected \[1,2,3,1\]/);
  });
});
