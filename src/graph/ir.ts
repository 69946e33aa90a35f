// The graph IR: values with concrete shapes and nodes that produce them.
//
// A graph is built for one input size (shapes are concrete, so shape errors surface while
// building, with the layer's name). Parameters (weights, BN statistics) are named values whose
// data is bound at execution time; the same names are what weight importers produce, so a
// missing or mis-shaped tensor is caught by comparing two lists. BN stays its own op here:
// folding it into the conv is a pass (src/graph/passes.ts), so a training graph can keep it.
import type { Shape } from '../gpu/tensor.js';
import type { Activation } from '../kernels/activation.js';
import type { Conv2dParams } from '../kernels/conv2d.js';
import type { Pool2dParams } from '../kernels/pool.js';
import type { ResizeMode } from '../kernels/resize.js';

export type DType = 'f32' | 'u32';

export interface Value {
  readonly id: number;
  readonly shape: readonly number[];
  readonly dtype: DType;
  /** 'input': fed per run; 'param': weights bound once; 'activation': produced by a node. */
  readonly kind: 'input' | 'param' | 'activation';
  /** Inputs and params: the external name. Activations: the producing layer's name. */
  readonly name: string;
}

/** A conv node's attributes: the kernel's params, every field given. */
export type ConvAttrs = Required<Conv2dParams>;

export interface BatchNormAttrs {
  eps: number;
  activation: Activation;
}

export type Pool2dAttrs = Required<Pool2dParams>;

/** Each op with its operands (by role) and attributes. */
export type NodeOp =
  | {
      type: 'conv2d';
      input: Value;
      weight: Value;
      bias?: Value;
      scale?: Value;
      residual?: Value;
      attrs: ConvAttrs;
    }
  | { type: 'batchnorm'; input: Value; gamma: Value; beta: Value; mean: Value; variance: Value; attrs: BatchNormAttrs }
  | { type: 'add' | 'mul'; a: Value; b: Value; attrs: { activation: Activation } }
  | { type: 'activation'; input: Value; attrs: { activation: Activation } }
  | { type: 'global_avg_pool'; input: Value }
  | { type: 'pool2d'; input: Value; attrs: Pool2dAttrs }
  | { type: 'resize'; input: Value; attrs: { outH: number; outW: number; mode: ResizeMode } }
  | { type: 'resize_argmax'; input: Value; attrs: { outH: number; outW: number; mode: ResizeMode } }
  | { type: 'concat'; inputs: Value[] }
  | { type: 'softmax'; input: Value }
  | { type: 'argmax'; input: Value };

export type OpType = NodeOp['type'];

export interface Node {
  readonly id: number;
  readonly name: string;
  readonly op: NodeOp;
  readonly output: Value;
}

/** The values a node reads, in a fixed order (for liveness and ordering). */
export function nodeInputs(op: NodeOp): Value[] {
  switch (op.type) {
    case 'conv2d':
      return [op.input, op.weight, op.bias, op.scale, op.residual].filter((v): v is Value => v !== undefined);
    case 'batchnorm':
      return [op.input, op.gamma, op.beta, op.mean, op.variance];
    case 'add':
    case 'mul':
      return [op.a, op.b];
    case 'concat':
      return op.inputs;
    default:
      return [op.input];
  }
}

export interface Graph {
  readonly inputs: Value[];
  readonly params: Value[];
  readonly nodes: Node[];
  /** Named outputs; several names may point at one value. */
  readonly outputs: Map<string, Value>;
}

export function shapeEq(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** Number of scalar parameters the graph declares. */
export function graphParamCount(g: Graph): number {
  let n = 0;
  for (const p of g.params) n += p.shape.reduce((a, b) => a * b, 1);
  return n;
}
