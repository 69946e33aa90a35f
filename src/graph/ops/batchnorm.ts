// batchnorm: inference-mode batch norm over the last (channel) axis with its running
// statistics, and an activation the compile stage may fuse in. The inference compile folds a BN
// that follows a conv into that conv (fold_bn); one that does not stays this op.
import { shapeString } from '../../gpu/tensor.js';
import type { Activation } from '../../kernels/activation.js';
import { batchNormCpu, batchNormSpec, prepareBatchNorm } from '../../kernels/batchnorm.js';
import type { Value } from '../value.js';
import { type OpDef, numel } from './op-def.js';

export interface BatchNormAttrs {
  eps: number;
  activation: Activation;
}

export interface BatchNormOp {
  type: 'batchnorm';
  input: Value;
  gamma: Value;
  beta: Value;
  mean: Value;
  variance: Value;
  attrs: BatchNormAttrs;
}

export const batchNormOp: OpDef<BatchNormOp> = {
  type: 'batchnorm',
  operands: ['input', 'gamma', 'beta', 'mean', 'variance'],
  infer(op) {
    const c = op.input.shape[op.input.shape.length - 1];
    for (const role of ['gamma', 'beta', 'mean', 'variance'] as const) {
      const v = op[role];
      if (v.shape.length !== 1 || v.shape[0] !== c) throw new Error(`batch-norm ${role} ${shapeString(v.shape)} does not match ${c} channels`);
    }
    return [{ shape: [...op.input.shape], dtype: 'f32' }];
  },
  lower: (op) => ({
    specs: [batchNormSpec(op.attrs)],
    prepare: (ctx, t, [out]) => [
      prepareBatchNorm(ctx, { input: t(op.input), gamma: t(op.gamma), beta: t(op.beta), mean: t(op.mean), variance: t(op.variance), out }, op.attrs),
    ],
  }),
  cpu(op, read) {
    const f = (v: Value): Float32Array => read(v) as Float32Array;
    return [batchNormCpu(f(op.input), op.input.shape, { gamma: f(op.gamma), beta: f(op.beta), mean: f(op.mean), variance: f(op.variance) }, op.attrs)];
  },
  // x * scale + shift once folded.
  cost: (_op, [out]) => ({ macs: 0, flops: 2 * numel(out.shape) }),
};
