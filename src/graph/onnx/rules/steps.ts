// Shorthands for ONNX rules that chain many operators (a training step's gradients and losses):
// each operator's output a fresh tensor of the layer, constants by value.
import type { OnnxAttr, OnnxEmitter } from '../emitter.js';

export interface OnnxSteps {
  /** One node of `type` on `inputs`; its output is a fresh tensor (or `into`). */
  op(type: string, inputs: readonly string[], attrs?: Record<string, OnnxAttr>, into?: string): string;
  /** A float scalar constant. */
  f(x: number): string;
  /** An int64 vector constant (axes, shapes, starts). */
  ints(xs: readonly number[]): string;
  /** A float tensor constant of `dims`. */
  floats(dims: readonly number[], data: ArrayLike<number>): string;
  /** `x` reshaped to `dims`. */
  reshape(x: string, dims: readonly number[], into?: string): string;
  /** `x` summed over `axes`, kept as size-1 axes unless `keep` is false. */
  sum(x: string, axes: readonly number[], keep?: boolean, into?: string): string;
  /** `x` averaged over `axes` (kept as size-1 axes). */
  mean(x: string, axes: readonly number[]): string;
}

export function onnxSteps(g: OnnxEmitter): OnnxSteps {
  const op = (type: string, inputs: readonly string[], attrs: Record<string, OnnxAttr> = {}, into?: string): string => {
    const y = into ?? g.intermediate(type.toLowerCase());
    g.node(type, inputs, [y], attrs);
    return y;
  };
  const ints = (xs: readonly number[]): string => g.constant('ints', 'int64', [xs.length], xs);
  return {
    op,
    f: (x) => g.constant('f', 'float', [], [x]),
    ints,
    floats: (dims, data) => g.constant('values', 'float', dims, Array.from(data)),
    reshape: (x, dims, into) => op('Reshape', [x, ints(dims)], {}, into),
    sum: (x, axes, keep = true, into) => op('ReduceSum', [x, ints(axes)], { keepdims: { int: keep ? 1 : 0 } }, into),
    mean: (x, axes) => op('ReduceMean', [x], { axes: { ints: axes }, keepdims: { int: 1 } }),
  };
}
