import { expect } from 'chai';
import { runOnce } from '../../src/gpu/dispatch.js';
import { roundToHalf } from '../../src/gpu/half.js';
import { readTensor, uploadTensor } from '../../src/gpu/tensor.js';
import { groupNorm, groupNormCpu, groupNormGradCpu, prepareGroupNorm, prepareGroupNormGrad } from '../../src/kernels/groupnorm/groupnorm.js';
import { expectGradient, f64 } from '../gradcheck.js';
import { FP16_TOLERANCE, disposeAfterTest, expectClose, expectThrows, numel, poisonedTensor, randomArray, testContext } from '../helpers.js';

const eps = 1e-5;

describe('kernel: group norm (one group)', () => {
  it('CPU reference normalises each item over all its values by hand (biased variance), then scales and shifts per channel', () => {
    // Two items of [1,1,2] ([1,3] and [10,10]): the first has mean 2, variance 1; the second no spread.
    const out = groupNormCpu(Float64Array.from([1, 3, 10, 10]), [2, 1, 1, 2], Float64Array.from([1, 2]), Float64Array.from([0, 5]), { eps: 0.5 });
    const s = 1 / Math.sqrt(1.5);
    expect(out[0]).to.be.closeTo(-s, 1e-12);
    expect(out[1]).to.be.closeTo(2 * s + 5, 1e-12);
    expect(out[2]).to.be.closeTo(0, 1e-12);
    expect(out[3]).to.be.closeTo(5, 1e-12);
  });

  it('is a layer norm over each item when H = W = 1', () => {
    const shape = [3, 1, 1, 8];
    const x = f64(randomArray(24, -2, 2));
    const g = f64(randomArray(8));
    const out = groupNormCpu(x, shape, g, new Float64Array(8), { eps });
    for (let n = 0; n < 3; n++) {
      const row = x.subarray(n * 8, n * 8 + 8);
      const mean = row.reduce((a, v) => a + v, 0) / 8;
      const variance = row.reduce((a, v) => a + (v - mean) ** 2, 0) / 8;
      for (let c = 0; c < 8; c++) expect(out[n * 8 + c]).to.be.closeTo(((row[c] - mean) / Math.sqrt(variance + eps)) * g[c], 1e-12);
    }
  });

  // MobileViTV2's token maps [batch, patch pixels, patches, channels]; items past one 256-lane
  // workgroup's stride and shorter than it; values far from zero (the variance about the mean
  // must not cancel).
  const cases: [number[], number][] = [
    [[2, 4, 48, 64], 0],
    [[3, 5, 7, 13], 0],
    [[1, 1, 3, 5], 0],
    [[2, 9, 11, 37], 40],
  ];
  for (const [shape, offset] of cases) {
    it(`GPU equals the CPU reference on ${JSON.stringify(shape)}${offset ? `, values about ${offset}` : ''}`, async () => {
      const ctx = await testContext();
      const C = shape[3];
      const x = randomArray(numel(shape), offset - 2, offset + 2);
      const g = randomArray(C, -2, 2);
      const b = randomArray(C);
      const input = disposeAfterTest(uploadTensor(ctx, x, shape));
      const gamma = disposeAfterTest(uploadTensor(ctx, g, [C]));
      const beta = disposeAfterTest(uploadTensor(ctx, b, [C]));
      const out = disposeAfterTest(poisonedTensor(ctx, shape));
      await runOnce(ctx, 'group norm', () => prepareGroupNorm(ctx, { input, gamma, beta, out }, { eps }));
      expectClose(await readTensor(ctx, out), groupNormCpu(f64(x), shape, f64(g), f64(b), { eps }), `group norm ${shape}`);
    });
  }

  it('half precision: f16 input, weights and output', async function () {
    const ctx = await testContext();
    if (!ctx.hasHalf) this.skip();
    const shape = [2, 4, 17, 48];
    const x = roundToHalf(randomArray(numel(shape), -3, 3));
    const g = roundToHalf(randomArray(48, -2, 2));
    const b = roundToHalf(randomArray(48));
    const input = disposeAfterTest(uploadTensor(ctx, x, shape, 'x', true));
    const gamma = disposeAfterTest(uploadTensor(ctx, g, [48], 'g', true));
    const beta = disposeAfterTest(uploadTensor(ctx, b, [48], 'b', true));
    const out = disposeAfterTest(poisonedTensor(ctx, shape, 'out', 'f16'));
    await runOnce(ctx, 'group norm f16', () => prepareGroupNorm(ctx, { input, gamma, beta, out }, { eps }));
    const got = await readTensor(ctx, out);
    expect(got.every(Number.isFinite), 'every output written').to.equal(true);
    expectClose(got, roundToHalf(groupNormCpu(x, shape, g, b, { eps })), 'group norm f16', FP16_TOLERANCE);
  });

  it('groupNorm convenience call allocates the output', async () => {
    const ctx = await testContext();
    const shape = [2, 3, 10, 24];
    const x = randomArray(numel(shape), -2, 2);
    const g = randomArray(24, -2, 2);
    const b = randomArray(24);
    const [input, gamma, beta] = [uploadTensor(ctx, x, shape), uploadTensor(ctx, g, [24]), uploadTensor(ctx, b, [24])].map(disposeAfterTest);
    const out = disposeAfterTest(await groupNorm(ctx, input, gamma, beta, { eps: 1e-3 }));
    expect(out.shape).to.deep.equal(shape);
    expectClose(await readTensor(ctx, out), groupNormCpu(f64(x), shape, f64(g), f64(b), { eps: 1e-3 }), 'groupNorm()');
  });

  it('refuses a map of another rank, affine parameters of another length, a wrong output and a negative eps', async () => {
    const ctx = await testContext();
    const input = disposeAfterTest(uploadTensor(ctx, randomArray(24), [1, 2, 3, 4]));
    const short = disposeAfterTest(uploadTensor(ctx, randomArray(3), [3]));
    const four = disposeAfterTest(uploadTensor(ctx, randomArray(4), [4]));
    const out = disposeAfterTest(poisonedTensor(ctx, [2, 12]));
    expectThrows(() => prepareGroupNorm(ctx, { input, gamma: short, beta: four, out: input }, { eps }), 'groupNorm: gamma has shape [3], expected [4]');
    expectThrows(() => prepareGroupNorm(ctx, { input, gamma: four, beta: four, out }, { eps }), 'groupNorm: out has shape [2,12], expected [1,2,3,4]');
    expectThrows(() => prepareGroupNorm(ctx, { input, gamma: four, beta: four, out: input }, { eps: -1 }), 'groupNorm: eps must be a finite number >= 0, got -1');
    expectThrows(() => groupNormCpu(new Float32Array(24), [6, 4], new Float32Array(4), new Float32Array(4), { eps }), 'groupNorm: input must have rank 4, got shape [6,4]');
    expectThrows(() => groupNormCpu(new Float32Array(24), [1, 2, 3, 4], new Float32Array(4), new Float32Array(5), { eps }), 'groupNorm: beta has 5 values, expected 4');
  });
});

describe('kernel: group norm gradient', () => {
  it('CPU gradients of x, gamma and beta equal central differences (float64)', () => {
    const shape = [2, 3, 2, 5];
    const x = f64(randomArray(numel(shape), -2, 2));
    const g = f64(randomArray(5, -2, 2));
    const b = f64(randomArray(5));
    const r = f64(randomArray(numel(shape)));
    const grads = groupNormGradCpu(x, shape, g, r, { eps });
    expectGradient((v) => groupNormCpu(v, shape, g, b, { eps }), x, r, grads.dx, 'dx');
    expectGradient((v) => groupNormCpu(x, shape, v, b, { eps }), g, r, grads.dgamma, 'dgamma');
    expectGradient((v) => groupNormCpu(x, shape, g, v, { eps }), b, r, grads.dbeta, 'dbeta');
  });

  // Items past a 256-lane workgroup's stride, pixels past the parameter gradients' 64 lanes, and fewer.
  for (const shape of [[2, 4, 37, 64], [3, 1, 700, 3], [1, 1, 1, 5]]) {
    it(`GPU equals the CPU reference on ${JSON.stringify(shape)}`, async () => {
      const ctx = await testContext();
      const C = shape[3];
      const xs = randomArray(numel(shape), -2, 2);
      const gs = randomArray(C, -2, 2);
      const dys = randomArray(numel(shape));
      const x = disposeAfterTest(uploadTensor(ctx, xs, shape));
      const gamma = disposeAfterTest(uploadTensor(ctx, gs, [C]));
      const dy = disposeAfterTest(uploadTensor(ctx, dys, shape));
      const dx = disposeAfterTest(poisonedTensor(ctx, shape));
      const dgamma = disposeAfterTest(poisonedTensor(ctx, [C]));
      const dbeta = disposeAfterTest(poisonedTensor(ctx, [C]));
      await runOnce(ctx, 'group norm grad', () => prepareGroupNormGrad(ctx, { x, gamma, dy, dx, dgamma, dbeta }, { eps }));
      const ref = groupNormGradCpu(f64(xs), shape, f64(gs), f64(dys), { eps });
      expectClose(await readTensor(ctx, dx), ref.dx, 'dx');
      expectClose(await readTensor(ctx, dgamma), ref.dgamma, 'dgamma');
      expectClose(await readTensor(ctx, dbeta), ref.dbeta, 'dbeta');
    });
  }

  it('refuses gradients of another shape', async () => {
    const ctx = await testContext();
    const x = disposeAfterTest(uploadTensor(ctx, randomArray(12), [1, 1, 3, 4]));
    const four = disposeAfterTest(uploadTensor(ctx, randomArray(4), [4]));
    const wrong = disposeAfterTest(uploadTensor(ctx, randomArray(12), [1, 3, 1, 4]));
    expectThrows(() => prepareGroupNormGrad(ctx, { x, gamma: four, dy: wrong, dx: x, dgamma: four, dbeta: four }, { eps }), 'groupNormGrad: dy has shape [1,3,1,4], expected [1,1,3,4]');
  });
});
