// Ops over the channel (last) axis: concatenation (ASPP's branches), softmax (class
// probabilities, attention's weights over keys) and its gradient, argmax.
import { shapeString } from '../../gpu/tensor.js';
import { channelSliceCpu, channelSliceSpec, concatCpu, concatSpec, prepareChannelSlice, prepareConcat } from '../../kernels/layout/concat.js';
import { argmaxCpu, argmaxSpec, prepareArgmax, prepareSoftmax, prepareSoftmaxGrad, softmaxCpu, softmaxGradCpu, softmaxGradSpec, softmaxSpec } from '../../kernels/softmax/softmax.js';
import { softmaxGradOnnx } from '../onnx/rules/map-grads.js';
import type { Value } from '../value.js';
import type { PadOp } from './pad.js';
import type { PermuteOp } from './permute.js';
import { type OpDef, numel } from './op-def.js';

export interface ConcatOp {
  type: 'concat';
  inputs: Value[];
}

export interface SoftmaxOp {
  type: 'softmax';
  input: Value;
}

/** dx = y * (dy - sum(dy * y)) over the last axis, y the softmax's output. */
export interface SoftmaxGradOp {
  type: 'softmax_grad';
  y: Value;
  dy: Value;
}

export interface ArgmaxOp {
  type: 'argmax';
  input: Value;
}

export const concatOp: OpDef<ConcatOp> = {
  type: 'concat',
  half: true,
  operands: ['inputs'],
  infer(op) {
    if (op.inputs.length === 0) throw new Error('concat of nothing');
    const [n, h, w] = op.inputs[0].shape;
    let c = 0;
    for (const v of op.inputs) {
      if (v.shape.length !== 4 || v.shape[0] !== n || v.shape[1] !== h || v.shape[2] !== w) {
        throw new Error(`concat inputs differ: ${op.inputs.map((x) => shapeString(x.shape)).join(' vs ')}`);
      }
      c += v.shape[3];
    }
    return [{ shape: [n, h, w, c], dtype: 'f32' }];
  },
  lower: (op) => ({
    specs: [concatSpec()],
    prepare: (ctx, t, [out]) => prepareConcat(ctx, { inputs: op.inputs.map(t), out }),
  }),
  cpu: (op, read) => [concatCpu(op.inputs.map((v) => read(v) as Float32Array), op.inputs.map((v) => v.shape))],
  cost: () => ({ macs: 0, flops: 0 }),
};

export const softmaxOp: OpDef<SoftmaxOp> = {
  type: 'softmax',
  half: true,
  operands: ['input'],
  infer: (op) => [{ shape: [...op.input.shape], dtype: 'f32' }],
  lower: (op) => ({ specs: [softmaxSpec()], prepare: (ctx, t, [out]) => [prepareSoftmax(ctx, { input: t(op.input), out })] }),
  cpu: (op, read) => [softmaxCpu(read(op.input) as Float32Array, op.input.shape)],
  cost: (_op, [out]) => ({ macs: 0, flops: 3 * numel(out.shape) }),
};

softmaxOp.grad = (_op, [y], [dy], g) => ({ input: dy && g.emit<SoftmaxGradOp>('', { type: 'softmax_grad', y, dy })[0] });

// Over the last axis: a map's channels are ONNX's axis 1 (NCHW); other ranks keep our layout.
softmaxOp.onnx = (op, [out], g) => g.node('Softmax', [g.tensor(op.input)], [out], { axis: { int: op.input.shape.length === 4 ? 1 : -1 } });

export const softmaxGradOp: OpDef<SoftmaxGradOp> = {
  type: 'softmax_grad',
  operands: ['y', 'dy'],
  infer(op) {
    if (shapeString(op.y.shape) !== shapeString(op.dy.shape)) throw new Error(`dy ${shapeString(op.dy.shape)} does not match y ${shapeString(op.y.shape)}`);
    return [{ shape: [...op.y.shape], dtype: 'f32' }];
  },
  lower: (op) => ({ specs: [softmaxGradSpec()], prepare: (ctx, t, [dx]) => [prepareSoftmaxGrad(ctx, { y: t(op.y), dy: t(op.dy), dx })] }),
  cpu: (op, read) => [softmaxGradCpu(read(op.y) as Float32Array, read(op.dy) as Float32Array, op.y.shape)],
  cost: (op) => ({ macs: 0, flops: 4 * numel(op.y.shape) }),
};

export const argmaxOp: OpDef<ArgmaxOp> = {
  type: 'argmax',
  operands: ['input'],
  infer: (op) => [{ shape: op.input.shape.slice(0, -1), dtype: 'u32' }],
  lower: (op) => ({ specs: [argmaxSpec()], prepare: (ctx, t, [out]) => [prepareArgmax(ctx, { input: t(op.input), out })] }),
  cpu: (op, read) => [argmaxCpu(read(op.input) as Float32Array, op.input.shape)],
  cost: () => ({ macs: 0, flops: 0 }),
};

/** Channels [offset, offset + channels) of an NHWC tensor: the gradient of one concat input, or a split of one map (DPN's paths). */
export interface ChannelSliceOp {
  type: 'channel_slice';
  input: Value;
  attrs: { offset: number; channels: number };
}

export const channelSliceOp: OpDef<ChannelSliceOp> = {
  type: 'channel_slice',
  half: true,
  operands: ['input'],
  infer(op) {
    const [n, h, w, c] = op.input.shape;
    const { offset, channels } = op.attrs;
    if (op.input.shape.length !== 4 || offset < 0 || channels < 1 || offset + channels > c) {
      throw new Error(`channels [${offset}, ${offset + channels}) are outside ${shapeString(op.input.shape)}`);
    }
    return [{ shape: [n, h, w, channels], dtype: 'f32' }];
  },
  lower: (op) => ({
    specs: [channelSliceSpec()],
    prepare: (ctx, t, [out]) => [prepareChannelSlice(ctx, { input: t(op.input), out }, op.attrs.offset)],
  }),
  cpu: (op, read) => [channelSliceCpu(read(op.input) as Float32Array, op.input.shape, op.attrs.offset, op.attrs.channels)],
  cost: () => ({ macs: 0, flops: 0 }),
};

/** Each input's gradient is its channel range of dy. */
concatOp.grad = (op, _outputs, [dy], g) => {
  if (!dy) return {};
  let offset = 0;
  const inputs = op.inputs.map((v, k) => {
    const channels = v.shape[3];
    const slice = g.needs(v) ? g.emit<ChannelSliceOp>(`${k}`, { type: 'channel_slice', input: dy, attrs: { offset, channels } })[0] : undefined;
    offset += channels;
    return slice;
  });
  return { inputs };
};

/**
 * The slice's transpose puts dy back among zero channels: dy viewed as [N*H*W, 1, k, 1], padded
 * on the width axis (the channels) by the channels before and after, and viewed back.
 */
channelSliceOp.grad = (op, _outputs, [dy], g) => {
  if (!dy) return {};
  const [n, h, w, c] = op.input.shape;
  const { offset, channels } = op.attrs;
  const view = (hint: string, x: Value, shape: number[]): Value =>
    g.emit<PermuteOp>(hint, { type: 'permute', input: x, attrs: { view: [...x.shape], perm: x.shape.map((_, i) => i), shape } })[0];
  const rows = view('rows', dy, [n * h * w, 1, channels, 1]);
  const padded = g.emit<PadOp>('zeros', { type: 'pad', input: rows, attrs: { top: 0, bottom: 0, left: offset, right: c - offset - channels } })[0];
  return { input: view('back', padded, [n, h, w, c]) };
};

// Channels are ONNX's axis 1 (NCHW).
channelSliceOp.onnx = (op, [out], g) => {
  const { offset, channels } = op.attrs;
  const range = (hint: string, v: number): string => g.constant(hint, 'int64', [1], [v]);
  g.node('Slice', [g.tensor(op.input), range('starts', offset), range('ends', offset + channels), range('axes', 1)], [out]);
};

// Channels are ONNX's axis 1 (NCHW).
concatOp.onnx = (op, [out], g) => g.node('Concat', op.inputs.map((v) => g.tensor(v)), [out], { axis: { int: 1 } });
softmaxGradOp.onnx = (op, [out], g) => softmaxGradOnnx(g, op.y, op.dy, out);

// TF Lite: CONCATENATION and SOFTMAX over the last axis (channels of a map, keys of attention);
// a channel slice as SLICE.
concatOp.tflite = (op, [out], g) =>
  g.op('CONCATENATION', op.inputs.map((v) => g.tensor(v)), [out], { table: 'ConcatenationOptions', fields: { axis: 3, fusedActivationFunction: 'NONE' } });
softmaxOp.tflite = (op, [out], g) => g.op('SOFTMAX', [g.tensor(op.input)], [out], { table: 'SoftmaxOptions', fields: { beta: 1 } });
