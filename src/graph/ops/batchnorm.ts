// batchnorm: inference-mode batch norm over the last (channel) axis with its running
// statistics, and an activation the compile stage may fuse in. The inference compile folds a BN
// that follows a conv into that conv (fold_bn); one that does not stays this op.
import { shapeString } from '../../gpu/tensor.js';
import type { Activation } from '../../kernels/activation/activation.js';
import { batchNormCpu, batchNormSpec, prepareBatchNorm } from '../../kernels/batchnorm/batchnorm.js';
import {
  type BatchNormGradMode,
  batchNormGradCpu,
  batchNormGradSpecs,
  batchNormScratchShapes,
  batchNormTrainCpu,
  batchNormTrainSpecs,
  prepareBatchNormGrad,
  prepareBatchNormTrain,
} from '../../kernels/batchnorm/batchnorm-train.js';
import { fromLike } from '../../kernels/cpu-arrays.js';
import { fusedEpilogueError } from '../onnx/emitter.js';
import { batchNormGradOnnx, batchNormTrainOnnx } from '../onnx/rules/batchnorm-train.js';
import { withActivation } from '../tflite/emitter.js';
import type { Value } from '../value.js';
import { type OpDef, numel } from './op-def.js';

export interface BatchNormAttrs {
  eps: number;
  activation: Activation;
  /** Weight of a new batch statistic in the running statistics when training (PyTorch's momentum). */
  momentum: number;
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

/**
 * Batch norm in training mode: normalises with the batch's statistics and updates the running
 * statistics in place. Outputs: y, the batch mean and biased variance (the backward reads them),
 * two scratch tensors of the reductions, then the running mean and variance it updates.
 */
export interface BatchNormTrainOp {
  type: 'batchnorm_train';
  input: Value;
  gamma: Value;
  beta: Value;
  mean: Value;
  variance: Value;
  attrs: { eps: number; momentum: number };
}

/** Gradients of batch norm; outputs dx, dgamma, dbeta and two scratch tensors. */
export interface BatchNormGradOp {
  type: 'batchnorm_grad';
  x: Value;
  dy: Value;
  gamma: Value;
  /** The statistics the forward normalised with: the batch's (train) or the running ones (frozen). */
  mean: Value;
  variance: Value;
  attrs: { eps: number; mode: BatchNormGradMode };
}

const channels = (v: Value): number => v.shape[v.shape.length - 1];

export const batchNormTrainOp: OpDef<BatchNormTrainOp> = {
  type: 'batchnorm_train',
  operands: ['input', 'gamma', 'beta', 'mean', 'variance'],
  infer(op) {
    batchNormOp.infer({ ...op, type: 'batchnorm', attrs: { ...op.attrs, activation: 'none' } });
    const C = channels(op.input);
    const scratch = batchNormScratchShapes(op.input.shape);
    return [
      { shape: [...op.input.shape], dtype: 'f32' },
      { shape: [C], dtype: 'f32' },
      { shape: [C], dtype: 'f32' },
      { shape: scratch.partial, dtype: 'f32' },
      { shape: scratch.sums, dtype: 'f32' },
    ];
  },
  lower: (op) => ({
    specs: batchNormTrainSpecs(),
    prepare: (ctx, t, [y, mean, variance, partial, sums, runningMean, runningVar]) =>
      prepareBatchNormTrain(ctx, { x: t(op.input), gamma: t(op.gamma), beta: t(op.beta), runningMean, runningVar, y, mean, variance, partial, sums }, op.attrs),
  }),
  cpu(op, read) {
    const f = (v: Value): Float32Array => read(v) as Float32Array;
    const r = batchNormTrainCpu(f(op.input), op.input.shape, f(op.gamma), f(op.beta), f(op.mean), f(op.variance), op.attrs);
    const none = new Float32Array(0);
    // The batch statistics keep the input's precision: the backward pass reads them, and a
    // float64 run (gradient checks) must not round them to float32.
    return [r.y, fromLike(r.y, r.mean), fromLike(r.y, r.variance), none, none, Float32Array.from(r.runningMean), Float32Array.from(r.runningVar)];
  },
  cost: (op) => ({ macs: 0, flops: 6 * numel(op.input.shape) }),
  grad: (op, [, mean, variance], [dy], g) => {
    if (!dy) return {};
    const [dx, dgamma, dbeta] = g.emit<BatchNormGradOp>('', { type: 'batchnorm_grad', x: op.input, dy, gamma: op.gamma, mean, variance, attrs: { eps: op.attrs.eps, mode: 'train' } });
    return { input: dx, gamma: dgamma, beta: dbeta };
  },
};

export const batchNormGradOp: OpDef<BatchNormGradOp> = {
  type: 'batchnorm_grad',
  operands: ['x', 'dy', 'gamma', 'mean', 'variance'],
  infer(op) {
    const C = channels(op.x);
    const scratch = batchNormScratchShapes(op.x.shape);
    return [
      { shape: [...op.x.shape], dtype: 'f32' },
      { shape: [C], dtype: 'f32' },
      { shape: [C], dtype: 'f32' },
      { shape: scratch.partial, dtype: 'f32' },
      { shape: scratch.sums, dtype: 'f32' },
    ];
  },
  lower: (op) => ({
    specs: batchNormGradSpecs(op.attrs.mode),
    prepare: (ctx, t, [dx, dgamma, dbeta, partial, sums]) =>
      prepareBatchNormGrad(ctx, { x: t(op.x), dy: t(op.dy), gamma: t(op.gamma), mean: t(op.mean), variance: t(op.variance), partial, sums, dx, dgamma, dbeta }, op.attrs.eps, op.attrs.mode),
  }),
  cpu(op, read) {
    const f = (v: Value): Float32Array => read(v) as Float32Array;
    const r = batchNormGradCpu(f(op.x), f(op.dy), op.x.shape, f(op.gamma), f(op.mean), f(op.variance), op.attrs.eps, op.attrs.mode);
    const none = new Float32Array(0);
    return [r.dx, fromLike(r.dx, r.dgamma), fromLike(r.dx, r.dbeta), none, none];
  },
  cost: (op) => ({ macs: 0, flops: 8 * numel(op.x.shape) }),
};

/** A frozen (inference-mode) batch norm: the running statistics get no gradient; gamma and beta do. */
batchNormOp.grad = (op, _outputs, [dy], g) => {
  if (!dy) return {};
  if (op.attrs.activation !== 'none') throw new Error('batchnorm with a fused activation: differentiate the canonical graph, before fusion');
  const [dx, dgamma, dbeta] = g.emit<BatchNormGradOp>('', { type: 'batchnorm_grad', x: op.input, dy, gamma: op.gamma, mean: op.mean, variance: op.variance, attrs: { eps: op.attrs.eps, mode: 'frozen' } });
  return { input: dx, gamma: dgamma, beta: dbeta };
};

// ONNX BatchNormalization in inference mode: (x - mean) / sqrt(var + eps) * gamma + beta, on axis 1.
batchNormOp.onnx = (op, [out], g) => {
  if (op.attrs.activation !== 'none') throw fusedEpilogueError(`activation (${op.attrs.activation})`);
  const inputs = [op.input, op.gamma, op.beta, op.mean, op.variance].map((v) => g.tensor(v));
  g.node('BatchNormalization', inputs, [out], { epsilon: { float: op.attrs.eps } });
};

// Training mode in standard operators (src/graph/onnx/rules/batchnorm-train.ts); the scratch
// outputs of the kernels' reductions are not written.
batchNormTrainOp.onnx = (op, [y, mean, variance, , , runningMean, runningVariance], g) =>
  batchNormTrainOnnx(g, { ...op, ...op.attrs }, { y, mean, variance, runningMean, runningVariance });
batchNormGradOp.onnx = (op, [dx, dgamma, dbeta], g) => batchNormGradOnnx(g, { ...op, ...op.attrs }, { dx, dgamma, dbeta });

// TF Lite: a batch norm no convolution absorbed, as its arithmetic: x * s + t, s = gamma /
// sqrt(var + eps) and t = beta - mean * s computed here (MUL, then ADD with the activation).
batchNormOp.tflite = (op, [out], g) => {
  const read = (v: Value): number[] => Array.from(g.values(v));
  const [gamma, beta, mean, variance] = [op.gamma, op.beta, op.mean, op.variance].map(read);
  const s = gamma.map((x, c) => x / Math.sqrt(variance[c] + op.attrs.eps));
  const t = beta.map((x, c) => x - mean[c] * s[c]);
  const scaled = g.intermediate('scaled', op.input.shape);
  g.op('MUL', [g.tensor(op.input), g.constant('scale', 'FLOAT32', [s.length], s)], [scaled], { table: 'MulOptions', fields: { fusedActivationFunction: 'NONE' } });
  withActivation(g, op.attrs.activation, out, op.input.shape, (target, fused) =>
    g.op('ADD', [scaled, g.constant('shift', 'FLOAT32', [t.length], t)], [target], { table: 'AddOptions', fields: { fusedActivationFunction: fused } }),
  );
};
