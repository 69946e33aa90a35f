import { expect } from 'chai';
import { type GpuTensor, type Shape, readTensor, uploadTensor } from '../../src/gpu/tensor.js';
import { type BatchNormStats, batchNormScaleShift, foldBatchNorm, prepareFoldBatchNorm } from '../../src/kernels/batchnorm/batchnorm-fold.js';
import { runOnce } from '../../src/gpu/dispatch.js';
import { type Conv2dParams, conv2dOutputShape, convParams } from '../../src/kernels/conv2d/params.js';
import { conv2d } from '../../src/kernels/conv2d/conv2d.js';
import { conv2dCpu } from '../../src/kernels/conv2d/reference.js';
import { expectClose, numel, poisonedTensor, randomArray, testContext, expectThrows } from '../helpers.js';

function randomStats(C: number, eps = 1e-3): BatchNormStats {
  return {
    gamma: randomArray(C, -2, 2),
    beta: randomArray(C, -1, 1),
    mean: randomArray(C, -1, 1),
    variance: randomArray(C, 0.05, 3),
    eps,
  };
}

/** The textbook batch norm over the last (channel) axis, independent of the folding code. */
function batchNormCpu(y: Float32Array, bn: BatchNormStats): Float32Array {
  const C = bn.gamma.length;
  return y.map((v, i) => {
    const c = i % C;
    return (bn.gamma[c] * (v - bn.mean[c])) / Math.sqrt(bn.variance[c] + bn.eps) + bn.beta[c];
  });
}

interface Layer {
  input: Shape;
  weight: Shape;
  p: Conv2dParams;
}

const layers: Record<string, Layer> = {
  '3x3 rate 2, 6 -> 11': {
    input: [2, 9, 7, 6],
    weight: [3, 3, 6, 11],
    p: convParams({ dilationH: 2, dilationW: 2, padTop: 2, padBottom: 2, padLeft: 2, padRight: 2 }),
  },
  'depthwise 3x3 stride 2, 10 channels': {
    input: [1, 11, 9, 10],
    weight: [3, 3, 1, 10],
    p: convParams({ groups: 10, strideH: 2, strideW: 2, padTop: 1, padBottom: 1, padLeft: 1, padRight: 1 }),
  },
  '1x1, 13 -> 70': { input: [1, 5, 7, 13], weight: [1, 1, 13, 70], p: convParams({}) },
};

describe('batch-norm folding', () => {
  it('computes scale and shift by hand on one channel', () => {
    // gamma 2, variance 3, eps 1 -> scale 2 / sqrt(4) = 1; shift = 0.5 + (4 - 1.5) * 1 = 3.
    const bn: BatchNormStats = {
      gamma: Float32Array.of(2),
      beta: Float32Array.of(0.5),
      mean: Float32Array.of(1.5),
      variance: Float32Array.of(3),
      eps: 1,
    };
    const { scale, shift } = batchNormScaleShift(bn, Float32Array.of(4));
    expect(Array.from(scale)).to.deep.equal([1]);
    expect(Array.from(shift)).to.deep.equal([3]);
    expect(Array.from(batchNormScaleShift(bn).shift)).to.deep.equal([-1]);
  });

  for (const [name, layer] of Object.entries(layers)) {
    describe(name, () => {
      const C = layer.weight[3];

      for (const withBias of [false, true]) {
        it(`CPU: conv(x, folded) == BN(conv(x))${withBias ? ' with a conv bias' : ''}`, () => {
          const x = randomArray(numel(layer.input));
          const w = randomArray(numel(layer.weight));
          const b = withBias ? randomArray(C) : undefined;
          const bn = randomStats(C);
          const folded = foldBatchNorm(w, layer.weight, b, bn);
          const ref = batchNormCpu(conv2dCpu(x, layer.input, w, layer.weight, layer.p, { bias: b }), bn);
          expectClose(conv2dCpu(x, layer.input, folded.weight, layer.weight, layer.p, { bias: folded.bias }), ref, `${name}: folded`);
        });
      }

      for (const withBias of [false, true]) {
        it(`GPU fold kernel == CPU fold${withBias ? ' with a conv bias' : ''}`, async () => {
          const ctx = await testContext();
          const w = randomArray(numel(layer.weight));
          const b = withBias ? randomArray(C) : undefined;
          const bn = randomStats(C);
          const ref = foldBatchNorm(w, layer.weight, b, bn);
          const t = {
            weight: uploadTensor(ctx, w, layer.weight),
            bias: b && uploadTensor(ctx, b, [C]),
            gamma: uploadTensor(ctx, bn.gamma, [C]),
            beta: uploadTensor(ctx, bn.beta, [C]),
            mean: uploadTensor(ctx, bn.mean, [C]),
            variance: uploadTensor(ctx, bn.variance, [C]),
            foldedWeight: poisonedTensor(ctx, layer.weight),
            foldedBias: poisonedTensor(ctx, [C]),
          };
          try {
            await runOnce(ctx, 'fold test', () => prepareFoldBatchNorm(ctx, t, bn.eps));
            expectClose(await readTensor(ctx, t.foldedWeight), ref.weight, `${name}: folded weight`);
            expectClose(await readTensor(ctx, t.foldedBias), ref.bias, `${name}: folded bias`);
          } finally {
            for (const x of Object.values(t)) x?.dispose();
          }
        });
      }

      it('GPU: conv2d with folded weights == BN(conv) on the CPU', async () => {
        const ctx = await testContext();
        const x = randomArray(numel(layer.input));
        const w = randomArray(numel(layer.weight));
        const b = randomArray(C);
        const bn = randomStats(C, 1e-5);
        const folded = foldBatchNorm(w, layer.weight, b, bn);
        const tensors: GpuTensor[] = [];
        try {
          const tx = uploadTensor(ctx, x, layer.input);
          const tw = uploadTensor(ctx, folded.weight, layer.weight);
          const tb = uploadTensor(ctx, folded.bias, [C]);
          tensors.push(tx, tw, tb);
          const out = await conv2d(ctx, tx, tw, { bias: tb }, layer.p);
          tensors.push(out);
          expect(out.shape).to.deep.equal(conv2dOutputShape(layer.input, layer.weight, layer.p));
          const ref = batchNormCpu(conv2dCpu(x, layer.input, w, layer.weight, layer.p, { bias: b }), bn);
          expectClose(await readTensor(ctx, out), ref, `${name}: GPU folded`);
        } finally {
          for (const t of tensors) t.dispose();
        }
      });

      it('GPU: unfolded weights with scale / shift through the scale and bias operands, then relu', async () => {
        const ctx = await testContext();
        const x = randomArray(numel(layer.input));
        const w = randomArray(numel(layer.weight));
        const b = randomArray(C);
        const bn = randomStats(C);
        const { scale, shift } = batchNormScaleShift(bn, b);
        const p = { ...layer.p, activation: 'relu' as const };
        const tensors: GpuTensor[] = [];
        try {
          const tx = uploadTensor(ctx, x, layer.input);
          const tw = uploadTensor(ctx, w, layer.weight);
          const ts = uploadTensor(ctx, scale, [C]);
          const tb = uploadTensor(ctx, shift, [C]);
          tensors.push(tx, tw, ts, tb);
          const out = await conv2d(ctx, tx, tw, { scale: ts, bias: tb }, p);
          tensors.push(out);
          const ref = batchNormCpu(conv2dCpu(x, layer.input, w, layer.weight, layer.p, { bias: b }), bn).map((v) => Math.max(v, 0));
          expectClose(await readTensor(ctx, out), ref, `${name}: GPU scale/shift`);
        } finally {
          for (const t of tensors) t.dispose();
        }
      });
    });
  }

  describe('errors', () => {
    it('rejects statistics of different lengths', () => {
      const bn = randomStats(4);
      bn.mean = randomArray(3);
      expectThrows(() => batchNormScaleShift(bn), /batchNormScaleShift: batch-norm mean has 3 values but gamma has 4/);
    });
    it('rejects a channel count that does not match Cout', () => {
      expectThrows(() => foldBatchNorm(randomArray(3 * 3 * 2 * 5), [3, 3, 2, 5], undefined, randomStats(4)), /foldBatchNorm: batch norm has 4 channels but weight \[3,3,2,5\] has Cout 5/);
    });
    it('rejects a conv bias of the wrong length', () => {
      expectThrows(() => foldBatchNorm(randomArray(8), [1, 1, 2, 4], randomArray(3), randomStats(4)), /conv bias has 3 values/);
    });
    it('rejects a non-positive variance + eps', () => {
      const bn = randomStats(2, 0);
      bn.variance[1] = 0;
      expectThrows(() => batchNormScaleShift(bn), /variance\[1\] \+ eps = 0 is not positive/);
    });
    it('the GPU fold rejects statistics that do not match Cout', async () => {
      const ctx = await testContext();
      const make = (shape: number[]) => uploadTensor(ctx, randomArray(numel(shape)), shape);
      const t = { weight: make([1, 1, 2, 4]), gamma: make([4]), beta: make([3]), mean: make([4]), variance: make([4]), foldedWeight: make([1, 1, 2, 4]), foldedBias: make([4]) };
      try {
        expectThrows(() => prepareFoldBatchNorm(ctx, t, 1e-5), /foldBatchNorm: beta/);
      } finally {
        for (const x of Object.values(t)) x.dispose();
      }
    });
    it('rejects weights that do not fill their shape', () => {
      expectThrows(() => foldBatchNorm(randomArray(7), [1, 1, 2, 4], undefined, randomStats(4)), /foldBatchNorm: weight has 7 values/);
    });
  });
});
