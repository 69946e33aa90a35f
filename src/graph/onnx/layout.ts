// How a value of our graph is laid out in an ONNX graph. Our maps are NHWC and ONNX's NCHW, so a
// rank-4 value is written with its axes reordered; other ranks keep ours. A layout is a
// permutation: ONNX axis i is our axis perm[i]. Most values have the default one; a convolution's
// weight is OIHW ([3, 2, 0, 1] of our HWIO), and so are the gradients and momentum a training
// step keeps beside it.
import { shapeString } from '../../gpu/tensor.js';

/** An NHWC map as NCHW. */
export const NHWC_TO_NCHW_PERM: readonly number[] = [0, 3, 1, 2];
/** An NCHW tensor back to NHWC (the Transpose perm from NCHW to NHWC). */
export const NCHW_TO_NHWC_PERM: readonly number[] = [0, 2, 3, 1];

/** The layout a value of rank `rank` has unless a rule says otherwise: NCHW for rank 4, ours else. */
export function defaultLayout(rank: number): readonly number[] {
  return rank === 4 ? NHWC_TO_NCHW_PERM : Array.from({ length: rank }, (_, i) => i);
}

export const sameLayout = (a: readonly number[], b: readonly number[]): boolean => a.length === b.length && a.every((x, i) => x === b[i]);

/** Our shape as ONNX sees it in `layout`. */
export function shapeIn(shape: readonly number[], layout: readonly number[]): number[] {
  return layout.map((a) => shape[a]);
}

/** The Transpose perm that takes a tensor in layout `from` to layout `to` (both of our axes). */
export function transposeBetween(from: readonly number[], to: readonly number[]): number[] {
  return to.map((axis) => from.indexOf(axis));
}

/** An NHWC shape as ONNX's NCHW. */
export function nchwShape(shape: readonly number[]): number[] {
  return [shape[0], shape[3], shape[1], shape[2]];
}

/** `data` of `shape` (rank 4 at most) with its axes reordered: axis i of the result is axis perm[i] of the input. */
export function permuteAxes(data: Float32Array, shape: readonly number[], perm: readonly number[]): { dims: number[]; data: Float32Array } {
  if (shape.length > 4 || perm.length !== shape.length || [...perm].sort().some((p, i) => p !== i)) {
    throw new Error(`permutation [${perm.join(',')}] does not fit shape ${shapeString(shape)}`);
  }
  const dims = perm.map((p) => shape[p]);
  // Padded to rank 4 with leading unit axes: four plain loops over the output, in order.
  const pad = 4 - shape.length;
  const inShape = [...new Array<number>(pad).fill(1), ...shape];
  const inStrides = inShape.map((_, i) => inShape.slice(i + 1).reduce((a, b) => a * b, 1));
  const order = [...Array.from({ length: pad }, (_, i) => i), ...perm.map((p) => p + pad)];
  const [d0, d1, d2, d3] = order.map((p) => inShape[p]);
  const [s0, s1, s2, s3] = order.map((p) => inStrides[p]);
  const out = new Float32Array(data.length);
  let o = 0;
  for (let a = 0; a < d0; a++)
    for (let b = 0; b < d1; b++)
      for (let c = 0; c < d2; c++) {
        const base = a * s0 + b * s1 + c * s2;
        for (let d = 0; d < d3; d++) out[o++] = data[base + d * s3];
      }
  return { dims, data: out };
}

/** `data` laid out as `layout` says (our shape `shape`) back in our layout. */
export function fromLayout(data: Float32Array, shape: readonly number[], layout: readonly number[]): Float32Array {
  const ours = Array.from({ length: shape.length }, (_, i) => i);
  if (sameLayout(layout, ours)) return data;
  return permuteAxes(data, shapeIn(shape, layout), transposeBetween(layout, ours)).data;
}

/** `data` of our shape `shape` in `layout`. */
export function toLayout(data: Float32Array, shape: readonly number[], layout: readonly number[]): Float32Array {
  return layout.every((a, i) => a === i) ? data : permuteAxes(data, shape, layout).data;
}
