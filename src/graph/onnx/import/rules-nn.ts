// Import rules of the map ops: Conv, ConvTranspose, BatchNormalization, the pools. Each reads its ONNX node
// through the context, refuses what it does not run (naming the attribute), and emits our ops
// on NHWC maps.
import type { Value } from '../../ir.js';
import { type ImportContext, NHWC, type Slot, type ValueSlot } from './context.js';

export type ImportRule = (c: ImportContext) => Slot[];

/** The value slot of an NHWC map our op made: ONNX sees it as [N,C,H,W]. */
export function mapSlot(c: ImportContext, v: Value): ValueSlot {
  const [n, h, w, ch] = v.shape;
  return c.slotOf(v, [n, ch, h, w], NHWC);
}

/** Input 0 as an NHWC map: a 4-D value (1-D and 3-D ops are refused). */
export function mapInput(c: ImportContext, what = 'input'): Value {
  const x = c.need(0, what);
  if (x.kind === 'const') c.refuse(`its ${what} is a constant: the op runs on maps of the image`);
  if (x.dims.length !== 4) c.refuse(`runs on ${x.dims.length}-D tensors [${x.dims.join(',')}]; only 2-D maps [N,C,H,W] are run`);
  return c.valueIn(x, NHWC);
}

/** Two spatial values of an attribute (H and W), all `dflt` where it is absent. */
function pair(c: ImportContext, name: string, dflt: number): [number, number] {
  const v = c.intList(name) ?? [dflt, dflt];
  if (v.length !== 2 || v.some((x) => !Number.isInteger(x) || x < 0)) c.refuse(`attribute ${name} [${v.join(',')}] is not two non-negative integers`);
  return [v[0], v[1]];
}

/** [top, bottom, left, right] from pads or auto_pad, for a window of `kernel` over `input` (H, W). */
function windowPads(c: ImportContext, input: readonly number[], kernel: [number, number], strides: [number, number], dilations: [number, number]): [number, number, number, number] {
  const autoPad = c.string('auto_pad', 'NOTSET');
  if (autoPad === 'NOTSET') {
    const pads = c.intList('pads') ?? [0, 0, 0, 0];
    if (pads.length !== 4 || pads.some((p) => !Number.isInteger(p) || p < 0)) c.refuse(`pads [${pads.join(',')}] are not four non-negative integers`);
    return [pads[0], pads[2], pads[1], pads[3]];
  }
  if (autoPad === 'VALID') return [0, 0, 0, 0];
  if (autoPad !== 'SAME_UPPER' && autoPad !== 'SAME_LOWER') c.refuse(`auto_pad '${autoPad}' is not one of NOTSET, SAME_UPPER, SAME_LOWER, VALID`);
  const out: number[] = [];
  for (const a of [0, 1]) {
    const total = Math.max((Math.ceil(input[a] / strides[a]) - 1) * strides[a] + (kernel[a] - 1) * dilations[a] + 1 - input[a], 0);
    const small = Math.floor(total / 2);
    out.push(autoPad === 'SAME_UPPER' ? small : total - small, autoPad === 'SAME_UPPER' ? total - small : small);
  }
  return [out[0], out[1], out[2], out[3]];
}

/** The conv of `input` by `weight` (state of an ONNX weight of `dims` [M, C/group, kH, kW]) as the node's attributes say: Conv's and ConvInteger's. */
export function convByAttributes(c: ImportContext, input: Value, weight: Value, dims: readonly number[], bias?: Value): Value {
  c.only(['auto_pad', 'dilations', 'group', 'kernel_shape', 'pads', 'strides']);
  const [, , kh, kw] = dims;
  const kernel = c.intList('kernel_shape');
  if (kernel && (kernel[0] !== kh || kernel[1] !== kw)) c.refuse(`kernel_shape [${kernel.join(',')}] does not match the weight [${dims.join(',')}]`);
  const strides = pair(c, 'strides', 1);
  const dilations = pair(c, 'dilations', 1);
  const pads = windowPads(c, input.shape.slice(1, 3), [kh, kw], strides, dilations);
  return c.b.conv2d(c.layer(), input, weight, { stride: strides, dilation: dilations, padding: pads, groups: c.int('group', 1), bias });
}

const conv: ImportRule = (c) => {
  const input = mapInput(c);
  const w = c.constant(1, 'weight');
  if (w.dims.length !== 4) c.refuse(`weight [${w.dims.join(',')}] is not [M, C/group, kH, kW]`);
  const m = w.dims[0];
  const b = c.input(2) && c.constant(2, 'bias');
  // The logits' conv under a new class set: new weights of the new shape (zeros here; a fine-tune initialises them).
  const classes = c.headClasses(m);
  const weight = c.state(classes === m ? w : { ...w, dims: [classes, ...w.dims.slice(1)], data: new Float32Array((classes * w.data.length) / m) }, [2, 3, 1, 0], undefined, 'param');
  const bias = b && c.state(classes === m ? b : { ...b, dims: [classes], data: new Float32Array(classes) }, [0], undefined, 'param');
  return [mapSlot(c, convByAttributes(c, input, weight, w.dims, bias))];
};

/**
 * ConvTranspose: our conv's input gradient, the transposed convolution (the weight [Cin, Cout/g,
 * kH, kW] is that conv's OIHW), with the bias added per channel.
 */
const convTranspose: ImportRule = (c) => {
  c.only(['auto_pad', 'dilations', 'group', 'kernel_shape', 'output_padding', 'output_shape', 'pads', 'strides']);
  const input = mapInput(c);
  const w = c.constant(1, 'weight');
  if (w.dims.length !== 4) c.refuse(`weight [${w.dims.join(',')}] is not [C, M/group, kH, kW]`);
  const groups = c.int('group', 1);
  const [cin, coutPerGroup, kh, kw] = w.dims;
  if (cin !== input.shape[3]) c.refuse(`weight [${w.dims.join(',')}] does not take the input's ${input.shape[3]} channels`);
  const strides = pair(c, 'strides', 1);
  const dilations = pair(c, 'dilations', 1);
  const outPad = pair(c, 'output_padding', 0);
  const inSize = input.shape.slice(1, 3);
  const span = [0, 1].map((a) => strides[a] * (inSize[a] - 1) + outPad[a] + (a === 0 ? kh - 1 : kw - 1) * dilations[a] + 1);
  const autoPad = c.string('auto_pad', 'NOTSET');
  const given = c.intList('output_shape');
  let pads: [number, number, number, number];
  if (given || autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
    // ONNX: the padding that gives the output size, split with the odd one at the end for SAME_UPPER.
    const out = given ? given.slice(-2) : inSize.map((d, a) => d * strides[a]);
    const total = [0, 1].map((a) => span[a] - out[a]);
    const split = (t: number): [number, number] => (autoPad === 'SAME_UPPER' ? [Math.floor(t / 2), t - Math.floor(t / 2)] : [t - Math.floor(t / 2), Math.floor(t / 2)]);
    pads = [...split(total[0]), ...split(total[1])];
  } else if (autoPad === 'VALID') {
    pads = [0, 0, 0, 0];
  } else {
    const p = c.intList('pads') ?? [0, 0, 0, 0];
    if (p.length !== 4 || p.some((v) => !Number.isInteger(v) || v < 0)) c.refuse(`pads [${p.join(',')}] are not four non-negative integers`);
    pads = [p[0], p[2], p[1], p[3]];
  }
  const outH = span[0] - pads[0] - pads[1];
  const outW = span[1] - pads[2] - pads[3];
  if (outH < 1 || outW < 1 || pads.some((p) => p < 0)) c.refuse(`makes a ${outH}x${outW} output from ${inSize.join('x')}`);
  const cout = coutPerGroup * groups;
  const attrs = { strideH: strides[0], strideW: strides[1], padTop: pads[0], padBottom: pads[1], padLeft: pads[2], padRight: pads[3], dilationH: dilations[0], dilationW: dilations[1], groups, activation: 'none' as const };
  let y = c.b.node(c.layer(), { type: 'conv2d_grad_input', dy: input, weight: c.state(w, [2, 3, 1, 0], undefined, 'param'), attrs: { ...attrs, inputShape: [input.shape[0], outH, outW, cout] } })[0];
  const b = c.input(2) && c.constant(2, 'bias');
  if (b) y = c.b.binary(c.layer('bias'), 'add', y, c.state(b, [0, 1, 2, 3], [1, 1, 1, cout], 'param'));
  return [mapSlot(c, y)];
};

const batchNormalization: ImportRule = (c) => {
  c.only(['epsilon', 'momentum', 'training_mode', 'spatial']);
  if (c.int('training_mode', 0) !== 0) c.refuse('training_mode 1: the file is a training graph; export it in eval mode');
  if (c.int('spatial', 1) !== 1) c.refuse('spatial 0 (statistics per position) is not run');
  if (c.node.outputs.slice(1).some((o) => o !== '')) c.refuse('outputs its running statistics: a training graph; export it in eval mode');
  const x = mapInput(c);
  const param = (i: number, what: string, role: 'param' | 'statistic'): Value => c.state(c.constant(i, what), [0], undefined, role);
  const y = c.b.batchNorm(c.layer(), x, { gamma: param(1, 'scale', 'param'), beta: param(2, 'bias', 'param'), mean: param(3, 'mean', 'statistic'), variance: param(4, 'variance', 'statistic') }, {
    eps: c.float('epsilon', 1e-5),
    // ONNX's momentum weighs the running value (0.9), PyTorch's the batch's (0.1).
    momentum: 1 - c.float('momentum', 0.9),
  });
  return [mapSlot(c, y)];
};

function pool(kind: 'avg' | 'max'): ImportRule {
  return (c) => {
    c.only(kind === 'max' ? ['auto_pad', 'ceil_mode', 'dilations', 'kernel_shape', 'pads', 'strides', 'storage_order'] : ['auto_pad', 'ceil_mode', 'count_include_pad', 'kernel_shape', 'pads', 'strides']);
    if (c.node.outputs[1]) c.refuse('outputs the indices of the maxima, which are not computed');
    const x = mapInput(c);
    const kernel = pair(c, 'kernel_shape', 0);
    if (kernel.some((k) => k < 1)) c.refuse('has no kernel_shape');
    const [dh, dw] = pair(c, 'dilations', 1);
    if (dh !== 1 || dw !== 1) c.refuse('dilated pooling windows are not run');
    const strides = pair(c, 'strides', 1);
    const [top, bottom, left, right] = windowPads(c, x.shape.slice(1, 3), kernel, strides, [1, 1]);
    const countIncludePad = kind === 'avg' && c.int('count_include_pad', 0) === 1;
    const extra = [0, 0];
    if (c.int('ceil_mode', 0) === 1) {
      // ceil: the last window may start past the floor's last, within the input and its leading pad.
      [x.shape[1] + top + bottom, x.shape[2] + left + right].forEach((span, a) => {
        let out = Math.ceil((span - kernel[a]) / strides[a]) + 1;
        if ((out - 1) * strides[a] >= x.shape[1 + a] + (a === 0 ? top : left)) out--;
        extra[a] = Math.max(0, (out - 1) * strides[a] + kernel[a] - span);
      });
      if (countIncludePad && (extra[0] || extra[1])) c.refuse('ceil_mode with count_include_pad: the windows past the input would count cells ONNX leaves out');
    }
    const y = c.b.pool2d(c.layer(), x, {
      kind,
      kernelH: kernel[0],
      kernelW: kernel[1],
      strideH: strides[0],
      strideW: strides[1],
      padTop: top,
      padBottom: bottom + extra[0],
      padLeft: left,
      padRight: right + extra[1],
      countIncludePad,
    });
    return [mapSlot(c, y)];
  };
}

const globalAveragePool: ImportRule = (c) => [mapSlot(c, c.b.globalAvgPool(c.layer(), mapInput(c)))];

const globalMaxPool: ImportRule = (c) => {
  const x = mapInput(c);
  const [, h, w] = x.shape;
  return [mapSlot(c, c.b.pool2d(c.layer(), x, { kind: 'max', kernelH: h, kernelW: w, strideH: 1, strideW: 1, padTop: 0, padBottom: 0, padLeft: 0, padRight: 0, countIncludePad: false }))];
};

export const NN_RULES: Readonly<Record<string, ImportRule>> = {
  Conv: conv,
  ConvTranspose: convTranspose,
  BatchNormalization: batchNormalization,
  MaxPool: pool('max'),
  AveragePool: pool('avg'),
  GlobalAveragePool: globalAveragePool,
  GlobalMaxPool: globalMaxPool,
};
