import { expect } from 'chai';
import { runOnce } from '../../src/gpu/dispatch.js';
import { roundToHalf } from '../../src/gpu/half.js';
import { type GpuTensor, createTensor, readTensor, uploadTensor } from '../../src/gpu/tensor.js';
import { layerNorm, layerNormCpu, layerNormGradCpu, layerNormScratchShape, prepareLayerNorm, prepareLayerNormGrad } from '../../src/kernels/layernorm/layernorm.js';
import { expectGradient, f64 } from '../gradcheck.js';
import { FP16_TOLERANCE, expectClose, expectThrows, numel, poisonedTensor, randomArray, testContext } from '../helpers.js';

const channelsOf = (shape: number[]): number => shape[shape.length - 1];

describe('kernel: layer norm', () => {
  it('CPU reference normalises a row by hand (biased variance), then scales and shifts', () => {
    // [1, 2, 3]: mean 2, variance 2/3.
    const out = layerNormCpu(Float64Array.from([1, 2, 3]), [1, 3], Float64Array.from([1, 2, 1]), Float64Array.from([0, 0, 5]), { eps: 0 });
    const s = Math.sqrt(1.5);
    expect(out[0]).to.be.closeTo(-s, 1e-12);
    expect(out[1]).to.be.closeTo(0, 1e-12);
    expect(out[2]).to.be.closeTo(s + 5, 1e-12);
  });

  // Tokens of MobileViT's widths, a map, many short rows, and rows sitting far from zero (the
  // variance about the mean must not cancel).
  const cases: [number[], number][] = [
    [[2, 37, 64], 0],
    [[3, 5, 7, 13], 0],
    [[300, 5], 0],
    [[4, 9, 80], 40],
  ];
  for (const [shape, offset] of cases) {
    it(`GPU equals the CPU reference on ${JSON.stringify(shape)}${offset ? `, values about ${offset}` : ''}`, async () => {
      const ctx = await testContext();
      const C = channelsOf(shape);
      const x = randomArray(numel(shape), offset - 2, offset + 2);
      const g = randomArray(C, -2, 2);
      const b = randomArray(C);
      const input = uploadTensor(ctx, x, shape);
      const gamma = uploadTensor(ctx, g, [C]);
      const beta = uploadTensor(ctx, b, [C]);
      const out = poisonedTensor(ctx, shape);
      try {
        await runOnce(ctx, 'layer norm', () => prepareLayerNorm(ctx, { input, gamma, beta, out }, { eps: 1e-5 }));
        expectClose(await readTensor(ctx, out), layerNormCpu(f64(x), shape, f64(g), f64(b), { eps: 1e-5 }), `layer norm ${shape}`);
      } finally {
        for (const t of [input, gamma, beta, out]) t.dispose();
      }
    });
  }

  it('half precision: f16 input, weights and output', async function () {
    const ctx = await testContext();
    if (!ctx.hasHalf) this.skip();
    const shape = [2, 17, 48];
    const x = roundToHalf(randomArray(numel(shape), -3, 3));
    const g = roundToHalf(randomArray(48, -2, 2));
    const b = roundToHalf(randomArray(48));
    const tensors = [uploadTensor(ctx, x, shape, 'x', true), uploadTensor(ctx, g, [48], 'g', true), uploadTensor(ctx, b, [48], 'b', true)];
    const out = poisonedTensor(ctx, shape, 'out', 'f16');
    try {
      const [input, gamma, beta] = tensors;
      await runOnce(ctx, 'layer norm f16', () => prepareLayerNorm(ctx, { input, gamma, beta, out }, { eps: 1e-5 }));
      const got = await readTensor(ctx, out);
      expect(got.every(Number.isFinite), 'every output written').to.equal(true);
      expectClose(got, roundToHalf(layerNormCpu(x, shape, g, b, { eps: 1e-5 })), 'layer norm f16', FP16_TOLERANCE);
    } finally {
      for (const t of [...tensors, out]) t.dispose();
    }
  });

  it('layerNorm convenience call allocates the output', async () => {
    const ctx = await testContext();
    const shape = [3, 10, 24];
    const x = randomArray(numel(shape), -2, 2);
    const g = randomArray(24, -2, 2);
    const b = randomArray(24);
    const tensors = [uploadTensor(ctx, x, shape), uploadTensor(ctx, g, [24]), uploadTensor(ctx, b, [24])];
    let out: GpuTensor | undefined;
    try {
      out = await layerNorm(ctx, tensors[0], tensors[1], tensors[2], { eps: 1e-3 });
      expect(out.shape).to.deep.equal(shape);
      expectClose(await readTensor(ctx, out), layerNormCpu(f64(x), shape, f64(g), f64(b), { eps: 1e-3 }), 'layerNorm()');
    } finally {
      for (const t of [...tensors, out]) t?.dispose();
    }
  });

  it('refuses affine parameters of another length, a wrong output and a negative eps', async () => {
    const ctx = await testContext();
    const input = uploadTensor(ctx, randomArray(24), [2, 3, 4]);
    const short = uploadTensor(ctx, randomArray(3), [3]);
    const four = uploadTensor(ctx, randomArray(4), [4]);
    const out = poisonedTensor(ctx, [2, 12]);
    try {
      expectThrows(() => prepareLayerNorm(ctx, { input, gamma: short, beta: four, out: input }, { eps: 1e-5 }), 'layerNorm: gamma has shape [3], expected [4]');
      expectThrows(() => prepareLayerNorm(ctx, { input, gamma: four, beta: four, out }, { eps: 1e-5 }), 'layerNorm: out has shape [2,12], expected [2,3,4]');
      expectThrows(() => prepareLayerNorm(ctx, { input, gamma: four, beta: four, out: input }, { eps: -1 }), 'layerNorm: eps must be a finite number >= 0, got -1');
      expectThrows(() => layerNormCpu(new Float32Array(24), [2, 3, 4], new Float32Array(4), new Float32Array(5), { eps: 0 }), 'layerNorm: beta has 5 values, expected 4');
    } finally {
      for (const t of [input, short, four, out]) t.dispose();
    }
  });
});

describe('kernel: layer norm gradient', () => {
  const eps = 1e-5;
  it('CPU gradients of x, gamma and beta equal central differences (float64)', () => {
    const shape = [3, 4, 7];
    const x = f64(randomArray(numel(shape), -2, 2));
    const g = f64(randomArray(7, -2, 2));
    const b = f64(randomArray(7));
    const r = f64(randomArray(numel(shape)));
    const grads = layerNormGradCpu(x, shape, g, r, { eps });
    expectGradient((v) => layerNormCpu(v, shape, g, b, { eps }), x, r, grads.dx, 'dx');
    expectGradient((v) => layerNormCpu(x, shape, v, b, { eps }), g, r, grads.dgamma, 'dgamma');
    expectGradient((v) => layerNormCpu(x, shape, g, v, { eps }), b, r, grads.dbeta, 'dbeta');
  });

  // Rows beyond a workgroup's 64 threads, and fewer.
  for (const shape of [[2, 37, 64], [700, 3], [1, 1, 5]]) {
    it(`GPU equals the CPU reference on ${JSON.stringify(shape)}`, async () => {
      const ctx = await testContext();
      const C = channelsOf(shape);
      const xs = randomArray(numel(shape), -2, 2);
      const gs = randomArray(C, -2, 2);
      const dys = randomArray(numel(shape));
      const x = uploadTensor(ctx, xs, shape);
      const gamma = uploadTensor(ctx, gs, [C]);
      const dy = uploadTensor(ctx, dys, shape);
      const dx = poisonedTensor(ctx, shape);
      const dgamma = poisonedTensor(ctx, [C]);
      const dbeta = poisonedTensor(ctx, [C]);
      const stats = createTensor(ctx, layerNormScratchShape(shape));
      try {
        await runOnce(ctx, 'layer norm grad', () => prepareLayerNormGrad(ctx, { x, gamma, dy, dx, dgamma, dbeta, stats }, { eps }));
        const ref = layerNormGradCpu(f64(xs), shape, f64(gs), f64(dys), { eps });
        expectClose(await readTensor(ctx, dx), ref.dx, 'dx');
        expectClose(await readTensor(ctx, dgamma), ref.dgamma, 'dgamma');
        expectClose(await readTensor(ctx, dbeta), ref.dbeta, 'dbeta');
      } finally {
        for (const t of [x, gamma, dy, dx, dgamma, dbeta, stats]) t.dispose();
      }
    });
  }

  it('refuses statistics scratch of the wrong size', async () => {
    const ctx = await testContext();
    const x = uploadTensor(ctx, randomArray(12), [3, 4]);
    const four = uploadTensor(ctx, randomArray(4), [4]);
    const stats = createTensor(ctx, [3]);
    try {
      expectThrows(() => prepareLayerNormGrad(ctx, { x, gamma: four, dy: x, dx: x, dgamma: four, dbeta: four, stats }, { eps }), 'layerNormGrad: stats has shape [3], expected [6]');
    } finally {
      for (const t of [x, four, stats]) t.dispose();
    }
  });
});
