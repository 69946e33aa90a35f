// conv2d: NHWC input, HWIO weight, with the epilogue the compile stage may fuse in
// (per-channel scale, bias, residual add, activation). The canonical graph a builder emits has
// no residual, no scale and activation 'none'; fusion fills them in.
import { shapeString } from '../../gpu/tensor.js';
import { conv2dLowering, conv2dTunable, prepareConv2d } from '../../kernels/conv2d/conv2d.js';
import { type Conv2dParams, conv2dOutputShape, samePadding } from '../../kernels/conv2d/params.js';
import { conv2dCpu } from '../../kernels/conv2d/reference.js';
import { verifySubgroupMatrices } from '../../kernels/conv2d/gemm/matrix-check.js';
import { conv2dBiasGradLowering, prepareConv2dBiasGrad } from '../../kernels/conv2d-backward/bias-grad/bias-grad.js';
import { conv2dInputGradLowering, conv2dInputGradTunable, prepareConv2dInputGrad } from '../../kernels/conv2d-backward/input-grad/input-grad.js';
import { conv2dWeightGradLowering, conv2dWeightGradScratchShape, conv2dWeightGradTunable, prepareConv2dWeightGrad } from '../../kernels/conv2d-backward/weight-grad/weight-grad.js';
import { conv2dBiasGradCpu, conv2dInputGradCpu, conv2dWeightGradCpu } from '../../kernels/conv2d-backward/reference.js';
import { chunkSumSpec } from '../../kernels/reduce/reduce.js';
import { HWIO_TO_OIHW, type OnnxEmitter, fusedEpilogueError } from '../onnx/emitter.js';
import { convBiasGradOnnx, convWeightGradOnnx } from '../onnx/rules/conv-grad.js';
import { cropToLiveTaps, liveTapsAtRunTime } from '../onnx/rules/live-taps.js';
import { HWIO_TO_1HWC, HWIO_TO_OHWI, tfliteFusedError, withActivation } from '../tflite/emitter.js';
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
  half: true,
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
  lower(op, _outputs, ctx) {
    const has = { bias: !!op.bias, scale: !!op.scale, residual: !!op.residual };
    // The variant is chosen here, once: the kernels compiled are the ones prepared.
    const { choice, specs } = conv2dLowering(ctx, op.input.shape, op.weight.shape, op.attrs, has, op.input.dtype === 'f16' ? 'f16' : 'f32');
    return {
      specs,
      prepare: (ctx, t, [out]) =>
        prepareConv2d(
          ctx,
          { input: t(op.input), weight: t(op.weight), bias: op.bias && t(op.bias), scale: op.scale && t(op.scale), residual: op.residual && t(op.residual), out },
          op.attrs,
          choice,
        ),
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
  tunable: (op, ctx) => conv2dTunable(ctx, op.input.shape, op.weight.shape, op.attrs, op.input.dtype === 'f16' ? 'f16' : 'f32'),
  // Subgroup matrices (tensor cores) are offered to a layer only once checked on the adapter.
  adapterCheck: verifySubgroupMatrices,
  layer: (op) => ({ kernel: [op.weight.shape[0], op.weight.shape[1]], stride: op.attrs.strideH, rate: op.attrs.dilationH }),
  outputStride: (op, s) => (s === null ? null : s * op.attrs.strideH),
};

/** Gradient of a conv's input: the transposed convolution of dy with the weight. */
export interface Conv2dGradInputOp {
  type: 'conv2d_grad_input';
  dy: Value;
  weight: Value;
  attrs: ConvAttrs & { inputShape: number[] };
}

/** Gradient of a conv's bias: dy summed per output channel. */
export interface Conv2dGradBiasOp {
  type: 'conv2d_grad_bias';
  dy: Value;
}

/** Gradient of a conv's weight; its second output is the reduction's scratch ([1] when it needs none). */
export interface Conv2dGradWeightOp {
  type: 'conv2d_grad_weight';
  x: Value;
  dy: Value;
  attrs: ConvAttrs & { weightShape: number[] };
}

const convMacs = (inputShape: readonly number[], weightShape: readonly number[], p: ConvAttrs): number => {
  const [n, oh, ow] = conv2dOutputShape(inputShape, weightShape, p);
  return n * oh * ow * numel(weightShape);
};

export const conv2dGradInputOp: OpDef<Conv2dGradInputOp> = {
  type: 'conv2d_grad_input',
  operands: ['dy', 'weight'],
  infer(op) {
    const out = conv2dOutputShape(op.attrs.inputShape, op.weight.shape, op.attrs);
    if (shapeString(out) !== shapeString(op.dy.shape)) throw new Error(`dy ${shapeString(op.dy.shape)} is not the conv's output ${shapeString(out)}`);
    return [{ shape: [...op.attrs.inputShape], dtype: 'f32' }];
  },
  lower: (op, _outputs, ctx) => {
    // The variant is chosen here, once: the kernels compiled are the ones prepared.
    const { choice, specs } = conv2dInputGradLowering(ctx, op.attrs.inputShape, op.weight.shape, op.attrs);
    return { specs, prepare: (ctx, t, [dInput]) => prepareConv2dInputGrad(ctx, { dOut: t(op.dy), weight: t(op.weight), dInput }, op.attrs, choice) };
  },
  cpu: (op, read) => [
    conv2dInputGradCpu(read(op.dy) as Float32Array, op.dy.shape, read(op.weight) as Float32Array, op.weight.shape, op.attrs.inputShape, op.attrs),
  ],
  cost: (op) => ({ macs: 0, flops: 2 * convMacs(op.attrs.inputShape, op.weight.shape, op.attrs) }),
  tunable: (op, ctx) => conv2dInputGradTunable(ctx, op.attrs.inputShape, op.weight.shape, op.attrs),
};

export const conv2dGradWeightOp: OpDef<Conv2dGradWeightOp> = {
  type: 'conv2d_grad_weight',
  operands: ['x', 'dy'],
  infer(op) {
    const out = conv2dOutputShape(op.x.shape, op.attrs.weightShape, op.attrs);
    if (shapeString(out) !== shapeString(op.dy.shape)) throw new Error(`dy ${shapeString(op.dy.shape)} is not the conv's output ${shapeString(out)}`);
    const scratch = conv2dWeightGradScratchShape(op.x.shape, op.attrs.weightShape, op.attrs);
    return [
      { shape: [...op.attrs.weightShape], dtype: 'f32' },
      { shape: scratch ?? [1], dtype: 'f32' },
    ];
  },
  lower: (op, _outputs, ctx) => {
    const needsScratch = conv2dWeightGradScratchShape(op.x.shape, op.attrs.weightShape, op.attrs) !== null;
    const { choice, specs } = conv2dWeightGradLowering(ctx, op.x.shape, op.attrs.weightShape, op.attrs);
    return {
      specs: [...specs, chunkSumSpec()],
      prepare: (ctx, t, [dWeight, scratch]) =>
        prepareConv2dWeightGrad(ctx, { input: t(op.x), dOut: t(op.dy), dWeight, scratch: needsScratch ? scratch : undefined }, op.attrs, { choice }),
    };
  },
  cpu: (op, read) => [
    conv2dWeightGradCpu(read(op.x) as Float32Array, op.x.shape, read(op.dy) as Float32Array, op.dy.shape, op.attrs.weightShape, op.attrs),
    new Float32Array(0),
  ],
  cost: (op) => ({ macs: 0, flops: 2 * convMacs(op.x.shape, op.attrs.weightShape, op.attrs) }),
  tunable: (op, ctx) => conv2dWeightGradTunable(ctx, op.x.shape, op.attrs.weightShape, op.attrs),
};

export const conv2dGradBiasOp: OpDef<Conv2dGradBiasOp> = {
  type: 'conv2d_grad_bias',
  operands: ['dy'],
  infer: (op) => [{ shape: [op.dy.shape[op.dy.shape.length - 1]], dtype: 'f32' }],
  lower: (op, _outputs, ctx) => {
    const { kernel, specs } = conv2dBiasGradLowering(ctx, op.dy.shape);
    return { specs, prepare: (ctx, t, [dBias]) => prepareConv2dBiasGrad(ctx, { dOut: t(op.dy), dBias }, kernel) };
  },
  cpu: (op, read) => [conv2dBiasGradCpu(read(op.dy) as Float32Array, op.dy.shape)],
  cost: (op) => ({ macs: 0, flops: numel(op.dy.shape) }),
};

/** d conv: the transposed conv for the input, a reduction for the weight, a channel sum for the bias. */
conv2dOp.grad = (op, _outputs, [dy], g) => {
  if (!dy) return {};
  if (op.residual || op.scale || op.attrs.activation !== 'none') {
    throw new Error('conv2d with a fused epilogue: differentiate the canonical graph, before fusion');
  }
  const attrs = op.attrs;
  return {
    input: g.needs(op.input) ? g.emit<Conv2dGradInputOp>('input', { type: 'conv2d_grad_input', dy, weight: op.weight, attrs: { ...attrs, inputShape: [...op.input.shape] } })[0] : undefined,
    weight: g.needs(op.weight) ? g.emit<Conv2dGradWeightOp>('weight', { type: 'conv2d_grad_weight', x: op.input, dy, attrs: { ...attrs, weightShape: [...op.weight.shape] } })[0] : undefined,
    bias: op.bias && g.needs(op.bias) ? g.emit<Conv2dGradBiasOp>('bias', { type: 'conv2d_grad_bias', dy })[0] : undefined,
  };
};

/**
 * d of the transposed conv (ONNX's ConvTranspose, imported as this op): dy's gradient is the
 * forward conv of dOut with the same weight; the weight's, the weight gradient with the roles of
 * input and output swapped.
 */
conv2dGradInputOp.grad = (op, _outputs, [dOut], g) => {
  if (!dOut) return {};
  const { inputShape, ...attrs } = op.attrs;
  void inputShape;
  return {
    dy: g.needs(op.dy) ? g.emit<Conv2dOp>('dy', { type: 'conv2d', input: dOut, weight: op.weight, attrs })[0] : undefined,
    weight: g.needs(op.weight) ? g.emit<Conv2dGradWeightOp>('weight', { type: 'conv2d_grad_weight', x: dOut, dy: op.dy, attrs: { ...attrs, weightShape: [...op.weight.shape] } })[0] : undefined,
  };
};

// ONNX Conv: pads as [top, left, bottom, right]; weights OIHW (groups split channels the same way).
// A training step's weight is cropped to the taps that read the input (rules/live-taps.ts).
conv2dOp.onnx = (op, [out], g) => {
  if (op.scale || op.residual || op.attrs.activation !== 'none') throw fusedEpilogueError('epilogue (scale, residual or activation)');
  const [kh, kw, cin, cout] = op.weight.shape;
  const taps = liveTapsAtRunTime(g, op.input.shape, conv2dOutputShape(op.input.shape, op.weight.shape, op.attrs), [kh, kw], op.attrs);
  const a = taps?.attrs ?? op.attrs;
  const weight = g.tensor(op.weight, HWIO_TO_OIHW);
  const inputs = [g.tensor(op.input), taps ? cropToLiveTaps(g, weight, [cout, cin], [kh, kw], taps) : weight, ...(op.bias ? [g.tensor(op.bias)] : [])];
  g.node('Conv', inputs, [out], {
    kernel_shape: { ints: taps?.kernel ?? [kh, kw] },
    strides: { ints: [a.strideH, a.strideW] },
    dilations: { ints: [a.dilationH, a.dilationW] },
    pads: { ints: [a.padTop, a.padLeft, a.padBottom, a.padRight] },
    group: { int: a.groups },
  });
};

// ONNX ConvTranspose: the transposed conv of the forward conv's weight, OIHW being ConvTranspose's
// [C, M/group, kH, kW]; the forward conv's pads, and output_padding the rows and columns of the
// forward input its windows left unread (always fewer than the stride), so the output is
// inputShape exactly. A training step's weight is cropped to the taps that read the input
// (rules/live-taps.ts).
conv2dGradInputOp.onnx = (op, [out], g) => {
  const { inputShape, ...attrs } = op.attrs;
  const [wh, ww, cin, cout] = op.weight.shape;
  const taps = liveTapsAtRunTime(g, inputShape, op.dy.shape, [wh, ww], attrs);
  const a = taps?.attrs ?? attrs;
  const [kh, kw] = taps?.kernel ?? [wh, ww];
  const oihw = (): string => (taps ? cropToLiveTaps(g, g.tensor(op.weight, HWIO_TO_OIHW), [cout, cin], [wh, ww], taps) : g.tensor(op.weight, HWIO_TO_OIHW));
  if (isPointwise(kh, kw, a)) {
    // The weight as IOHW: a file's initializer written so, a cropped one transposed.
    const io = taps ? g.intermediate('weight_io') : g.tensor(op.weight, [2, 3, 0, 1]);
    if (taps) g.node('Transpose', [oihw()], [io], { perm: { ints: [1, 0, 2, 3] } });
    return pointwiseGradInput(inputShape, cout, io, g.tensor(op.dy), out, g);
  }
  const [, oh, ow] = op.dy.shape;
  const [, h, w] = inputShape;
  const extent = (o: number, s: number, k: number, d: number, p0: number, p1: number) => s * (o - 1) + (k - 1) * d + 1 - p0 - p1;
  const outputPadding = [h - extent(oh, a.strideH, kh, a.dilationH, a.padTop, a.padBottom), w - extent(ow, a.strideW, kw, a.dilationW, a.padLeft, a.padRight)];
  g.node('ConvTranspose', [g.tensor(op.dy), oihw()], [out], {
    kernel_shape: { ints: [kh, kw] },
    strides: { ints: [a.strideH, a.strideW] },
    dilations: { ints: [a.dilationH, a.dilationW] },
    pads: { ints: [a.padTop, a.padLeft, a.padBottom, a.padRight] },
    output_padding: { ints: outputPadding },
    group: { int: a.groups },
  });
};

// The weight's gradient in the weight's OIHW layout (a sum of Gemms over the kernel's taps);
// the bias's a ReduceSum (src/graph/onnx/rules/conv-grad.ts).
conv2dGradWeightOp.onnx = (op, [out], g) => convWeightGradOnnx(g, op.x, op.dy, op.attrs.weightShape, op.attrs, out);
conv2dGradBiasOp.onnx = (op, [out], g) => convBiasGradOnnx(g, op.dy, out);

/** A 1x1 convolution of stride 1 without padding, in one group: its input gradient is a matrix product. */
function isPointwise(kh: number, kw: number, a: ConvAttrs): boolean {
  return kh === 1 && kw === 1 && a.strideH === 1 && a.strideW === 1 && a.groups === 1 && !a.padTop && !a.padBottom && !a.padLeft && !a.padRight;
}

// dx = W^T dy per image: MatMul of the IOHW weight as [Cin, Cout] with dy as [N, Cout, H*W] (ONNX
// Runtime's ConvTranspose spent a GEMM and a col2im pass on it).
function pointwiseGradInput(inputShape: readonly number[], cout: number, weightIo: string, dy: string, out: string, g: OnnxEmitter): void {
  const [n, h, w, cin] = inputShape;
  const reshape = (x: string, dims: number[], into = g.intermediate('reshaped')): string => {
    g.node('Reshape', [x, g.constant('shape', 'int64', [dims.length], dims)], [into]);
    return into;
  };
  const product = g.intermediate('product');
  g.node('MatMul', [reshape(weightIo, [cin, cout]), reshape(dy, [n, cout, h * w])], [product]);
  reshape(product, [n, cin, h, w], out);
}

// TF Lite: CONV_2D (OHWI weights; a grouped conv's filter holds each group's input channels),
// DEPTHWISE_CONV_2D where each input channel has its own filters; padding SAME or VALID where ours
// is one of them, else an explicit PAD first. Always a bias (zeros where the conv has none).
conv2dOp.tflite = (op, [out], g) => {
  if (op.scale || op.residual) throw tfliteFusedError('scale or residual');
  const a = op.attrs;
  const [n, h, w, cin] = op.input.shape;
  const [kh, kw, groupIn, cout] = op.weight.shape;
  const ours = [a.padTop, a.padBottom, a.padLeft, a.padRight];
  const same = [...samePadding(h, kh, a.strideH, a.dilationH), ...samePadding(w, kw, a.strideW, a.dilationW)];
  let input = g.tensor(op.input);
  let padding = 'VALID';
  if (ours.join() === same.join()) padding = 'SAME';
  else if (ours.some((p) => p !== 0)) {
    const padded = g.intermediate('padded', [n, h + a.padTop + a.padBottom, w + a.padLeft + a.padRight, cin]);
    g.op('PAD', [input, g.constant('paddings', 'INT32', [4, 2], [0, 0, a.padTop, a.padBottom, a.padLeft, a.padRight, 0, 0])], [padded]);
    input = padded;
  }
  const bias = op.bias ? g.weight(op.bias) : g.constant('zero_bias', 'FLOAT32', [cout], new Array<number>(cout).fill(0));
  const depthwise = a.groups > 1 && a.groups === cin && groupIn === 1;
  const outShape = conv2dOutputShape(op.input.shape, op.weight.shape, a);
  withActivation(g, a.activation, out, outShape, (target, fused) => {
    const common = { padding, strideW: a.strideW, strideH: a.strideH, fusedActivationFunction: fused, dilationWFactor: a.dilationW, dilationHFactor: a.dilationH };
    if (depthwise) {
      g.op('DEPTHWISE_CONV_2D', [input, g.weight(op.weight, HWIO_TO_1HWC), bias], [target], { table: 'DepthwiseConv2DOptions', fields: { ...common, depthMultiplier: cout / cin } });
    } else {
      g.op('CONV_2D', [input, g.weight(op.weight, HWIO_TO_OHWI), bias], [target], { table: 'Conv2DOptions', fields: common });
    }
  });
};
