// Constant folding: a node whose inputs are all known when the graph is built (initializers,
// Constant nodes, the input's dims through Shape) is evaluated on the host. This is what folds
// the shape sub-graphs exporters write (Shape -> Gather -> Unsqueeze -> Concat -> Resize's sizes,
// Reshape's shape) for the input size being built. Only ops with a host rule here fold; others
// with constant inputs go to the graph like any node.
import type { OnnxDType, OnnxTensor } from '../model.js';
import { onnxDType } from '../read-tensor.js';
import type { ImportContext } from './context.js';
import { broadcastTo, castValue, hostBinary, hostSlice, hostTensor, hostTranspose, int64Tensor, isFloat, numelOf } from './host.js';
import { reshapeDims, sliceParams, squeezeDims, unsqueezeDims } from './shapes.js';

type Fold = (c: ImportContext, t: OnnxTensor[], out: string) => OnnxTensor;

const integerDivide = (x: number, y: number): number => (y === 0 ? 0 : Math.trunc(x / y));

function binary(f: (x: number, y: number) => number, intF?: (x: number, y: number) => number, outType?: OnnxDType): Fold {
  return (c, [a, b], out) => {
    const dtype = outType ?? a.dtype;
    const g = !isFloat(a.dtype) && intF ? intF : f;
    return hostBinary(out, a, b, dtype, g) ?? c.refuse(`cannot broadcast [${a.dims.join(',')}] and [${b.dims.join(',')}]`);
  };
}

function unary(f: (x: number) => number): Fold {
  return (_c, [a], out) => hostTensor(out, a.dtype, a.dims, Array.from(a.data, f));
}

/** Integer inputs after the first (opset-13 style axes), or the attribute of the older opsets. */
function axesOf(c: ImportContext, t: OnnxTensor[], index: number): number[] | undefined {
  return t[index] ? Array.from(t[index].data) : c.intList('axes');
}

const FOLDS: Readonly<Record<string, Fold>> = {
  Identity: (_c, [a], out) => ({ ...a, name: out }),
  Add: binary((x, y) => x + y),
  Sub: binary((x, y) => x - y),
  Mul: binary((x, y) => x * y),
  Div: binary((x, y) => x / y, integerDivide),
  Pow: binary((x, y) => x ** y),
  Mod: binary((x, y) => x - Math.floor(x / y) * y, (x, y) => (y === 0 ? 0 : x - Math.floor(x / y) * y)),
  Min: binary(Math.min),
  Max: binary(Math.max),
  Equal: binary((x, y) => (x === y ? 1 : 0), undefined, 'bool'),
  Less: binary((x, y) => (x < y ? 1 : 0), undefined, 'bool'),
  Greater: binary((x, y) => (x > y ? 1 : 0), undefined, 'bool'),
  And: binary((x, y) => (x && y ? 1 : 0), undefined, 'bool'),
  Or: binary((x, y) => (x || y ? 1 : 0), undefined, 'bool'),
  Neg: unary((x) => -x),
  Abs: unary(Math.abs),
  Floor: unary(Math.floor),
  Ceil: unary(Math.ceil),
  Round: unary((x) => {
    // Half to even, as ONNX's Round.
    const r = Math.round(x);
    return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
  }),
  Sqrt: unary(Math.sqrt),
  Reciprocal: unary((x) => 1 / x),
  Not: unary((x) => (x ? 0 : 1)),
  Relu: unary((x) => Math.max(x, 0)),
  Sigmoid: unary((x) => 1 / (1 + Math.exp(-x))),
  Cast(c, [a], out) {
    const to = onnxDType(c.int('to', 1)) ?? c.refuse(`casts to type ${c.int('to', 1)}, which is not read`);
    return hostTensor(out, to, a.dims, Array.from(a.data, (v) => castValue(v, to)));
  },
  Where(c, [cond, x, y], out) {
    const picked = hostBinary(out, cond, x, x.dtype, (k, v) => (k ? v : NaN)) ?? c.refuse('cannot broadcast its condition and values');
    return hostBinary(out, picked, y, x.dtype, (v, w) => (Number.isNaN(v) ? w : v)) ?? c.refuse('cannot broadcast its condition and values');
  },
  Size: (_c, [a], out) => int64Tensor(out, [numelOf(a.dims)], []),
  Shape: (c, [a], out) => int64Tensor(out, shapeRange(c, a.dims)),
  Gather(c, [data, indices], out) {
    const axis = c.axis(c.int('axis', 0), data.dims.length);
    const n = data.dims[axis];
    const idx = Array.from(indices.data, (i) => (i < 0 ? i + n : i));
    if (idx.some((i) => i < 0 || i >= n)) c.refuse(`index out of range for axis ${axis} of [${data.dims.join(',')}]`);
    const outer = numelOf(data.dims.slice(0, axis));
    const inner = numelOf(data.dims.slice(axis + 1));
    const values: number[] = [];
    for (let o = 0; o < outer; o++) for (const i of idx) for (let k = 0; k < inner; k++) values.push(data.data[(o * n + i) * inner + k]);
    return hostTensor(out, data.dtype, [...data.dims.slice(0, axis), ...indices.dims, ...data.dims.slice(axis + 1)], values);
  },
  Unsqueeze: (c, t, out) => ({ ...t[0], name: out, dims: unsqueezeDims(c, t[0].dims, axesOf(c, t, 1) ?? c.refuse('has no axes')) }),
  Squeeze: (c, t, out) => ({ ...t[0], name: out, dims: squeezeDims(c, t[0].dims, axesOf(c, t, 1)) }),
  Reshape: (c, [a, shape], out) => ({ ...a, name: out, dims: reshapeDims(c, a.dims, Array.from(shape.data)) }),
  Flatten(c, [a], out) {
    const axis = c.axis(c.int('axis', 1), a.dims.length + 1);
    return { ...a, name: out, dims: [numelOf(a.dims.slice(0, axis)), numelOf(a.dims.slice(axis))] };
  },
  Transpose: (c, [a], out) => hostTranspose(a, c.intList('perm') ?? a.dims.map((_, i) => a.dims.length - 1 - i), out),
  Concat(c, t, out) {
    const rank = t[0].dims.length;
    const axis = c.axis(c.int('axis', 0), rank);
    const dims = [...t[0].dims];
    dims[axis] = t.reduce((s, x) => s + x.dims[axis], 0);
    const outer = numelOf(dims.slice(0, axis));
    const values: number[] = [];
    for (let o = 0; o < outer; o++) {
      for (const x of t) {
        const chunk = numelOf(x.dims.slice(axis));
        for (let k = 0; k < chunk; k++) values.push(x.data[o * chunk + k]);
      }
    }
    return hostTensor(out, t[0].dtype, dims, values);
  },
  Slice(c, t, out) {
    const p = sliceParams(c, t[0].dims, t);
    return hostSlice(t[0], p.starts, p.steps, p.dims, out);
  },
  Range(_c, [start, limit, delta], out) {
    const [s, l, d] = [start.data[0], limit.data[0], delta.data[0]];
    const n = Math.max(Math.ceil((l - s) / d), 0);
    return hostTensor(out, start.dtype, [n], Array.from({ length: n }, (_, i) => s + i * d));
  },
  ConstantOfShape(c, [shape], out) {
    const dims = Array.from(shape.data);
    const value = c.attr('value');
    const t = value?.kind === 'tensor' ? value.value : hostTensor('', 'float', [1], [0]);
    if (numelOf(dims) > 1 << 24) c.refuse(`makes a constant of ${numelOf(dims)} values`);
    return hostTensor(out, t.dtype, dims, new Array<number>(numelOf(dims)).fill(t.data[0] ?? 0));
  },
  Expand(c, [a, shape], out) {
    const dims = Array.from(shape.data);
    const full = [...new Array<number>(Math.max(0, a.dims.length - dims.length)).fill(1), ...dims];
    const target = a.dims.length > full.length ? a.dims : full.map((d, i) => Math.max(d, a.dims[a.dims.length - full.length + i] ?? 1));
    if (numelOf(target) > 1 << 24) c.refuse(`expands to ${numelOf(target)} values`);
    return hostTensor(out, a.dtype, target, broadcastTo(a, target));
  },
  ReduceProd(c, t, out) {
    const a = t[0];
    if (a.dims.length > 1 && (axesOf(c, t, 1)?.length ?? a.dims.length) !== a.dims.length) c.refuse('folds a product over some axes of a constant; only over all of them');
    const p = Array.from(a.data).reduce((x, y) => x * y, 1);
    return hostTensor(out, a.dtype, c.int('keepdims', 1) ? a.dims.map(() => 1) : [], [p]);
  },
};

/** Shape's dims [start, end) (opset 15's attributes). */
function shapeRange(c: ImportContext, dims: readonly number[]): number[] {
  const r = dims.length;
  const clamp = (v: number) => Math.min(Math.max(v < 0 ? v + r : v, 0), r);
  return dims.slice(clamp(c.int('start', 0)), clamp(c.int('end', r)));
}

/** Whether the node folds on the host given constant inputs. */
export function hasFold(opType: string): boolean {
  return Object.hasOwn(FOLDS, opType);
}

/** The node's outputs evaluated on the host (its inputs all constants). */
export function foldNode(c: ImportContext, inputs: OnnxTensor[]): OnnxTensor[] {
  const out = c.node.outputs[0];
  return [FOLDS[c.node.opType](c, inputs, out)];
}

/** Shape's output for a value (its dims known at build time): folded without the value's data. */
export function shapeOf(c: ImportContext, dims: readonly number[]): OnnxTensor {
  return int64Tensor(c.node.outputs[0], shapeRange(c, dims));
}
