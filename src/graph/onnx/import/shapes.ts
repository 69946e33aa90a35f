// ONNX's shape arithmetic, shared by the host folding and the graph rules: Reshape's 0 and -1,
// Squeeze / Unsqueeze axes, Slice's clamped ranges.
import type { OnnxTensor } from '../model.js';
import type { ImportContext } from './context.js';
import { numelOf } from './host.js';

/** Reshape's target dims: 0 copies the input's dim (unless allowzero), one -1 takes what is left. */
export function reshapeDims(c: ImportContext, dims: readonly number[], shape: readonly number[]): number[] {
  const allowZero = c.int('allowzero', 0) === 1;
  const out = shape.map((d, i) => (d === 0 && !allowZero ? (dims[i] ?? c.refuse(`shape [${shape.join(',')}] copies dim ${i} of [${dims.join(',')}], which has none`)) : d));
  const free = out.filter((d) => d === -1).length;
  if (free > 1 || out.some((d) => d < -1 || !Number.isInteger(d))) c.refuse(`cannot reshape [${dims.join(',')}] to [${shape.join(',')}]`);
  const total = numelOf(dims);
  if (free === 1) {
    const known = numelOf(out.filter((d) => d !== -1));
    if (known === 0 || total % known !== 0) c.refuse(`cannot reshape [${dims.join(',')}] to [${shape.join(',')}]`);
    out[out.indexOf(-1)] = total / known;
  }
  if (numelOf(out) !== total) c.refuse(`cannot reshape [${dims.join(',')}] (${total} values) to [${out.join(',')}]`);
  return out;
}

export function unsqueezeDims(c: ImportContext, dims: readonly number[], axes: readonly number[]): number[] {
  const rank = dims.length + axes.length;
  const at = new Set(axes.map((a) => c.axis(a, rank)));
  if (at.size !== axes.length) c.refuse(`axes [${axes.join(',')}] repeat an axis`);
  const out: number[] = [];
  let k = 0;
  for (let i = 0; i < rank; i++) out.push(at.has(i) ? 1 : dims[k++]);
  return out;
}

export function squeezeDims(c: ImportContext, dims: readonly number[], axes: readonly number[] | undefined): number[] {
  if (!axes) return dims.filter((d) => d !== 1);
  const at = new Set(axes.map((a) => c.axis(a, dims.length)));
  for (const a of at) if (dims[a] !== 1) c.refuse(`cannot squeeze axis ${a} of [${dims.join(',')}]`);
  return dims.filter((_, i) => !at.has(i));
}

export interface SliceParams {
  /** Per axis of the input: the first index, the step, and the output's dims. */
  starts: number[];
  steps: number[];
  dims: number[];
}

/** Slice's ranges on `dims`, from its inputs (opset 10+) or attributes (before), clamped as ONNX says. */
export function sliceParams(c: ImportContext, dims: readonly number[], inputs: readonly (OnnxTensor | undefined)[]): SliceParams {
  const list = (i: number, attr: string): number[] | undefined => (c.opset >= 10 ? (inputs[i] ? Array.from(inputs[i]!.data) : undefined) : c.intList(attr));
  const starts = list(1, 'starts') ?? c.refuse('has no starts');
  const ends = list(2, 'ends') ?? c.refuse('has no ends');
  const axes = list(3, 'axes') ?? starts.map((_, i) => i);
  const steps = list(4, 'steps') ?? starts.map(() => 1);
  if (ends.length !== starts.length || axes.length !== starts.length || steps.length !== starts.length) c.refuse('starts, ends, axes and steps differ in length');
  const p: SliceParams = { starts: dims.map(() => 0), steps: dims.map(() => 1), dims: [...dims] };
  axes.forEach((axis, k) => {
    const a = c.axis(axis, dims.length);
    const n = dims[a];
    const step = steps[k];
    if (step === 0) c.refuse('has a step of 0');
    const at = (v: number, lo: number, hi: number) => Math.min(Math.max(v < 0 ? v + n : v, lo), hi);
    const start = step > 0 ? at(starts[k], 0, n) : at(starts[k], 0, n - 1);
    const end = step > 0 ? at(ends[k], 0, n) : at(ends[k], -1, n - 1);
    p.starts[a] = start;
    p.steps[a] = step;
    p.dims[a] = Math.max(0, Math.ceil((end - start) / step));
  });
  return p;
}
