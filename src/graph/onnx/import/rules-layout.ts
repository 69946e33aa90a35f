// Import rules of the layout ops: Transpose (a change of order, no copy), Reshape, Flatten,
// Squeeze, Unsqueeze (one permute bringing the value to ONNX's row-major order and reading it as
// the new dims), Concat and Split (over whichever of our axes holds the ONNX axis), Pad, Expand,
// and Col2Im where its blocks tile the map (one permute). Slice and Gather are rules-gather's.
import type { Value } from '../../ir.js';
import { type ImportContext, type Slot, type ValueSlot, identityOrder, inverseOrder } from './context.js';
import { numelOf } from './host.js';
import { dimsOf } from './rules-math.js';
import { type ImportRule, mapSlot } from './rules-nn.js';
import { reshapeDims, squeezeDims, unsqueezeDims } from './shapes.js';

/** Input 0 as a value (constants fold before a rule runs). */
function valueInput(c: ImportContext): ValueSlot {
  const x = c.need(0, 'input');
  if (x.kind === 'const') return c.refuse('constant input (not folded)');
  return x;
}

/** `s` read in ONNX's row-major order as `dims` (as many values): one permute, none where nothing changes. */
export function reshaped(c: ImportContext, s: ValueSlot, dims: readonly number[]): ValueSlot {
  if (s.dims.length === dims.length && s.dims.every((d, i) => d === dims[i])) return s;
  const where = inverseOrder(s.order);
  const v = c.b.permute(c.layer(), s.v, { view: s.v.shape, perm: identityOrder(s.dims.length).map((a) => where[a]), shape: dims });
  return c.slotOf(v, dims, identityOrder(dims.length));
}

/** The order of `s` with ONNX axis `axis` moved to our last axis (the others keep their order). */
export function axisLast(order: readonly number[], axis: number): number[] {
  return order[order.length - 1] === axis ? [...order] : [...order.filter((a) => a !== axis), axis];
}

/** `s` in `order` as a rank-4 map [1, 1, rest, last]: what the channel ops (concat, channel slice) take. */
export function asChannels(c: ImportContext, v: Value): Value {
  if (v.shape.length === 4) return v;
  const last = v.shape[v.shape.length - 1];
  return c.b.reshape(c.layer('channels'), v, [1, 1, numelOf(v.shape) / last, last]);
}

/** `v` (a rank-4 view from asChannels) read back as `shape`. */
export function fromChannels(c: ImportContext, v: Value, shape: readonly number[]): Value {
  return shape.length === 4 ? v : c.b.reshape(c.layer('back'), v, shape);
}

/** Elements [start, start + size) of ONNX axis `axis` of `s`. */
export function sliceAxis(c: ImportContext, s: ValueSlot, axis: number, start: number, size: number): ValueSlot {
  const dims = [...s.dims];
  dims[axis] = size;
  const p = s.order.indexOf(axis);
  const extent = s.dims[axis];
  if (start === 0 && size === extent) return s;
  if (s.dims.length === 4 && (p === 1 || p === 2)) {
    // A crop of a map's rows or columns: negative padding.
    const cut = { top: 0, bottom: 0, left: 0, right: 0 };
    if (p === 1) Object.assign(cut, { top: -start, bottom: -(extent - start - size) });
    else Object.assign(cut, { left: -start, right: -(extent - start - size) });
    return c.slotOf(c.b.pad(c.layer(), s.v, cut), dims, s.order);
  }
  const order = axisLast(s.order, axis);
  const v = asChannels(c, c.valueIn(s, order));
  const sliced = c.b.channelSlice(c.layer(), v, start, size);
  return c.slotOf(fromChannels(c, sliced, order.map((a) => dims[a])), dims, order);
}

const transpose: ImportRule = (c) => {
  const x = valueInput(c);
  const perm = c.intList('perm') ?? x.dims.map((_, i) => x.dims.length - 1 - i);
  if (perm.length !== x.dims.length || [...perm].sort((a, b) => a - b).some((p, i) => p !== i)) c.refuse(`perm [${perm.join(',')}] is not a permutation of ${x.dims.length} axes`);
  // The same values in the same place: only which ONNX axis each of ours holds changes.
  const inverse = inverseOrder(perm);
  return [c.slotOf(x.v, perm.map((p) => x.dims[p]), x.order.map((a) => inverse[a]))];
};

const reshape: ImportRule = (c) => {
  const x = valueInput(c);
  return [reshaped(c, x, reshapeDims(c, x.dims, c.ints(1, 'shape')))];
};

const flatten: ImportRule = (c) => {
  const x = valueInput(c);
  const axis = c.axis(c.int('axis', 1), x.dims.length + 1);
  return [reshaped(c, x, [numelOf(x.dims.slice(0, axis)), numelOf(x.dims.slice(axis))])];
};

/** Squeeze's / Unsqueeze's axes: an input from opset 13, an attribute before. */
function axesInput(c: ImportContext): number[] | undefined {
  return c.input(1) ? c.ints(1, 'axes') : c.intList('axes');
}

const squeeze: ImportRule = (c) => {
  const x = valueInput(c);
  return [reshaped(c, x, squeezeDims(c, x.dims, axesInput(c)))];
};

const unsqueeze: ImportRule = (c) => {
  const x = valueInput(c);
  return [reshaped(c, x, unsqueezeDims(c, x.dims, axesInput(c) ?? c.refuse('has no axes')))];
};

const concat: ImportRule = (c) => {
  const slots = c.node.inputs.map((_, i) => c.need(i, `input ${i}`)).filter((s) => numelOf(dimsOf(s)) > 0);
  const first = slots.find((s): s is ValueSlot => s.kind === 'value') ?? c.refuse('constant inputs (not folded)');
  const rank = first.dims.length;
  const axis = c.axis(c.int('axis', 0), rank);
  for (const s of slots) {
    const d = dimsOf(s);
    if (d.length !== rank || d.some((x, i) => i !== axis && x !== first.dims[i])) c.refuse(`inputs [${dimsOf(first).join(',')}] and [${d.join(',')}] differ off axis ${axis}`);
  }
  const order = axisLast(first.order, axis);
  const values = slots.map((s: Slot) => asChannels(c, s.kind === 'const' ? c.state(s.t, order) : c.valueIn(s, order)));
  const dims = [...first.dims];
  dims[axis] = slots.reduce((sum, s) => sum + dimsOf(s)[axis], 0);
  const joined = values.length === 1 ? values[0] : c.b.concat(c.layer(), values);
  return [c.slotOf(fromChannels(c, joined, order.map((a) => dims[a])), dims, order)];
};

const split: ImportRule = (c) => {
  const x = valueInput(c);
  const axis = c.axis(c.int('axis', 0), x.dims.length);
  const n = c.node.outputs.length;
  const given = c.opset >= 13 ? (c.input(1) ? c.ints(1, 'split') : undefined) : c.intList('split');
  const extent = x.dims[axis];
  // Without sizes: equal parts, the last smaller where the extent does not divide.
  const part = Math.ceil(extent / n);
  const parts = given ?? Array.from({ length: n }, (_, i) => Math.max(0, Math.min(part, extent - part * i)));
  if (parts.length !== n || parts.reduce((a, b) => a + b, 0) !== extent) c.refuse(`splits ${extent} into [${parts.join(',')}] for ${n} outputs`);
  let start = 0;
  return parts.map((size) => {
    const out = sliceAxis(c, x, axis, start, size);
    start += size;
    return out;
  });
};

const pad: ImportRule = (c) => {
  const x = valueInput(c);
  if (c.string('mode', 'constant') !== 'constant') c.refuse(`mode '${c.string('mode', 'constant')}': only zero padding is run`);
  const rank = x.dims.length;
  const pads = c.opset >= 11 ? c.ints(1, 'pads') : (c.intList('pads') ?? c.refuse('has no pads'));
  const value = c.opset >= 11 ? (c.input(2) ? c.constant(2, 'constant_value').data[0] ?? 0 : 0) : c.float('value', 0);
  if (value !== 0) c.refuse(`pads with ${value}: only zero padding is run`);
  const axes = c.input(3) ? c.ints(3, 'axes').map((a) => c.axis(a, rank)) : identityOrder(rank);
  if (pads.length !== 2 * axes.length) c.refuse(`has ${pads.length} pads for ${axes.length} axes`);
  const amounts = new Map(axes.map((a, i) => [a, [pads[i], pads[i + axes.length]]] as const));
  const padded = [...amounts].filter(([, [b, e]]) => b !== 0 || e !== 0).map(([a]) => a);
  if (padded.length === 0) return [x];
  if (rank !== 4 || padded.length > 2) c.refuse(`pads axes [${padded.join(',')}] of a rank-${rank} tensor: only two axes of a 4-D map are padded`);
  // Our pad op pads axes 1 and 2 of a rank-4 value: the padded ONNX axes go there.
  let order = x.order;
  if (!padded.every((a) => x.order.slice(1, 3).includes(a))) {
    const rest = x.order.filter((a) => !padded.includes(a));
    const middle = padded.length === 2 ? padded : [padded[0], rest.splice(1, 1)[0]];
    order = [rest[0], middle[0], middle[1], rest[rest.length - 1]];
  }
  const [h, w] = [order[1], order[2]];
  const [pt, pb] = amounts.get(h) ?? [0, 0];
  const [pl, pr] = amounts.get(w) ?? [0, 0];
  const v = c.b.pad(c.layer(), c.valueIn(x, order), { top: pt, bottom: pb, left: pl, right: pr });
  const dims = x.dims.map((d, a) => d + (amounts.get(a)?.[0] ?? 0) + (amounts.get(a)?.[1] ?? 0));
  return [c.slotOf(v, dims, order)];
};

const expand: ImportRule = (c) => {
  const x = valueInput(c);
  const shape = c.ints(1, 'shape');
  const rank = Math.max(shape.length, x.dims.length);
  const from = [...new Array<number>(rank - x.dims.length).fill(1), ...x.dims];
  const to = [...new Array<number>(rank - shape.length).fill(1), ...shape].map((d, i) => (d === 1 ? from[i] : d));
  if (from.some((d, i) => d !== 1 && d !== to[i])) c.refuse(`cannot expand [${x.dims.join(',')}] to [${shape.join(',')}]`);
  const s = from.length === x.dims.length ? x : reshaped(c, x, from);
  if (to.every((d, i) => d === from[i])) return [s];
  return [c.slotOf(c.b.expand(c.layer(), s.v, s.order.map((a) => to[a])), to, s.order)];
};

/**
 * Col2Im (PyTorch's fold) where the blocks tile the padded map (strides equal to the block, no
 * dilation: MobileViTV2's patches back into a map): a permute of [N, C*kh*kw, L] to the NHWC map,
 * the padding cropped. Overlapping blocks, which are summed, are refused.
 */
const col2Im: ImportRule = (c) => {
  c.only(['dilations', 'pads', 'strides']);
  const x = valueInput(c);
  const [h, w] = c.ints(1, 'image_shape');
  const [kh, kw] = c.ints(2, 'block_shape');
  const strides = c.intList('strides') ?? [1, 1];
  const [pt, pl, pb, pr] = c.intList('pads') ?? [0, 0, 0, 0];
  if ((c.intList('dilations') ?? [1, 1]).some((d) => d !== 1)) c.refuse('dilated blocks are not run');
  if (strides[0] !== kh || strides[1] !== kw) c.refuse(`strides [${strides.join(',')}] other than the block [${kh},${kw}] (overlapping or gapped blocks) are not run`);
  const [oh, ow] = [(h + pt + pb) / kh, (w + pl + pr) / kw];
  const [n, ckk, l] = x.dims;
  if (x.dims.length !== 3 || !Number.isInteger(oh) || !Number.isInteger(ow) || oh * ow !== l || ckk % (kh * kw) !== 0) {
    c.refuse(`[${x.dims.join(',')}] is not ${kh}x${kw} blocks tiling a ${h}x${w} map padded by [${[pt, pl, pb, pr].join(',')}]`);
  }
  const ch = ckk / (kh * kw);
  const rows = c.valueIn(x, identityOrder(3));
  const map = c.b.permute(c.layer(), rows, { view: [n, ch, kh, kw, oh, ow], perm: [0, 4, 2, 5, 3, 1], shape: [n, oh * kh, ow * kw, ch] });
  const y = pt || pb || pl || pr ? c.b.pad(c.layer('crop'), map, { top: -pt, bottom: -pb, left: -pl, right: -pr }) : map;
  return [mapSlot(c, y)];
};

export const LAYOUT_RULES: Readonly<Record<string, ImportRule>> = {
  Transpose: transpose,
  Reshape: reshape,
  Flatten: flatten,
  Squeeze: squeeze,
  Unsqueeze: unsqueeze,
  Concat: concat,
  Split: split,
  Pad: pad,
  Expand: expand,
  Col2Im: col2Im,
};
