// Pooling: global average pooling (ASPP's image-level features) and windowed max / average pools.
import { shapeString } from '../../gpu/tensor.js';
import {
  type Pool2dParams,
  globalAvgPoolCpu,
  globalAvgPoolSpec,
  pool2dCpu,
  pool2dOutputShape,
  pool2dSpec,
  prepareGlobalAvgPool,
  preparePool2d,
} from '../../kernels/pool/pool.js';
import { globalAvgPoolBackwardCpu, globalAvgPoolBackwardSpec, pool2dBackwardCpu, pool2dBackwardSpec, prepareGlobalAvgPoolBackward, preparePool2dBackward } from '../../kernels/pool/pool-backward.js';
import { globalAvgPoolGradOnnx, pool2dGradOnnx } from '../onnx/rules/map-grads.js';
import { samePadding } from '../../kernels/conv2d/params.js';
import type { Value } from '../value.js';
import { type OpDef, numel } from './op-def.js';

export type Pool2dAttrs = Required<Pool2dParams>;

export interface GlobalAvgPoolOp {
  type: 'global_avg_pool';
  input: Value;
}

export interface Pool2dOp {
  type: 'pool2d';
  input: Value;
  attrs: Pool2dAttrs;
}

export const globalAvgPoolOp: OpDef<GlobalAvgPoolOp> = {
  half: true,
  type: 'global_avg_pool',
  operands: ['input'],
  infer(op) {
    if (op.input.shape.length !== 4) throw new Error(`global average pool needs NHWC, got ${shapeString(op.input.shape)}`);
    const [n, , , c] = op.input.shape;
    return [{ shape: [n, 1, 1, c], dtype: 'f32' }];
  },
  lower: (op) => ({
    specs: [globalAvgPoolSpec()],
    prepare: (ctx, t, [out]) => [prepareGlobalAvgPool(ctx, { input: t(op.input), out })],
  }),
  cpu: (op, read) => [globalAvgPoolCpu(read(op.input) as Float32Array, op.input.shape)],
  cost: (op) => ({ macs: 0, flops: numel(op.input.shape) }),
  outputStride: () => null,
};

export const pool2dOp: OpDef<Pool2dOp> = {
  half: true,
  type: 'pool2d',
  operands: ['input'],
  infer: (op) => [{ shape: pool2dOutputShape(op.input.shape, op.attrs), dtype: 'f32' }],
  lower: (op) => ({
    specs: [pool2dSpec(op.attrs)],
    prepare: (ctx, t, [out]) => [preparePool2d(ctx, { input: t(op.input), out }, op.attrs)],
  }),
  cpu: (op, read) => [pool2dCpu(read(op.input) as Float32Array, op.input.shape, op.attrs)],
  cost: (op, [out]) => ({ macs: 0, flops: numel(out.shape) * op.attrs.kernelH * op.attrs.kernelW }),
  layer: (op) => ({ kernel: [op.attrs.kernelH, op.attrs.kernelW], stride: op.attrs.strideH }),
  outputStride: (op, s) => (s === null ? null : s * op.attrs.strideH),
};

export interface GlobalAvgPoolGradOp {
  type: 'global_avg_pool_grad';
  dy: Value;
  attrs: { inputShape: number[] };
}

export const globalAvgPoolGradOp: OpDef<GlobalAvgPoolGradOp> = {
  type: 'global_avg_pool_grad',
  operands: ['dy'],
  infer(op) {
    const [n, , , c] = op.attrs.inputShape;
    if (shapeString(op.dy.shape) !== shapeString([n, 1, 1, c])) throw new Error(`dy ${shapeString(op.dy.shape)} is not [${n},1,1,${c}]`);
    return [{ shape: [...op.attrs.inputShape], dtype: 'f32' }];
  },
  lower: (op) => ({
    specs: [globalAvgPoolBackwardSpec()],
    prepare: (ctx, t, [dx]) => [prepareGlobalAvgPoolBackward(ctx, { dy: t(op.dy), dx })],
  }),
  cpu: (op, read) => [globalAvgPoolBackwardCpu(read(op.dy) as Float32Array, op.attrs.inputShape)],
  cost: (op) => ({ macs: 0, flops: numel(op.attrs.inputShape) }),
};

globalAvgPoolOp.grad = (op, _outputs, [dy], g) => ({
  input: dy && g.emit<GlobalAvgPoolGradOp>('', { type: 'global_avg_pool_grad', dy, attrs: { inputShape: [...op.input.shape] } })[0],
});

/** Gradient of a windowed pool; max pooling reads the forward input to find each window's maximum. */
export interface Pool2dGradOp {
  type: 'pool2d_grad';
  input: Value;
  dy: Value;
  attrs: Pool2dAttrs;
}

export const pool2dGradOp: OpDef<Pool2dGradOp> = {
  type: 'pool2d_grad',
  operands: ['input', 'dy'],
  infer: (op) => [{ shape: [...op.input.shape], dtype: 'f32' }],
  lower: (op) => ({
    specs: [pool2dBackwardSpec(op.attrs)],
    prepare: (ctx, t, [dx]) => [preparePool2dBackward(ctx, { input: t(op.input), dy: t(op.dy), dx }, op.attrs)],
  }),
  cpu: (op, read) => [pool2dBackwardCpu(read(op.dy) as Float32Array, op.input.shape, op.attrs, read(op.input) as Float32Array)],
  cost: (op) => ({ macs: 0, flops: numel(op.dy.shape) * op.attrs.kernelH * op.attrs.kernelW }),
};

pool2dOp.grad = (op, _outputs, [dy], g) => ({
  input: dy && g.emit<Pool2dGradOp>('', { type: 'pool2d_grad', input: op.input, dy, attrs: op.attrs })[0],
});

globalAvgPoolOp.onnx = (op, [out], g) => g.node('GlobalAveragePool', [g.tensor(op.input)], [out]);

// ONNX pools: pads as [top, left, bottom, right]; max pooling never picks a padded cell (as ours).
pool2dOp.onnx = (op, [out], g) => {
  const a = op.attrs;
  const window = {
    kernel_shape: { ints: [a.kernelH, a.kernelW] },
    strides: { ints: [a.strideH, a.strideW] },
    pads: { ints: [a.padTop, a.padLeft, a.padBottom, a.padRight] },
  };
  if (a.kind === 'max') g.node('MaxPool', [g.tensor(op.input)], [out], window);
  else g.node('AveragePool', [g.tensor(op.input)], [out], { ...window, count_include_pad: { int: (a.countIncludePad ?? true) ? 1 : 0 } });
};

globalAvgPoolGradOp.onnx = (op, [out], g) => globalAvgPoolGradOnnx(g, op.dy, op.attrs.inputShape, out);
pool2dGradOp.onnx = (op, [out], g) => pool2dGradOnnx(g, op.input, op.dy, op.attrs, out);

// TF Lite: MEAN over height and width (keeping them, as 1); windowed pools as MAX_POOL_2D or
// AVERAGE_POOL_2D, SAME where our pads are SAME's (TF Lite's SAME average leaves padded cells
// out), VALID after an explicit PAD otherwise (zeros for an average that counts them, the lowest
// float for a max).
globalAvgPoolOp.tflite = (op, [out], g) =>
  g.op('MEAN', [g.tensor(op.input), g.constant('axes', 'INT32', [2], [1, 2])], [out], { table: 'ReducerOptions', fields: { keepDims: true } });

pool2dOp.tflite = (op, [out], g) => {
  const a = op.attrs;
  const [n, h, w, c] = op.input.shape;
  const ours = [a.padTop, a.padBottom, a.padLeft, a.padRight];
  const same = [...samePadding(h, a.kernelH, a.strideH, 1), ...samePadding(w, a.kernelW, a.strideW, 1)];
  const countsPad = a.kind === 'avg' && (a.countIncludePad ?? true);
  let input = g.tensor(op.input);
  let padding = 'VALID';
  if (ours.every((p) => p === 0)) padding = 'VALID';
  else if (ours.join() === same.join() && !countsPad) padding = 'SAME';
  else if (a.kind === 'avg' && !countsPad) throw new Error(`an average pool leaving out padding [${ours}] other than SAME's [${same}] has no TF Lite form`);
  else {
    const padded = g.intermediate('padded', [n, h + a.padTop + a.padBottom, w + a.padLeft + a.padRight, c]);
    const paddings = g.constant('paddings', 'INT32', [4, 2], [0, 0, a.padTop, a.padBottom, a.padLeft, a.padRight, 0, 0]);
    if (a.kind === 'avg') g.op('PAD', [input, paddings], [padded]);
    else g.op('PADV2', [input, paddings, g.constant('lowest', 'FLOAT32', [], [-3.4028234663852886e38])], [padded]);
    input = padded;
  }
  const fields = { padding, strideW: a.strideW, strideH: a.strideH, filterWidth: a.kernelW, filterHeight: a.kernelH, fusedActivationFunction: 'NONE' };
  g.op(a.kind === 'max' ? 'MAX_POOL_2D' : 'AVERAGE_POOL_2D', [input], [out], { table: 'Pool2DOptions', fields });
};
