// Broadcasting elementwise ops (ONNX's Add, Sub, Mul, Div between tensors of any shapes that
// broadcast: a per-channel bias, a layer scale, a normalisation's statistics), the broadcast of a
// tensor to a larger shape (Expand), and its transpose, the sum over the broadcast axes (each
// operand's gradient). Operands have the output's rank; an axis of extent 1 broadcasts.
import type { GpuContext } from '../../gpu/context.js';
import type { Dispatch } from '../../gpu/dispatch.js';
import { Uniforms, linearGrid, makeDispatch } from '../../gpu/dispatch.js';
import type { KernelSpec } from '../../gpu/pipeline-cache.js';
import { type GpuTensor, type Shape, numel, shapeString, validateShape } from '../../gpu/tensor.js';
import { expectShape } from '../checks.js';
import { type FloatArray, zerosLike } from '../cpu-arrays.js';

const WG = 256;

/** The most axes an operand may have. */
export const BROADCAST_MAX_RANK = 6;

export type BroadcastOp = 'add' | 'sub' | 'mul' | 'div';

const OP_CODE: Record<BroadcastOp | 'expand', number> = { expand: 0, add: 1, sub: 2, mul: 3, div: 4 };

function checkRank(shape: Shape, kernel: string, operand: string): void {
  validateShape(shape, `${kernel}: ${operand}`);
  if (shape.length > BROADCAST_MAX_RANK) throw new Error(`${kernel}: ${operand} ${shapeString(shape)} has more than ${BROADCAST_MAX_RANK} axes`);
}

/** Whether `from` broadcasts to `to` (one rank; each extent equal or 1). */
export function broadcastsTo(from: Shape, to: Shape): boolean {
  return from.length === to.length && from.every((d, i) => d === to[i] || d === 1);
}

/** The output shape of a and b broadcast together; an error naming both where they do not. */
export function broadcastOutputShape(a: Shape, b: Shape, kernel = 'broadcast'): number[] {
  checkRank(a, kernel, 'a');
  checkRank(b, kernel, 'b');
  if (a.length !== b.length) throw new Error(`${kernel}: a ${shapeString(a)} and b ${shapeString(b)} differ in rank`);
  const out = a.map((d, i) => (d === 1 ? b[i] : d));
  if (!broadcastsTo(a, out) || !broadcastsTo(b, out)) throw new Error(`${kernel}: a ${shapeString(a)} and b ${shapeString(b)} do not broadcast`);
  return out;
}

/** Row-major strides of `shape` in `of`, 0 on the axes `shape` broadcasts (extent 1 where `of` is larger). */
function broadcastStrides(shape: Shape, of: Shape): number[] {
  return shape.map((d, i) => (d === 1 && of[i] !== 1 ? 0 : numel(shape.slice(i + 1))));
}

/** `values` padded in front to rank 6 with `fill`. */
const rank6 = (values: readonly number[], fill: number): number[] => [...new Array<number>(BROADCAST_MAX_RANK - values.length).fill(fill), ...values];

export function broadcastSpec(op: BroadcastOp | 'expand'): KernelSpec {
  return { shader: 'broadcast.wgsl', constants: { OP: OP_CODE[op], WG } };
}

/** out = a OP b (or a broadcast, 'expand', with b unused). */
export function prepareBroadcast(ctx: GpuContext, t: { a: GpuTensor; b?: GpuTensor; out: GpuTensor }, op: BroadcastOp | 'expand'): Dispatch {
  const kernel = `broadcast(${op})`;
  const outShape = t.out.shape;
  if (op === 'expand') {
    if (!broadcastsTo(t.a.shape, outShape)) throw new Error(`${kernel}: a ${shapeString(t.a.shape)} does not broadcast to ${shapeString(outShape)}`);
  } else {
    if (!t.b) throw new Error(`${kernel}: needs b`);
    expectShape(outShape, broadcastOutputShape(t.a.shape, t.b.shape, kernel), kernel, 'out');
  }
  const u = new Uniforms().u32(t.out.size);
  for (const d of rank6(outShape, 1)) u.u32(d);
  for (const s of rank6(broadcastStrides(t.a.shape, outShape), 0)) u.u32(s);
  for (const s of rank6(t.b ? broadcastStrides(t.b.shape, outShape) : [], 0)) u.u32(s);
  return makeDispatch(ctx, {
    label: `${kernel} ${shapeString(t.a.shape)}${t.b ? ` ${shapeString(t.b.shape)}` : ''} -> ${shapeString(outShape)}`,
    spec: broadcastSpec(op),
    uniforms: u,
    // Expand still binds something at b: the pipeline layout has the slot.
    buffers: [t.a, t.b ?? t.a, t.out],
    workgroups: linearGrid(ctx, t.out.size, WG),
  });
}

/** Walks `shape` in row-major order, calling `f(outIndex, aIndex, bIndex)` with the operands' broadcast indices. */
function walk(shape: Shape, aStrides: readonly number[], bStrides: readonly number[], f: (o: number, a: number, b: number) => void): void {
  const n = numel(shape);
  const idx = new Array<number>(shape.length).fill(0);
  for (let o = 0; o < n; o++) {
    let ia = 0;
    let ib = 0;
    for (let k = 0; k < shape.length; k++) {
      ia += idx[k] * aStrides[k];
      ib += idx[k] * bStrides[k];
    }
    f(o, ia, ib);
    for (let k = shape.length - 1; k >= 0; k--) {
      if (++idx[k] < shape[k]) break;
      idx[k] = 0;
    }
  }
}

/** CPU reference of a OP b. */
export function broadcastCpu<T extends FloatArray>(a: T, aShape: Shape, b: FloatArray, bShape: Shape, op: BroadcastOp): T {
  const shape = broadcastOutputShape(aShape, bShape);
  const out = zerosLike(a, numel(shape));
  const f = op === 'add' ? (x: number, y: number) => x + y : op === 'sub' ? (x: number, y: number) => x - y : op === 'mul' ? (x: number, y: number) => x * y : (x: number, y: number) => x / y;
  walk(shape, broadcastStrides(aShape, shape), broadcastStrides(bShape, shape), (o, ia, ib) => (out[o] = f(a[ia], b[ib])));
  return out;
}

/** CPU reference of `a` broadcast to `shape`. */
export function expandCpu<T extends FloatArray>(a: T, aShape: Shape, shape: Shape): T {
  if (!broadcastsTo(aShape, shape)) throw new Error(`expand: ${shapeString(aShape)} does not broadcast to ${shapeString(shape)}`);
  const out = zerosLike(a, numel(shape));
  walk(shape, broadcastStrides(aShape, shape), [], (o, ia) => (out[o] = a[ia]));
  return out;
}

/** The output shape of a sum of `input` to `shape` (one rank; each extent kept or 1). */
export function reduceSumOutputShape(input: Shape, shape: Shape): number[] {
  checkRank(input, 'reduce_sum', 'input');
  if (!broadcastsTo(shape, input)) throw new Error(`reduce_sum: cannot sum ${shapeString(input)} to ${shapeString(shape)} (one rank, each extent kept or 1)`);
  return [...shape];
}

export function reduceSumSpec(): KernelSpec {
  return { shader: 'reduce_sum.wgsl', constants: { WG } };
}

export function prepareReduceSum(ctx: GpuContext, t: { input: GpuTensor; out: GpuTensor }): Dispatch {
  const shape = t.out.shape;
  reduceSumOutputShape(t.input.shape, shape);
  const strides = t.input.shape.map((_, i) => numel(t.input.shape.slice(i + 1)));
  const reduced = t.input.shape.map((d, i) => (shape[i] === 1 ? d : 1));
  const u = new Uniforms().u32(t.out.size).u32(numel(reduced));
  for (const d of rank6(shape, 1)) u.u32(d);
  for (const s of rank6(strides.map((s, i) => (shape[i] === 1 ? 0 : s)), 0)) u.u32(s);
  for (const d of rank6(reduced, 1)) u.u32(d);
  for (const s of rank6(strides.map((s, i) => (reduced[i] === 1 ? 0 : s)), 0)) u.u32(s);
  return makeDispatch(ctx, {
    label: `reduce_sum ${shapeString(t.input.shape)} -> ${shapeString(shape)}`,
    spec: reduceSumSpec(),
    uniforms: u,
    buffers: [t.input, t.out],
    workgroups: linearGrid(ctx, t.out.size, WG),
  });
}

/** CPU reference: `x` summed over the axes where `shape` is 1. */
export function reduceSumCpu<T extends FloatArray>(x: T, inputShape: Shape, shape: Shape): T {
  reduceSumOutputShape(inputShape, shape);
  const out = zerosLike(x, numel(shape));
  walk(inputShape, inputShape.map((_, i) => numel(inputShape.slice(i + 1))), broadcastStrides(shape, inputShape), (o, _ia, ib) => (out[ib] += x[o]));
  return out;
}
