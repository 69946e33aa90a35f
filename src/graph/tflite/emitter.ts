// What an op's TF Lite rule (OpDef.tflite) writes its operators with. src/graph/tflite/lower.ts
// implements it while walking a canonical graph (batch norms folded, activations fused: see
// src/model/tflite-export.ts); each op file says how its op maps onto TF Lite's builtin
// operators. Maps are NHWC in both, so no rule transposes a map; a rule that reads a weight in
// another order (a convolution's HWIO kernel as OHWI) asks for its permutation.
//
// Only builtin operators are written, never a custom one: an op (or an op's setting) with no
// builtin form throws, and the exporter refuses the model naming the layer.
import type { Activation } from '../../kernels/activation/activation.js';
import type { Value } from '../value.js';
import type { TfliteOptions } from './model.js';

export interface TfliteEmitter {
  /** The tensor of a graph value computed before (an input or a node's output). */
  tensor(v: Value): number;
  /** A state value (a weight) as a float32 constant, its axes reordered by `perm` (axis i is ours perm[i]), then given `shape` where one is given. */
  weight(v: Value, perm?: readonly number[], shape?: readonly number[]): number;
  /** A state value's values (float32, our layout): for a rule that computes its constants from several. */
  values(v: Value): Float32Array;
  /** A constant tensor of the exporter's own (a resize's size, an axis, a pad's amounts). */
  constant(hint: string, type: 'FLOAT32' | 'INT32', shape: readonly number[], data: readonly number[]): number;
  /** A fresh float32 tensor for a value a rule computes on the way to its outputs. */
  intermediate(hint: string, shape: readonly number[]): number;
  /** Adds one builtin operator. */
  op(opcode: string, inputs: readonly number[], outputs: readonly number[], options?: TfliteOptions): void;
}

/** An op's mapping: writes the operators computing its outputs into the tensors `outputs`. */
export type TfliteRule<O> = (op: O, outputs: readonly number[], g: TfliteEmitter) => void;

/** The activations TF Lite fuses into the op they follow (its fused_activation_function). */
const FUSED: Partial<Record<Activation, string>> = { none: 'NONE', relu: 'RELU', relu6: 'RELU6', tanh: 'TANH' };

/**
 * Writes an op whose output may carry one of our activations: `emit(target, fused)` writes the op
 * into `target` with TF Lite's fused activation where it has one; else the op is written into an
 * intermediate and the activation follows as operators of its own.
 */
export function withActivation(g: TfliteEmitter, activation: Activation, out: number, shape: readonly number[], emit: (target: number, fused: string) => void): void {
  const fused = FUSED[activation];
  if (fused !== undefined) return emit(out, fused);
  const pre = g.intermediate('pre_activation', shape);
  emit(pre, 'NONE');
  tfliteActivation(g, activation, pre, out, shape);
}

/** Our activations as builtin operators, from tensor `x` into tensor `y`. */
export function tfliteActivation(g: TfliteEmitter, activation: Activation, x: number, y: number, shape: readonly number[]): void {
  const scalar = (hint: string, v: number): number => g.constant(hint, 'FLOAT32', [], [v]);
  switch (activation) {
    case 'none':
      return g.op('RESHAPE', [x, g.constant('shape', 'INT32', [shape.length], shape)], [y]);
    case 'relu':
      return g.op('RELU', [x], [y]);
    case 'relu6':
      return g.op('RELU6', [x], [y]);
    case 'hardswish':
      return g.op('HARD_SWISH', [x], [y]);
    case 'sigmoid':
      return g.op('LOGISTIC', [x], [y]);
    case 'tanh':
      return g.op('TANH', [x], [y]);
    case 'gelu':
      return g.op('GELU', [x], [y], { table: 'GeluOptions', fields: { approximate: false } });
    case 'silu': {
      const s = g.intermediate('sigmoid', shape);
      g.op('LOGISTIC', [x], [s]);
      return g.op('MUL', [x, s], [y], { table: 'MulOptions', fields: { fusedActivationFunction: 'NONE' } });
    }
    case 'hardsigmoid': {
      // Ours: min(max(x + 3, 0), 6) / 6.
      const shifted = g.intermediate('plus_three', shape);
      g.op('ADD', [x, scalar('three', 3)], [shifted], { table: 'AddOptions', fields: { fusedActivationFunction: 'RELU6' } });
      return g.op('MUL', [shifted, scalar('one_sixth', 1 / 6)], [y], { table: 'MulOptions', fields: { fusedActivationFunction: 'NONE' } });
    }
    case 'erf':
      throw new Error("activation 'erf' has no TF Lite builtin (GELU holds it only as x * (1 + erf(x / sqrt 2)) / 2)");
  }
}

/** The error of a rule given a compiled graph's fused op: the exporter folds and fuses only what TF Lite fuses. */
export function tfliteFusedError(what: string): Error {
  return new Error(`has a fused ${what}: TF Lite export takes the canonical graph`);
}

/** HWIO conv weights as TF Lite's OHWI: axis i is our axis HWIO_TO_OHWI[i]. */
export const HWIO_TO_OHWI: readonly number[] = [3, 0, 1, 2];
/** HWIO depthwise weights [kh,kw,1,C] as TF Lite's [1,kh,kw,C]. */
export const HWIO_TO_1HWC: readonly number[] = [2, 0, 1, 3];

/**
 * A normalisation as TF Lite's arithmetic (it has no layer- or group-norm builtin):
 * (x - mean) x rsqrt(var + eps) x gamma + beta, mean and variance over `axes` (a constant tensor)
 * kept as dims `reduced`, written into `out`.
 */
export function tfliteNormalise(g: TfliteEmitter, op: { input: Value; gamma: Value; beta: Value; eps: number }, axes: number, reduced: readonly number[], out: number): void {
  const shape = op.input.shape;
  const none = { fusedActivationFunction: 'NONE' };
  const step = (opcode: string, hint: string, inputs: number[], dims: readonly number[], table?: string): number => {
    const y = g.intermediate(hint, dims);
    g.op(opcode, inputs, [y], table ? { table, fields: table === 'ReducerOptions' ? { keepDims: true } : none } : undefined);
    return y;
  };
  const x = g.tensor(op.input);
  const mean = step('MEAN', 'mean', [x, axes], reduced, 'ReducerOptions');
  const centred = step('SUB', 'centred', [x, mean], shape, 'SubOptions');
  const squares = step('MUL', 'squares', [centred, centred], shape, 'MulOptions');
  const variance = step('MEAN', 'variance', [squares, axes], reduced, 'ReducerOptions');
  const padded = step('ADD', 'variance_eps', [variance, g.constant('eps', 'FLOAT32', [], [op.eps])], reduced, 'AddOptions');
  const inverse = step('RSQRT', 'rsqrt', [padded], reduced);
  const normed = step('MUL', 'normalised', [centred, inverse], shape, 'MulOptions');
  const scaled = step('MUL', 'scaled', [normed, g.tensor(op.gamma)], shape, 'MulOptions');
  g.op('ADD', [scaled, g.tensor(op.beta)], [out], { table: 'AddOptions', fields: none });
}
