// Import rules of the ops that pick elements of a value by indices known when the graph is built:
// Slice (any step), Gather and GatherND by constant indices. Each becomes slices of our ops: runs
// of consecutive indices one slice each, joined by a concat, and a step that tiles the axis a
// reshape that splits the axis into [count, step] and one slice of the step's axis. So they run,
// train (each slice's gradient is its dy among zeros, duplicates summed) and need no op of their own.
import type { ImportContext, ValueSlot } from './context.js';
import { numelOf } from './host.js';
import type { ImportRule } from './rules-nn.js';
import { asChannels, axisLast, fromChannels, reshaped, sliceAxis } from './rules-layout.js';
import { sliceParams } from './shapes.js';

/** Input 0 as a value (constants fold before a rule runs). */
function valueInput(c: ImportContext): ValueSlot {
  const x = c.need(0, 'input');
  return x.kind === 'const' ? c.refuse('constant input (not folded)') : x;
}

/**
 * The elements `indices` (non-negative, within the axis) of ONNX axis `axis` of `x`, the axis
 * then taking the dims `indexDims` (none: a scalar index drops the axis).
 */
function gatherAxis(c: ImportContext, x: ValueSlot, axis: number, indices: readonly number[], indexDims: readonly number[]): ValueSlot {
  if (indices.length === 0) c.refuse(`picks no element of axis ${axis} of [${x.dims.join(',')}]`);
  const runs: [number, number][] = [];
  for (const i of indices) {
    const last = runs[runs.length - 1];
    if (last && last[0] + last[1] === i) last[1]++;
    else runs.push([i, 1]);
  }
  const dims = x.dims.map((d, a) => (a === axis ? indices.length : d));
  let out: ValueSlot;
  if (runs.length === 1) {
    out = sliceAxis(c, x, axis, runs[0][0], runs[0][1]);
  } else {
    // The axis last once, so every run is a channel slice of the same value, and the concat joins them there.
    const order = axisLast(x.order, axis);
    const v = asChannels(c, c.valueIn(x, order));
    const parts = runs.map(([start, size]) => c.b.channelSlice(c.layer('run'), v, start, size));
    out = c.slotOf(fromChannels(c, c.b.concat(c.layer('join'), parts), order.map((a) => dims[a])), dims, order);
  }
  return reshaped(c, out, [...x.dims.slice(0, axis), ...indexDims, ...x.dims.slice(axis + 1)]);
}

/**
 * Elements start, start + step, ... (count of them) of axis `axis`: where they tile a stretch of
 * the axis (as Swin's patch merging, step 2), the stretch split into [count, step] and one index
 * of the step taken; otherwise each index gathered.
 */
function stepAxis(c: ImportContext, x: ValueSlot, axis: number, start: number, step: number, count: number): ValueSlot {
  if (count === 1) return sliceAxis(c, x, axis, start, 1);
  const base = start - (start % step);
  if (step > 1 && x.dims.length < 6 && base + count * step <= x.dims[axis]) {
    const stretch = sliceAxis(c, x, axis, base, count * step);
    const split = reshaped(c, stretch, [...x.dims.slice(0, axis), count, step, ...x.dims.slice(axis + 1)]);
    const picked = sliceAxis(c, split, axis + 1, start - base, 1);
    return reshaped(c, picked, x.dims.map((d, a) => (a === axis ? count : d)));
  }
  return gatherAxis(c, x, axis, Array.from({ length: count }, (_, k) => start + k * step), [count]);
}

const slice: ImportRule = (c) => {
  const x = valueInput(c);
  const inputs = c.node.inputs.map((_, i) => (i === 0 ? undefined : c.input(i) && c.constant(i, 'range')));
  const p = sliceParams(c, x.dims, inputs);
  let out = x;
  x.dims.forEach((d, a) => {
    if (p.steps[a] === 1) {
      if (p.dims[a] !== d) out = sliceAxis(c, out, a, p.starts[a], p.dims[a]);
    } else {
      out = stepAxis(c, out, a, p.starts[a], p.steps[a], p.dims[a]);
    }
  });
  return [out];
};

/** Constant indices of an axis of extent n, negative ones counted from its end; refused where one is outside it. */
function indicesWithin(c: ImportContext, values: ArrayLike<number>, n: number, what: string): number[] {
  const idx = Array.from(values, (i) => (i < 0 ? i + n : i));
  if (idx.length === 0 || idx.some((i) => !Number.isInteger(i) || i < 0 || i >= n)) c.refuse(`indices [${Array.from(values).slice(0, 8).join(',')}${values.length > 8 ? ',...' : ''}] are outside ${what}`);
  return idx;
}

/** Gather of a value by constant indices. */
const gather: ImportRule = (c) => {
  const x = valueInput(c);
  const axis = c.axis(c.int('axis', 0), x.dims.length);
  const t = c.constant(1, 'indices');
  return [gatherAxis(c, x, axis, indicesWithin(c, t.data, x.dims[axis], `axis ${axis} of [${x.dims.join(',')}]`), t.dims)];
};

/**
 * GatherND by constant indices [..., k]: the first k axes read as one (row-major), and each
 * index tuple gathered as one index of it (the dynamo exporter's adaptive average pooling gathers
 * a map's windows so).
 */
const gatherND: ImportRule = (c) => {
  c.only(['batch_dims']);
  if (c.int('batch_dims', 0) !== 0) c.refuse(`batch_dims ${c.int('batch_dims', 0)} is not run (only 0)`);
  const x = valueInput(c);
  const t = c.constant(1, 'indices');
  const k = t.dims[t.dims.length - 1];
  if (t.dims.length < 1 || !(k >= 1 && k <= x.dims.length)) c.refuse(`indices [${t.dims.join(',')}] do not index [${x.dims.join(',')}]`);
  const lead = x.dims.slice(0, k);
  const flat = reshaped(c, x, [numelOf(lead), ...x.dims.slice(k)]);
  const tuples = numelOf(t.dims.slice(0, -1));
  const rows: number[] = [];
  for (let i = 0; i < tuples; i++) {
    let row = 0;
    for (let a = 0; a < k; a++) row = row * lead[a] + indicesWithin(c, [t.data[i * k + a]], lead[a], `axis ${a} of [${x.dims.join(',')}]`)[0];
    rows.push(row);
  }
  return [gatherAxis(c, flat, 0, rows, t.dims.slice(0, -1))];
};

export const GATHER_RULES: Readonly<Record<string, ImportRule>> = {
  Slice: slice,
  Gather: gather,
  GatherND: gatherND,
};
