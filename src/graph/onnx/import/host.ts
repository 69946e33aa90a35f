// Host tensors of the importer: constants (initializers, Constant nodes) and what the shape
// sub-graphs compute from them and from the input's size (Shape, Gather, Concat, ... feeding a
// Resize's sizes or a Reshape's shape), evaluated once per input size while importing.
import type { OnnxDType, OnnxTensor } from '../model.js';

export type HostData = Float32Array | Float64Array;

export const isFloat = (d: OnnxDType): boolean => d === 'float' || d === 'float16' || d === 'bfloat16' || d === 'double';

export function numelOf(dims: readonly number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}

/** A host tensor of `dtype` (floats stored as float32, the rest as float64). */
export function hostTensor(name: string, dtype: OnnxDType, dims: readonly number[], values: ArrayLike<number>): OnnxTensor {
  const data = dtype === 'double' ? Float64Array.from(values) : isFloat(dtype) ? Float32Array.from(values) : Float64Array.from(values);
  return { name, dtype, dims: [...dims], data };
}

export function int64Tensor(name: string, values: readonly number[], dims: readonly number[] = [values.length]): OnnxTensor {
  return hostTensor(name, 'int64', dims, values);
}

/** Row-major strides of `dims`. */
export function stridesOf(dims: readonly number[]): number[] {
  const s = new Array<number>(dims.length).fill(1);
  for (let i = dims.length - 2; i >= 0; i--) s[i] = s[i + 1] * dims[i + 1];
  return s;
}

/** numpy's broadcast of two shapes, or null where they do not broadcast. */
export function broadcastDims(a: readonly number[], b: readonly number[]): number[] | null {
  const r = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < r; i++) {
    const x = a[a.length - r + i] ?? 1;
    const y = b[b.length - r + i] ?? 1;
    if (x !== y && x !== 1 && y !== 1) return null;
    out.push(x === 1 ? y : x);
  }
  return out;
}

/** `t`'s values broadcast to `dims` (which they must broadcast to). */
export function broadcastTo(t: OnnxTensor, dims: readonly number[]): HostData {
  const n = numelOf(dims);
  if (t.dims.length === dims.length && t.dims.every((d, i) => d === dims[i])) return t.data;
  const r = dims.length;
  const padded = [...new Array<number>(r - t.dims.length).fill(1), ...t.dims];
  const src = stridesOf(padded).map((s, i) => (padded[i] === 1 ? 0 : s));
  const out = t.data instanceof Float32Array ? new Float32Array(n) : new Float64Array(n);
  const idx = new Array<number>(r).fill(0);
  for (let o = 0; o < n; o++) {
    let k = 0;
    for (let i = 0; i < r; i++) k += idx[i] * src[i];
    out[o] = t.data[k];
    for (let i = r - 1; i >= 0; i--) {
      if (++idx[i] < dims[i]) break;
      idx[i] = 0;
    }
  }
  return out;
}

/** Elementwise `f` of two host tensors, numpy-broadcast, in `dtype`. */
export function hostBinary(name: string, a: OnnxTensor, b: OnnxTensor, dtype: OnnxDType, f: (x: number, y: number) => number): OnnxTensor | null {
  const dims = broadcastDims(a.dims, b.dims);
  if (!dims) return null;
  const x = broadcastTo(a, dims);
  const y = broadcastTo(b, dims);
  const out = new Array<number>(x.length);
  for (let i = 0; i < x.length; i++) out[i] = f(x[i], y[i]);
  return hostTensor(name, dtype, dims, out);
}

/** `t` with its axes reordered: axis i of the result is axis perm[i] of `t`. */
export function hostTranspose(t: OnnxTensor, perm: readonly number[], name = t.name): OnnxTensor {
  const dims = perm.map((p) => t.dims[p]);
  const strides = stridesOf(t.dims);
  const n = numelOf(dims);
  const out = t.data instanceof Float32Array ? new Float32Array(n) : new Float64Array(n);
  const idx = new Array<number>(dims.length).fill(0);
  for (let o = 0; o < n; o++) {
    let k = 0;
    for (let i = 0; i < dims.length; i++) k += idx[i] * strides[perm[i]];
    out[o] = t.data[k];
    for (let i = dims.length - 1; i >= 0; i--) {
      if (++idx[i] < dims[i]) break;
      idx[i] = 0;
    }
  }
  return { name, dtype: t.dtype, dims, data: out };
}

/** Elements [starts, ends) with steps along each axis (already clamped as ONNX's Slice says). */
export function hostSlice(t: OnnxTensor, starts: readonly number[], steps: readonly number[], outDims: readonly number[], name: string): OnnxTensor {
  const strides = stridesOf(t.dims);
  const n = numelOf(outDims);
  const out = t.data instanceof Float32Array ? new Float32Array(n) : new Float64Array(n);
  const idx = new Array<number>(outDims.length).fill(0);
  for (let o = 0; o < n; o++) {
    let k = 0;
    for (let i = 0; i < outDims.length; i++) k += (starts[i] + idx[i] * steps[i]) * strides[i];
    out[o] = t.data[k];
    for (let i = outDims.length - 1; i >= 0; i--) {
      if (++idx[i] < outDims[i]) break;
      idx[i] = 0;
    }
  }
  return { name, dtype: t.dtype, dims: [...outDims], data: out };
}

/** Values cast to `dtype` as ONNX's Cast does: float to integer truncates, to bool is != 0. */
export function castValue(v: number, dtype: OnnxDType): number {
  if (isFloat(dtype)) return v;
  if (dtype === 'bool') return v !== 0 ? 1 : 0;
  return Math.trunc(v);
}
