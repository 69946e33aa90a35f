// What an op's ONNX rule (OpDef.onnx) writes its nodes with. src/graph/onnx/lower.ts implements
// it while walking a canonical graph; each op file says how its op maps onto ONNX operators.
//
// Layout: our maps are NHWC, ONNX's are NCHW. The exporter gives every rank-4 value of the graph
// (input, activations, and rank-4 state read as an operand) the NCHW layout, so a rule reads and
// writes NCHW tensors and never transposes a map (values of other ranks keep our layout); a rule
// that reads a weight in another order (a convolution's HWIO kernel as OIHW) asks for its
// permutation. A training step's rules may write a weight-shaped value (a gradient) in the
// weight's own layout and say so (written()).
import type { Value } from '../value.js';

/** An ONNX attribute value, its type explicit (ONNX tells INT from FLOAT). */
export type OnnxAttr = { int: number } | { ints: readonly number[] } | { float: number } | { string: string };

export interface OnnxEmitter {
  /**
   * The ONNX tensor holding a graph value in layout `perm` (ONNX axis i is our axis perm[i];
   * layout.ts), by default NCHW for a rank-4 value and ours for any other. A value held in
   * another layout is transposed (once, whoever asks again gets the same tensor); a weight read
   * from the file is an initializer written in the order asked for.
   */
  tensor(v: Value, perm?: readonly number[]): string;
  /**
   * Whether state is read at run time (a training step's graph inputs), not written into the
   * file as initializers: a rule may then derive a tensor from a weight with nodes of its own
   * (a kernel cropped) where an exported file would keep the weight as it is.
   */
  readonly stateIsInput: boolean;
  /** The layout `v` is held in: what tensor(v, layoutOf(v)) returns without a transpose. */
  layoutOf(v: Value): readonly number[];
  /** Says that the rule wrote its output tensor `name` in layout `perm`, not the default. */
  written(name: string, perm: readonly number[]): void;
  /** A constant initializer (Clip's bounds, Resize's sizes). */
  constant(hint: string, dtype: 'float' | 'int64', dims: readonly number[], data: readonly number[]): string;
  /** A fresh tensor name for a value a rule computes on the way to its outputs. */
  intermediate(hint: string): string;
  /**
   * A tensor computed once per graph for `key` (a dropout mask the forward and backward pass
   * both apply): `make` emits it the first time, under the layer asking first.
   */
  shared(key: string, make: () => string): string;
  /** Adds one ONNX node (default domain, opset 17). */
  node(opType: string, inputs: readonly string[], outputs: readonly string[], attrs?: Record<string, OnnxAttr>): void;
}

/**
 * An op's mapping onto ONNX: emits the nodes computing its outputs into the tensors named
 * `outputs` (one per op output). It throws (without the layer's name: the exporter adds it)
 * where the op's settings have no ONNX equivalent.
 */
export type OnnxRule<O> = (op: O, outputs: readonly string[], g: OnnxEmitter) => void;

/** The error of a rule given a compiled graph's fused op: ONNX export reads the canonical graph. */
export function fusedEpilogueError(what: string): Error {
  return new Error(`has a fused ${what}: ONNX export takes the canonical graph (export before compiling)`);
}

/** HWIO conv weights as ONNX's OIHW: ONNX axis i is our axis HWIO_TO_OIHW[i]. */
export const HWIO_TO_OIHW: readonly number[] = [3, 2, 0, 1];
