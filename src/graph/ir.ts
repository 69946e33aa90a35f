// The graph IR: values with concrete shapes and nodes that produce them.
//
// A graph is built for one batch and input size (shapes are concrete, so shape errors surface
// while building, with the layer's name). The graph a builder emits is canonical: plain ops
// (conv, batch norm, activation, add, ...), nothing fused. Fusion (BN folding, epilogues) is a
// compile stage (src/graph/compile.ts) that runs after any differentiation.
//
// Values are of three kinds:
//  - 'input': fed per run (images, labels, per-run scalars such as a learning rate);
//  - 'state': persistent, named tensors that outlive a run: trainable parameters, batch-norm
//    running statistics, derived tensors (folded weights), and later gradients and optimizer
//    state. The memory planner never recycles them; a node may write one in place (an update);
//  - 'activation': produced by a node within a run; the planner shares buffers between them.
// Op records (operands by role, attributes) are defined with their op in src/graph/ops/.
import type { Shape } from '../gpu/tensor.js';
import type { BatchNormGradOp, BatchNormOp, BatchNormTrainOp } from './ops/batchnorm.js';
import type { ArgmaxOp, ChannelSliceOp, ConcatOp, SoftmaxGradOp, SoftmaxOp } from './ops/channel.js';
import type { Conv2dGradBiasOp, Conv2dGradInputOp, Conv2dGradWeightOp, Conv2dOp } from './ops/conv2d.js';
import type { ActivationGradOp, ActivationOp, BinaryOp, ScaleOp } from './ops/elementwise.js';
import type { DropoutOp } from './ops/dropout.js';
import type { FlipWidthOp } from './ops/flip.js';
import type { GroupNormGradOp, GroupNormOp } from './ops/groupnorm.js';
import type { PadOp } from './ops/pad.js';
import type { PermuteOp } from './ops/permute.js';
import type { QuantizeDynamicOp } from './ops/quantize.js';
import type { LayerNormGradOp, LayerNormOp } from './ops/layernorm.js';
import type { MatmulOp } from './ops/matmul.js';
import type { CastOp } from './ops/cast.js';
import type { BinaryBroadcastOp, ExpandOp, ReduceSumOp } from './ops/broadcast.js';
import type { FoldBnOp } from './ops/fold-bn.js';
import type { SoftmaxCrossEntropyOp, SoftmaxDiceOp } from './ops/loss.js';
import type { AccumulateOp, SgdOp } from './ops/optimizer.js';
import type { GlobalAvgPoolGradOp, GlobalAvgPoolOp, Pool2dGradOp, Pool2dOp } from './ops/pool.js';
import type { ResizeArgmaxOp, ResizeGradOp, ResizeOp } from './ops/resize.js';

export type { ConvAttrs } from './ops/conv2d.js';
export type { BatchNormAttrs } from './ops/batchnorm.js';
export type { Pool2dAttrs } from './ops/pool.js';

export type { DType, StateRole, Value, ValueKind } from './value.js';
import type { Value } from './value.js';

export type NodeOp =
  | Conv2dOp
  | BatchNormOp
  | BinaryOp<'add'>
  | BinaryOp<'mul'>
  | ActivationOp
  | GlobalAvgPoolOp
  | Pool2dOp
  | ResizeOp
  | ResizeArgmaxOp
  | ConcatOp
  | SoftmaxOp
  | SoftmaxGradOp
  | ArgmaxOp
  | FoldBnOp
  | FlipWidthOp
  | PermuteOp
  | LayerNormOp
  | LayerNormGradOp
  | GroupNormOp
  | GroupNormGradOp
  | PadOp
  | MatmulOp
  | Conv2dGradInputOp
  | Conv2dGradWeightOp
  | Conv2dGradBiasOp
  | ActivationGradOp
  | GlobalAvgPoolGradOp
  | ResizeGradOp
  | ChannelSliceOp
  | SoftmaxCrossEntropyOp
  | SoftmaxDiceOp
  | AccumulateOp
  | SgdOp
  | BatchNormTrainOp
  | BatchNormGradOp
  | Pool2dGradOp
  | ScaleOp
  | DropoutOp
  | CastOp
  | BinaryBroadcastOp
  | ExpandOp
  | ReduceSumOp
  | QuantizeDynamicOp;

export type OpType = NodeOp['type'];

export interface Node {
  /** Position in the graph's node list (passes renumber). */
  readonly id: number;
  readonly name: string;
  readonly op: NodeOp;
  /** Most ops have one output; some (fold_bn, and training ops) several. */
  readonly outputs: readonly Value[];
}

/** Hands out value ids. One per graph family: passes that add values take ids from it. */
export class IdAllocator {
  private next = 0;
  take(): number {
    return this.next++;
  }
}

export interface Graph {
  readonly inputs: readonly Value[];
  /** Every state value the nodes read or write, in first-use order. */
  readonly state: readonly Value[];
  readonly nodes: readonly Node[];
  /** Named outputs; several names may point at one value. */
  readonly outputs: ReadonlyMap<string, Value>;
  readonly ids: IdAllocator;
}

export function shapeEq(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** The single output of a one-output node (most ops). */
export function nodeOutput(n: Node): Value {
  if (n.outputs.length !== 1) throw new Error(`layer ${n.name} has ${n.outputs.length} outputs`);
  return n.outputs[0];
}

/** What compile() gives (src/graph/compile.ts): the graph that runs, and how its derived state is computed. */
export interface CompiledGraph {
  /** The canonical graph compiled from: its non-derived state is what weights must provide. */
  source: Graph;
  /** What runs every time. */
  graph: Graph;
  /** Nodes that compute derived state (folded weights) from parameters; empty when none. */
  derive: Graph;
}
