import { expect } from 'chai';
import { runOnce } from '../../src/gpu/dispatch.js';
import { type GpuTensor, readTensor, uploadTensor } from '../../src/gpu/tensor.js';
import { ACTIVATIONS } from '../../src/kernels/activation/activation.js';
import { type BatchNormParams, batchNorm, batchNormCpu, prepareBatchNorm } from '../../src/kernels/batchnorm/batchnorm.js';
import { expectClose, numel, poisonedTensor, randomArray, testContext, expectThrows, disposeAfterTest } from '../helpers.js';

describe('kernel: batchNorm', () => {
  const shape = [2, 13, 11, 19];
  const C = 19;

  function randomStats(c: number) {
    return {
      gamma: randomArray(c, -2, 2),
      beta: randomArray(c, -1, 1),
      mean: randomArray(c, -1, 1),
      variance: randomArray(c, 0.05, 3),
    };
  }

  async function check(params: BatchNormParams, statShape: number[] = [C]): Promise<void> {
    const ctx = await testContext();
    // Spread over [-6, 6] so relu6 / hardswish clamp on both sides after normalisation.
    const x = randomArray(numel(shape), -6, 6);
    const stats = randomStats(C);
    const input = uploadTensor(ctx, x, shape);
    const gamma = uploadTensor(ctx, stats.gamma, statShape, 'gamma');
    const beta = uploadTensor(ctx, stats.beta, statShape, 'beta');
    const mean = uploadTensor(ctx, stats.mean, statShape, 'mean');
    const variance = uploadTensor(ctx, stats.variance, statShape, 'variance');
    const out = poisonedTensor(ctx, shape);
    try {
      await runOnce(ctx, 'batchNorm test', () => prepareBatchNorm(ctx, { input, gamma, beta, mean, variance, out }, params));
      expectClose(await readTensor(ctx, out), batchNormCpu(x, shape, stats, params), JSON.stringify(params));
    } finally {
      for (const t of [input, gamma, beta, mean, variance, out]) t.dispose();
    }
  }

  for (const activation of ACTIVATIONS) {
    it(`eps 1e-3, then ${activation}`, () => check({ eps: 1e-3, activation }));
  }
  it('eps 1e-5 (PyTorch default), no activation given', () => check({ eps: 1e-5 }));
  it('statistics stored as [1,1,1,C]', () => check({ eps: 1e-3, activation: 'relu' }, [1, 1, 1, C]));

  it('CPU reference follows the formula on a hand-checked value', () => {
    // (3 - 1) / sqrt(3 + 1) * 2 + 0.5 = 2.5
    const got = batchNormCpu(new Float32Array([3]), [1, 1, 1, 1], {
      gamma: new Float32Array([2]),
      beta: new Float32Array([0.5]),
      mean: new Float32Array([1]),
      variance: new Float32Array([3]),
    }, { eps: 1 });
    expect(got[0]).to.equal(2.5);
  });

  it('batchNorm convenience call', async () => {
    const ctx = await testContext();
    const s = [1, 4, 3, 7];
    const x = randomArray(numel(s), -3, 3);
    const stats = randomStats(7);
    const input = uploadTensor(ctx, x, s);
    const st = {
      gamma: uploadTensor(ctx, stats.gamma, [7]),
      beta: uploadTensor(ctx, stats.beta, [7]),
      mean: uploadTensor(ctx, stats.mean, [7]),
      variance: uploadTensor(ctx, stats.variance, [7]),
    };
    let out: GpuTensor | undefined;
    try {
      out = await batchNorm(ctx, input, st, { eps: 1e-3, activation: 'relu6' });
      expect(out.shape).to.deep.equal(s);
      expectClose(await readTensor(ctx, out), batchNormCpu(x, s, stats, { eps: 1e-3, activation: 'relu6' }), 'batchNorm()');
    } finally {
      input.dispose();
      for (const t of Object.values(st)) t.dispose();
      out?.dispose();
    }
  });

  describe('errors', () => {
    it('rejects statistics whose size is not C, a wrong output shape, bad eps and activation', async () => {
      const ctx = await testContext();
      const input = disposeAfterTest(uploadTensor(ctx, randomArray(numel(shape)), shape));
      const good = disposeAfterTest(uploadTensor(ctx, randomArray(C, 0.1, 1), [C]));
      const short = disposeAfterTest(uploadTensor(ctx, randomArray(C - 1, 0.1, 1), [C - 1]));
      const out = disposeAfterTest(poisonedTensor(ctx, shape));
      const badOut = disposeAfterTest(poisonedTensor(ctx, [2, 13, 11, 18]));
      const t = { input, gamma: good, beta: good, mean: good, variance: good, out };
      expectThrows(() => prepareBatchNorm(ctx, { ...t, variance: short }, { eps: 1e-3 }), /batchNorm: variance has shape \[18\], expected \[19\] \(C of input \[2,13,11,19\]\)/);
      expectThrows(() => prepareBatchNorm(ctx, { ...t, out: badOut }, { eps: 1e-3 }), /batchNorm: out has shape \[2,13,11,18\], expected \[2,13,11,19\]/);
      expectThrows(() => prepareBatchNorm(ctx, t, { eps: -1 }), /batchNorm: eps must be a finite number >= 0, got -1/);
      expectThrows(() => prepareBatchNorm(ctx, t, { eps: 1e-3, activation: 'mish' as 'relu' }), /unknown activation 'mish'/);
    });
    it('rejects zero-size input shapes', () => {
      const stats = { gamma: new Float32Array(3), beta: new Float32Array(3), mean: new Float32Array(3), variance: new Float32Array(3) };
      expectThrows(() => batchNormCpu(new Float32Array(0), [1, 0, 2, 3], stats, { eps: 1e-3 }), /batchNorm: input: zero-size/);
    });
  });
});
