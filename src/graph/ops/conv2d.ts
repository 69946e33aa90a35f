// conv2d: NHWC input, HWIO weight, with the epilogue the compile stage may fuse in
// (per-channel scale, bias, residual add, activation). The canonical graph a builder emits has
// no residual, no scale and activation 'none'; fusion fills them in.
import { shapeString } from '../../gpu/tensor.js';
import { type Conv2dParams, conv2dCpu, conv2dOutputShape, conv2dSpec, prepareConv2d } from '../../kernels/conv2d.js';
import type { Value } from '../value.js';
import { type OpDef, numel } from './op-def.js';

/** A conv node's attributes: the kernel's params, every field given. */
export type ConvAttrs = Required<Conv2dParams>;

export interface Conv2dOp {
  type: 'conv2d';
  input: Value;
  weight: Value;
  bias?: Value;
  scale?: Value;
  residual?: Value;
  attrs: ConvAttrs;
}

export const conv2dOp: OpDef<Conv2dOp> = {
  type: 'conv2d',
  operands: ['input', 'weight', 'bias', 'scale', 'residual'],
  infer(op) {
    if (op.input.shape.length !== 4) throw new Error(`conv input must be NHWC, got ${shapeString(op.input.shape)}`);
    if (op.weight.shape.length !== 4) throw new Error(`conv weight must be HWIO, got ${shapeString(op.weight.shape)}`);
    const shape = conv2dOutputShape(op.input.shape, op.weight.shape, op.attrs);
    const cout = op.weight.shape[3];
    for (const role of ['bias', 'scale'] as const) {
      const v = op[role];
      if (v && (v.shape.length !== 1 || v.shape[0] !== cout)) {
        throw new Error(`${role} ${shapeString(v.shape)} does not match ${cout} output channels`);
      }
    }
    if (op.residual && shapeString(op.residual.shape) !== shapeString(shape)) {
      throw new Error(`residual ${shapeString(op.residual.shape)} does not match the output ${shapeString(shape)}`);
    }
    return [{ shape, dtype: 'f32' }];
  },
  lower(op) {
    const has = { bias: !!op.bias, scale: !!op.scale, residual: !!op.residual };
    return {
      specs: [conv2dSpec(op.input.shape, op.weight.shape, op.attrs, has)],
      prepare: (ctx, t, [out]) => [
        prepareConv2d(
          ctx,
          { input: t(op.input), weight: t(op.weight), bias: op.bias && t(op.bias), scale: op.scale && t(op.scale), residual: op.residual && t(op.residual), out },
          op.attrs,
        ),
      ],
    };
  },
  cpu(op, read) {
    const f = (v: Value): Float32Array => read(v) as Float32Array;
    return [
      conv2dCpu(f(op.input), op.input.shape, f(op.weight), op.weight.shape, op.attrs, {
        bias: op.bias && f(op.bias),
        scale: op.scale && f(op.scale),
        residual: op.residual && f(op.residual),
      }),
    ];
  },
  cost(op, [out]) {
    const [kh, kw, cinPerGroup] = op.weight.shape;
    const macs = numel(out.shape) * kh * kw * cinPerGroup;
    return { macs, flops: 2 * macs };
  },
  layer: (op) => ({ kernel: [op.weight.shape[0], op.weight.shape[1]], stride: op.attrs.strideH, rate: op.attrs.dilationH }),
  outputStride: (op, s) => (s === null ? null : s * op.attrs.strideH),
};
