// fold_bn: derives a conv's BN-folded weight and bias from the conv's weight (and bias) and the
// BN's parameters and running statistics. Two outputs, both derived state: the inference compile
// puts these nodes in the program's `derive` graph, which runs again whenever parameters change.
import { foldBatchNorm, foldBatchNormSpec, prepareFoldBatchNorm } from '../../kernels/batchnorm/batchnorm-fold.js';
import type { Value } from '../value.js';
import { type OpDef, numel } from './op-def.js';

export interface FoldBnOp {
  type: 'fold_bn';
  weight: Value;
  bias?: Value;
  gamma: Value;
  beta: Value;
  mean: Value;
  variance: Value;
  attrs: { eps: number };
}

export const foldBnOp: OpDef<FoldBnOp> = {
  type: 'fold_bn',
  operands: ['weight', 'bias', 'gamma', 'beta', 'mean', 'variance'],
  infer: (op) => [
    { shape: [...op.weight.shape], dtype: 'f32' },
    { shape: [op.weight.shape[3]], dtype: 'f32' },
  ],
  lower: (op) => ({
    specs: [foldBatchNormSpec(!!op.bias)],
    prepare: (ctx, t, [foldedWeight, foldedBias]) => [
      prepareFoldBatchNorm(
        ctx,
        { weight: t(op.weight), bias: op.bias && t(op.bias), gamma: t(op.gamma), beta: t(op.beta), mean: t(op.mean), variance: t(op.variance), foldedWeight, foldedBias },
        op.attrs.eps,
      ),
    ],
  }),
  cpu(op, read) {
    const f = (v: Value): Float32Array => read(v) as Float32Array;
    const folded = foldBatchNorm(f(op.weight), op.weight.shape, op.bias && f(op.bias), {
      gamma: f(op.gamma),
      beta: f(op.beta),
      mean: f(op.mean),
      variance: f(op.variance),
      eps: op.attrs.eps,
    });
    return [folded.weight, folded.bias];
  },
  cost: (op) => ({ macs: 0, flops: numel(op.weight.shape) }),
};
