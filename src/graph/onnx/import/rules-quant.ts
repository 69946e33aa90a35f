// Import rules of onnxruntime's dynamic quantisation, what its q8 files (quantize_dynamic,
// transformers.js' model_quantized.onnx) run, computed as onnxruntime computes it:
//  - DynamicQuantizeLinear: our quantize_dynamic (the range, scale and zero point at run time,
//    each value's uint8 code), its codes held as the codes less the zero point;
//  - ConvInteger and MatMulInteger: our conv (a Linear layer's 1x1 conv) of those codes by the
//    weights' codes less their zero points, both integers held as f32. Padding adds zeros, which
//    is onnxruntime's padding with the input's zero point. A product is exact in f32 (|x| <= 255,
//    |w| <= 255) and so is every partial sum while within 2^24, in any order: for every output
//    channel 255 * sum |w - w_zero_point| <= 2^24 (the q8 files of transformers.js' families at
//    hand reach 0.48 of it: 7-bit weights, reduction lengths up to 1008). Past that bound a sum
//    rounds as f32 sums do, where onnxruntime rounds its exact int32 sum once, casting to float;
//  - DequantizeLinear of codes by their own scale and zero point: the codes (less the zero point)
//    times the scale.
// The Cast to float, the Mul by the scales and the Add of the bias after each product are the
// float ops they are. A tensor of codes is a value slot with `codes`; besides the ops above, only
// layout ops (Transpose, Reshape, ...) read it, passing its codes on, and any other is refused.
import type { OnnxTensor } from '../model.js';
import { type Codes, type ImportContext, NHWC, type Slot, type ValueSlot } from './context.js';
import { hostTensor, numelOf } from './host.js';
import { type ImportRule, convByAttributes, mapSlot } from './rules-nn.js';
import { linear } from './rules-tensor.js';

/** Ops that take a tensor of codes as such. */
const READ_CODES = new Set(['ConvInteger', 'MatMulInteger', 'DequantizeLinear']);
/** Ops that only move values, whose outputs hold the same codes. */
const MOVE_CODES = new Set(['Transpose', 'Reshape', 'Squeeze', 'Unsqueeze', 'Flatten', 'Identity']);

const codesOf = (s: Slot | undefined): Codes | undefined => (s?.kind === 'value' ? s.codes : undefined);

/**
 * The node's rule, where an input is a tensor of codes: a layout op's outputs hold the same codes,
 * and an op other than those reading or moving codes is refused (it would read codes less the
 * zero point where ONNX has the codes).
 */
export function throughCodes(c: ImportContext, rule: ImportRule): Slot[] {
  const codes = c.node.inputs.map((_, i) => codesOf(c.input(i))).find((q) => q !== undefined);
  if (!codes || READ_CODES.has(c.node.opType)) return rule(c);
  if (!MOVE_CODES.has(c.node.opType)) {
    c.refuse(`reads the uint8 codes of DynamicQuantizeLinear '${codes.node}', which only ${[...READ_CODES, ...MOVE_CODES].join(', ')} read here`);
  }
  return rule(c).map((s) => (s.kind === 'value' ? { ...s, codes } : s));
}

/** Input i as a tensor of codes whose zero point is input `zp` (as DynamicQuantizeLinear made them). */
function codesInput(c: ImportContext, i: number, zp: number): ValueSlot & { codes: Codes } {
  const x = c.need(i, 'input');
  if (x.kind !== 'value' || !x.codes) return c.refuse(`its input '${c.node.inputs[i]}' is not the uint8 output of a DynamicQuantizeLinear (only dynamically quantised inputs are run)`);
  if (c.input(zp) !== x.codes.zeroPoint) c.refuse(`its zero point (input ${zp}) is not that of its input's DynamicQuantizeLinear '${x.codes.node}'`);
  return x as ValueSlot & { codes: Codes };
}

/**
 * Constant integer codes less their zero point, as float values: `zp` one value, or one per index
 * of `axis` (ConvInteger's output channels, MatMulInteger's columns).
 */
function centredWeights(c: ImportContext, w: OnnxTensor, zp: OnnxTensor | undefined, axis: number): OnnxTensor {
  if (w.dtype !== 'uint8' && w.dtype !== 'int8') c.refuse(`weight '${w.name}' is ${w.dtype}, not 8-bit integers`);
  if (zp && zp.dtype !== w.dtype) c.refuse(`weight zero point '${zp.name}' is ${zp.dtype}, its weight ${w.dtype}`);
  const n = zp ? numelOf(zp.dims) : 1;
  if (n !== 1 && n !== w.dims[axis]) c.refuse(`weight zero point '${zp!.name}' [${zp!.dims.join(',')}] is neither one value nor one per index of axis ${axis} of [${w.dims.join(',')}]`);
  const inner = numelOf(w.dims.slice(axis + 1));
  const data = Float32Array.from(w.data, (v, k) => v - (zp ? zp.data[n === 1 ? 0 : Math.floor(k / inner) % n] : 0));
  return hostTensor(`${w.name}:centred`, 'float', w.dims, data);
}

const dynamicQuantizeLinear: ImportRule = (c) => {
  c.only([]);
  const x = c.need(0, 'input');
  if (x.kind === 'const') return c.refuse(`its input '${c.node.inputs[0]}' is a constant: only values computed from the image are quantised`);
  const [values, scale, zeroPoint] = c.b.node(c.layer(), { type: 'quantize_dynamic', input: x.v });
  // ONNX's scalars as [1]: every consumer broadcasts them alike.
  const codes: Codes = { node: c.node.name, scale: c.slotOf(scale, [1], [0]), zeroPoint: c.slotOf(zeroPoint, [1], [0]) };
  return [{ ...c.slotOf(values, x.dims, x.order), codes }, codes.scale, codes.zeroPoint];
};

const convInteger: ImportRule = (c) => {
  const x = codesInput(c, 0, 2);
  if (x.dims.length !== 4) c.refuse(`runs on ${x.dims.length}-D tensors [${x.dims.join(',')}]; only 2-D maps [N,C,H,W] are run`);
  const w = c.constant(1, 'weight');
  if (w.dims.length !== 4) c.refuse(`weight [${w.dims.join(',')}] is not [M, C/group, kH, kW]`);
  const centred = centredWeights(c, w, c.input(3) && c.constant(3, 'w_zero_point'), 0);
  const y = convByAttributes(c, c.valueIn(x, NHWC), c.state(centred, [2, 3, 1, 0], undefined, 'statistic'), w.dims);
  return [mapSlot(c, y)];
};

const matMulInteger: ImportRule = (c) => {
  const a = codesInput(c, 0, 2);
  const b = c.input(1);
  if (b?.kind !== 'const' || b.t.dims.length !== 2) return c.refuse('multiplies by something other than a constant matrix [K, N]: only dynamically quantised Linear layers are run');
  const centred = centredWeights(c, b.t, c.input(3) && c.constant(3, 'b_zero_point'), 1);
  return [linear(c, a, centred, [0, 1], undefined, 'statistic')];
};

const dequantizeLinear: ImportRule = (c) => {
  c.only(['axis']);
  const x = codesInput(c, 0, 2);
  if (c.input(1) !== x.codes.scale) c.refuse(`its scale (input 1) is not that of its input's DynamicQuantizeLinear '${x.codes.node}'`);
  const scale = c.b.reshape(c.layer('scale'), x.codes.scale.v, new Array<number>(x.dims.length).fill(1));
  return [c.slotOf(c.b.binary(c.layer(), 'mul', x.v, scale), x.dims, x.order)];
};

export const QUANT_RULES: Readonly<Record<string, ImportRule>> = {
  DynamicQuantizeLinear: dynamicQuantizeLinear,
  ConvInteger: convInteger,
  MatMulInteger: matMulInteger,
  DequantizeLinear: dequantizeLinear,
};
