import { runOnce } from '../../src/gpu/dispatch.js';
import { type GpuTensor, createTensor, readTensor, uploadTensor } from '../../src/gpu/tensor.js';
import {
  type BatchNormGradMode,
  batchNormGradCpu,
  batchNormScratchShapes,
  batchNormTrainCpu,
  prepareBatchNormGrad,
  prepareBatchNormTrain,
} from '../../src/kernels/batchnorm/batchnorm-train.js';
import { expectGradient, f64 } from '../gradcheck.js';
import { expectClose, numel, poisonedTensor, randomArray, testContext, expectThrows } from '../helpers.js';

const EPS = 1e-3;
const P = { eps: EPS, momentum: 0.1 };

function stats(C: number) {
  return { gamma: f64(randomArray(C, 0.5, 2)), beta: f64(randomArray(C)), rm: f64(randomArray(C)), rv: f64(randomArray(C, 0.5, 2)) };
}

describe('kernel: batch norm in training mode, and batch-norm gradients', () => {
  describe('CPU gradients equal central differences (float64)', () => {
    const shape = [2, 3, 4, 5];
    const C = 5;
    it('train mode: dx, dgamma, dbeta through the batch statistics', () => {
      const s = stats(C);
      const x = f64(randomArray(numel(shape), -2, 2));
      const r = f64(randomArray(numel(shape)));
      const fwd = batchNormTrainCpu(x, shape, s.gamma, s.beta, s.rm, s.rv, P);
      const g = batchNormGradCpu(x, r, shape, s.gamma, fwd.mean, fwd.variance, EPS, 'train');
      expectGradient((v) => batchNormTrainCpu(v, shape, s.gamma, s.beta, s.rm, s.rv, P).y, x, r, g.dx, 'dx');
      expectGradient((v) => batchNormTrainCpu(x, shape, v, s.beta, s.rm, s.rv, P).y, s.gamma, r, g.dgamma, 'dgamma');
      expectGradient((v) => batchNormTrainCpu(x, shape, s.gamma, v, s.rm, s.rv, P).y, s.beta, r, g.dbeta, 'dbeta');
    });
    it('frozen: dx, dgamma, dbeta with the running statistics', () => {
      const s = stats(C);
      const x = f64(randomArray(numel(shape), -2, 2));
      const r = f64(randomArray(numel(shape)));
      const bn = (xs: Float64Array, gamma: Float64Array, beta: Float64Array): Float64Array =>
        xs.map((v, i) => ((v - s.rm[i % C]) / Math.sqrt(s.rv[i % C] + EPS)) * gamma[i % C] + beta[i % C]);
      const g = batchNormGradCpu(x, r, shape, s.gamma, s.rm, s.rv, EPS, 'frozen');
      expectGradient((v) => bn(v, s.gamma, s.beta), x, r, g.dx, 'dx');
      expectGradient((v) => bn(x, v, s.beta), s.gamma, r, g.dgamma, 'dgamma');
      expectGradient((v) => bn(x, s.gamma, v), s.beta, r, g.dbeta, 'dbeta');
    });
  });

  for (const shape of [[2, 7, 5, 13], [2, 45, 43, 6], [2, 1, 1, 9]]) {
    it(`GPU forward (y, batch statistics, running statistics) equals the CPU reference on ${JSON.stringify(shape)}`, async () => {
      const ctx = await testContext();
      const C = shape[3];
      const s = stats(C);
      const xs = randomArray(numel(shape), 3, 5); // an offset mean, where a one-pass variance loses digits
      const scratch = batchNormScratchShapes(shape);
      const t: Record<string, GpuTensor> = {
        x: uploadTensor(ctx, xs, shape),
        gamma: uploadTensor(ctx, Float32Array.from(s.gamma), [C]),
        beta: uploadTensor(ctx, Float32Array.from(s.beta), [C]),
        runningMean: uploadTensor(ctx, Float32Array.from(s.rm), [C]),
        runningVar: uploadTensor(ctx, Float32Array.from(s.rv), [C]),
        y: poisonedTensor(ctx, shape),
        mean: poisonedTensor(ctx, [C]),
        variance: poisonedTensor(ctx, [C]),
        partial: createTensor(ctx, scratch.partial),
        sums: createTensor(ctx, scratch.sums),
      };
      try {
        await runOnce(ctx, 'bn train test', () => prepareBatchNormTrain(ctx, t as never, P));
        const ref = batchNormTrainCpu(xs, shape, Float32Array.from(s.gamma), Float32Array.from(s.beta), Float32Array.from(s.rm), Float32Array.from(s.rv), P);
        expectClose(await readTensor(ctx, t.y), ref.y, 'y');
        expectClose(await readTensor(ctx, t.mean), ref.mean, 'mean');
        expectClose(await readTensor(ctx, t.variance), ref.variance, 'variance');
        expectClose(await readTensor(ctx, t.runningMean), ref.runningMean, 'running mean');
        expectClose(await readTensor(ctx, t.runningVar), ref.runningVar, 'running var');
      } finally {
        for (const v of Object.values(t)) v.dispose();
      }
    });
  }

  for (const mode of ['train', 'frozen'] as BatchNormGradMode[]) {
    for (const shape of [[2, 7, 5, 13], [2, 45, 43, 6]]) {
      it(`GPU ${mode} gradients equal the CPU reference on ${JSON.stringify(shape)}`, async () => {
        const ctx = await testContext();
        const C = shape[3];
        const xs = randomArray(numel(shape), -2, 2);
        const dys = randomArray(numel(shape));
        const gamma = randomArray(C, 0.5, 2);
        const mean = randomArray(C, -0.2, 0.2);
        const variance = randomArray(C, 0.5, 2);
        const scratch = batchNormScratchShapes(shape);
        const t: Record<string, GpuTensor> = {
          x: uploadTensor(ctx, xs, shape),
          dy: uploadTensor(ctx, dys, shape),
          gamma: uploadTensor(ctx, gamma, [C]),
          mean: uploadTensor(ctx, mean, [C]),
          variance: uploadTensor(ctx, variance, [C]),
          partial: createTensor(ctx, scratch.partial),
          sums: createTensor(ctx, scratch.sums),
          dx: poisonedTensor(ctx, shape),
          dgamma: poisonedTensor(ctx, [C]),
          dbeta: poisonedTensor(ctx, [C]),
        };
        try {
          await runOnce(ctx, 'bn grad test', () => prepareBatchNormGrad(ctx, t as never, EPS, mode));
          const ref = batchNormGradCpu(xs, dys, shape, gamma, mean, variance, EPS, mode);
          expectClose(await readTensor(ctx, t.dx), ref.dx, 'dx');
          expectClose(await readTensor(ctx, t.dgamma), ref.dgamma, 'dgamma');
          expectClose(await readTensor(ctx, t.dbeta), ref.dbeta, 'dbeta');
        } finally {
          for (const v of Object.values(t)) v.dispose();
        }
      });
    }
  }

  it('rejects statistics of the wrong length and a momentum outside [0, 1]', async () => {
    const ctx = await testContext();
    const shape = [1, 2, 2, 3];
    const scratch = batchNormScratchShapes(shape);
    const t = {
      x: uploadTensor(ctx, randomArray(12), shape),
      gamma: uploadTensor(ctx, randomArray(4), [4]),
      beta: uploadTensor(ctx, randomArray(3), [3]),
      runningMean: uploadTensor(ctx, randomArray(3), [3]),
      runningVar: uploadTensor(ctx, randomArray(3), [3]),
      y: createTensor(ctx, shape),
      mean: createTensor(ctx, [3]),
      variance: createTensor(ctx, [3]),
      partial: createTensor(ctx, scratch.partial),
      sums: createTensor(ctx, scratch.sums),
    };
    try {
      expectThrows(() => prepareBatchNormTrain(ctx, t, P), /batchNormTrain: gamma has shape \[4\], expected \[3\]/);
      expectThrows(() => prepareBatchNormTrain(ctx, { ...t, gamma: t.beta }, { eps: EPS, momentum: 2 }), /momentum must be in \[0, 1\], got 2/);
    } finally {
      for (const v of Object.values(t)) v.dispose();
    }
  });
});
