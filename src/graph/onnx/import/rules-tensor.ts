// Import rules of the ops over an axis or between tensors: Softmax, ReduceMean / ReduceSum,
// MatMul and Gemm (a Linear layer as a 1x1 conv, attention's products as our batched matmul),
// LayerNormalization and InstanceNormalization (on our layer norm over the last axis, with a
// per-channel affine).
import type { Value } from '../../ir.js';
import type { StateRole } from '../../value.js';
import type { OnnxTensor } from '../model.js';
import { type ImportContext, NHWC, type ValueSlot, identityOrder, sameOrder } from './context.js';
import { hostTensor, numelOf } from './host.js';
import { axisLast, reshaped } from './rules-layout.js';
import type { ImportRule } from './rules-nn.js';

function valueInput(c: ImportContext, i = 0, what = 'input'): ValueSlot {
  const x = c.need(i, what);
  return x.kind === 'const' ? c.refuse(`its ${what} is a constant`) : x;
}

/** `s` with ONNX axis `axis` as our last axis. */
function withAxisLast(c: ImportContext, s: ValueSlot, axis: number): ValueSlot {
  const order = axisLast(s.order, axis);
  return sameOrder(order, s.order) ? s : c.slotOf(c.valueIn(s, order), s.dims, order);
}

const softmax: ImportRule = (c) => {
  const x = valueInput(c);
  const rank = x.dims.length;
  const axis = c.axis(c.int('axis', c.opset >= 13 ? -1 : 1), rank);
  if (c.opset < 13 && axis !== rank - 1) {
    // Before opset 13, Softmax runs over everything from `axis` on, as one flattened axis.
    const flat = reshaped(c, x, [numelOf(x.dims.slice(0, axis)), numelOf(x.dims.slice(axis))]);
    return [reshaped(c, c.slotOf(c.b.softmax(c.layer(), flat.v), flat.dims, flat.order), x.dims)];
  }
  const s = withAxisLast(c, x, axis);
  return [c.slotOf(c.b.softmax(c.layer(), s.v), s.dims, s.order)];
};

function reduce(kind: 'mean' | 'sum'): ImportRule {
  return (c) => {
    const x = valueInput(c);
    const rank = x.dims.length;
    const fromInput = (kind === 'sum' && c.opset >= 13) || c.opset >= 18;
    const given = fromInput ? (c.input(1) ? c.ints(1, 'axes') : undefined) : c.intList('axes');
    if ((!given || given.length === 0) && c.int('noop_with_empty_axes', 0) === 1) return [x];
    const axes = new Set((given && given.length ? given : identityOrder(rank)).map((a) => c.axis(a, rank)));
    const keep = c.int('keepdims', 1) === 1;
    const kept = x.dims.map((d, a) => (axes.has(a) ? 1 : d));
    let v: Value;
    if (kind === 'mean' && rank === 4 && sameOrder(x.order, NHWC) && axes.size === 2 && axes.has(2) && axes.has(3)) {
      v = c.b.globalAvgPool(c.layer(), x.v);
    } else {
      v = c.b.reduceSum(c.layer(), x.v, x.order.map((a) => kept[a]));
      const count = numelOf(x.dims.filter((_, a) => axes.has(a)));
      if (kind === 'mean' && count !== 1) v = c.b.node(c.layer('mean'), { type: 'scale', input: v, attrs: { factor: 1 / count } })[0];
    }
    const out = c.slotOf(v, kept, x.order);
    return [keep ? out : reshaped(c, out, x.dims.filter((_, a) => !axes.has(a)))];
  };
}

/** `x` [..., K] times the constant `w` seen as [K, N] (a Linear layer, its weight state of `role`): a 1x1 conv on x as a map [1, rows, 1, K], with `bias` [N]. */
export function linear(c: ImportContext, x: ValueSlot, w: OnnxTensor, wOrder: number[], bias?: OnnxTensor, role: StateRole = 'param'): ValueSlot {
  const rank = x.dims.length;
  const s = withAxisLast(c, x, rank - 1);
  const [k, n] = wOrder.map((a) => w.dims[a]);
  if (s.dims[rank - 1] !== k) c.refuse(`multiplies [${x.dims.join(',')}] by [${w.dims.join(',')}]`);
  const map = s.v.shape.length === 4 ? s.v : c.b.reshape(c.layer('rows'), s.v, [1, numelOf(s.v.shape) / k, 1, k]);
  const weight = c.state(w, [0, 1, ...wOrder.map((a) => a + 2)], [1, 1, ...w.dims], role);
  const y = c.b.conv2d(c.layer(), map, weight, { bias: bias && c.state(bias, [0], [n], 'param') });
  const dims = [...x.dims.slice(0, -1), n];
  const ours = s.order.map((a) => dims[a]);
  return c.slotOf(y.shape.length === ours.length && y.shape.every((d, i) => d === ours[i]) ? y : c.b.reshape(c.layer('back'), y, ours), dims, s.order);
}

/** A batched product operand: rank 3 [batch, rows, cols] in ONNX's order or with its last two axes swapped (transposed). */
function matmulOperand(c: ImportContext, s: ValueSlot, what: string): { v: Value; trans: boolean } {
  const r = s.dims.length;
  const batch = identityOrder(r - 2);
  const trans = sameOrder(s.order, [...batch, r - 1, r - 2]);
  const order = trans ? s.order : identityOrder(r);
  let v = c.valueIn(s, order);
  if (r !== 3) v = c.b.reshape(c.layer(what), v, [numelOf(s.dims.slice(0, -2)), v.shape[r - 2], v.shape[r - 1]]);
  return { v, trans };
}

const matmul: ImportRule = (c) => {
  const a = valueInput(c, 0, 'A');
  const bIn = c.need(1, 'B');
  if (bIn.kind === 'const' && bIn.t.dims.length === 2) return [linear(c, a, bIn.t, [0, 1])];
  const b = c.value(bIn);
  const r = a.dims.length;
  if (r < 2 || b.dims.length !== r || a.dims.slice(0, -2).some((d, i) => d !== b.dims[i])) c.refuse(`multiplies [${a.dims.join(',')}] by [${b.dims.join(',')}]: only products of equal batch axes (or by a 2-D constant) are run`);
  const x = matmulOperand(c, a, 'a');
  const y = matmulOperand(c, b, 'b');
  const out = c.b.matmul(c.layer(), x.v, y.v, { transA: x.trans, transB: y.trans });
  const dims = [...a.dims.slice(0, -1), b.dims[r - 1]];
  return [r === 3 ? c.slotOf(out, dims, identityOrder(3)) : reshaped(c, c.slotOf(out, out.shape, identityOrder(3)), dims)];
};

const gemm: ImportRule = (c) => {
  c.only(['alpha', 'beta', 'transA', 'transB']);
  if (c.float('alpha', 1) !== 1 || c.float('beta', 1) !== 1) c.refuse('alpha or beta other than 1 is not run');
  if (c.int('transA', 0) !== 0) c.refuse('transA 1 is not run');
  const a = valueInput(c, 0, 'A');
  const w = c.constant(1, 'B');
  const bias = c.input(2) ? c.constant(2, 'C') : undefined;
  const n = c.int('transB', 0) ? w.dims[0] : w.dims[1];
  if (bias && numelOf(bias.dims) !== n) c.refuse(`C [${bias.dims.join(',')}] is not one bias per output`);
  return [linear(c, a, w, c.int('transB', 0) ? [1, 0] : [0, 1], bias && { ...bias, dims: [n] })];
};

/** Layer norm over ONNX axes [axis, rank) of `x`, with `gamma` and `beta` [those axes' values] as given state. */
function layerNormOver(c: ImportContext, x: ValueSlot, axis: number, gamma: Value, beta: Value, eps: number): ValueSlot {
  const rank = x.dims.length;
  if (axis === rank - 1) {
    const s = withAxisLast(c, x, axis);
    return c.slotOf(c.b.layerNorm(c.layer(), s.v, { gamma, beta }, { eps }), s.dims, s.order);
  }
  const flat = reshaped(c, x, [...x.dims.slice(0, axis), numelOf(x.dims.slice(axis))]);
  const y = c.b.layerNorm(c.layer(), flat.v, { gamma, beta }, { eps });
  return reshaped(c, c.slotOf(y, flat.dims, flat.order), x.dims);
}

const layerNormalization: ImportRule = (c) => {
  c.only(['axis', 'epsilon', 'stash_type']);
  if (c.node.outputs.slice(1).some((o) => o !== '')) c.refuse('outputs its mean or inverse deviation, which are not computed');
  const x = valueInput(c);
  const axis = c.axis(c.int('axis', -1), x.dims.length);
  const size = numelOf(x.dims.slice(axis));
  const scale = c.constant(1, 'scale');
  const bias = c.input(2) ? c.constant(2, 'bias') : hostTensor(`${c.node.name}:zero_bias`, 'float', [size], new Float32Array(size));
  for (const t of [scale, bias]) if (numelOf(t.dims) !== size) c.refuse(`${t.name} [${t.dims.join(',')}] does not match the ${size} values normalised`);
  return [layerNormOver(c, x, axis, c.state(scale, [0], [size], 'param'), c.state(bias, [0], [size], c.input(2) ? 'param' : 'statistic'), c.float('epsilon', 1e-5))];
};

/**
 * InstanceNormalization: each item's channel normalised over its positions (layer norm over the
 * axes after the channel), then the per-channel scale and bias, where they are not PyTorch's
 * GroupNorm export (ones and zeros, the affine following as Mul and Add).
 */
const instanceNormalization: ImportRule = (c) => {
  c.only(['epsilon']);
  const x = valueInput(c);
  const rank = x.dims.length;
  if (rank < 3) c.refuse(`normalises a rank-${rank} tensor`);
  const [scale, bias] = [c.constant(1, 'scale'), c.constant(2, 'B')];
  const channels = x.dims[1];
  for (const t of [scale, bias]) if (numelOf(t.dims) !== channels) c.refuse(`${t.name} [${t.dims.join(',')}] is not one value per channel of [${x.dims.join(',')}]`);
  const size = numelOf(x.dims.slice(2));
  const ones = hostTensor(`${c.node.name}:ones`, 'float', [size], new Float32Array(size).fill(1));
  const zeros = hostTensor(`${c.node.name}:zeros`, 'float', [size], new Float32Array(size));
  let y = layerNormOver(c, x, 2, c.state(ones, [0], [size], 'statistic'), c.state(zeros, [0], [size], 'statistic'), c.float('epsilon', 1e-5));
  // The affine per channel: the constant seen as [C, 1, ...] against the normalised value in its order.
  const perChannel = new Array<number>(rank - 2).fill(1);
  const affine = (op: 'mul' | 'add', t: OnnxTensor): ValueSlot => c.slotOf(c.b.binary(c.layer(op === 'mul' ? 'scale' : 'bias'), op, y.v, c.state(t, y.order, [channels, ...perChannel], 'param')), y.dims, y.order);
  if (scale.data.some((v) => v !== 1)) y = affine('mul', scale);
  if (bias.data.some((v) => v !== 0)) y = affine('add', bias);
  return [y];
};

export const TENSOR_RULES: Readonly<Record<string, ImportRule>> = {
  Softmax: softmax,
  ReduceMean: reduce('mean'),
  ReduceSum: reduce('sum'),
  MatMul: matmul,
  Gemm: gemm,
  LayerNormalization: layerNormalization,
  InstanceNormalization: instanceNormalization,
};
