// The op registry: every op's definition, keyed by its type. The mapped type makes a missing
// definition a compile error, so the registry, the op union and the code reading ops agree.
import type { Node, NodeOp, OpType, Value } from '../ir.js';
import { castOp } from './cast.js';
import { binaryOp, expandOp, reduceSumOp } from './broadcast.js';
import { batchNormGradOp, batchNormOp, batchNormTrainOp } from './batchnorm.js';
import { argmaxOp, channelSliceOp, concatOp, softmaxGradOp, softmaxOp } from './channel.js';
import { conv2dGradBiasOp, conv2dGradInputOp, conv2dGradWeightOp, conv2dOp } from './conv2d.js';
import { activationGradOp, activationOp, addOp, mulOp, scaleOp } from './elementwise.js';
import { dropoutOp } from './dropout.js';
import { flipWidthOp } from './flip.js';
import { groupNormGradOp, groupNormOp } from './groupnorm.js';
import { padOp } from './pad.js';
import { permuteOp } from './permute.js';
import { quantizeDynamicOp } from './quantize.js';
import { layerNormGradOp, layerNormOp } from './layernorm.js';
import { matmulOp } from './matmul.js';
import { foldBnOp } from './fold-bn.js';
import type { OpDef } from './op-def.js';

export type { HostArray, OpCost } from './op-def.js';
import { softmaxCrossEntropyOp, softmaxDiceOp } from './loss.js';
import { accumulateOp, sgdOp } from './optimizer.js';
import { globalAvgPoolGradOp, globalAvgPoolOp, pool2dGradOp, pool2dOp } from './pool.js';
import { resizeArgmaxOp, resizeGradOp, resizeOp } from './resize.js';

type Registry = { [K in OpType]: OpDef<Extract<NodeOp, { type: K }>> };

const OPS: Registry = {
  conv2d: conv2dOp,
  batchnorm: batchNormOp,
  add: addOp,
  mul: mulOp,
  activation: activationOp,
  global_avg_pool: globalAvgPoolOp,
  pool2d: pool2dOp,
  resize: resizeOp,
  resize_argmax: resizeArgmaxOp,
  concat: concatOp,
  softmax: softmaxOp,
  softmax_grad: softmaxGradOp,
  argmax: argmaxOp,
  fold_bn: foldBnOp,
  flip_w: flipWidthOp,
  permute: permuteOp,
  layer_norm: layerNormOp,
  layer_norm_grad: layerNormGradOp,
  group_norm: groupNormOp,
  group_norm_grad: groupNormGradOp,
  pad: padOp,
  matmul: matmulOp,
  // Gradients, loss, optimizer.
  conv2d_grad_input: conv2dGradInputOp,
  conv2d_grad_weight: conv2dGradWeightOp,
  conv2d_grad_bias: conv2dGradBiasOp,
  activation_grad: activationGradOp,
  global_avg_pool_grad: globalAvgPoolGradOp,
  resize_grad: resizeGradOp,
  channel_slice: channelSliceOp,
  softmax_cross_entropy: softmaxCrossEntropyOp,
  softmax_dice: softmaxDiceOp,
  accumulate: accumulateOp,
  sgd: sgdOp,
  batchnorm_train: batchNormTrainOp,
  batchnorm_grad: batchNormGradOp,
  pool2d_grad: pool2dGradOp,
  scale: scaleOp,
  dropout: dropoutOp,
  cast: castOp,
  binary: binaryOp,
  expand: expandOp,
  reduce_sum: reduceSumOp,
  quantize_dynamic: quantizeDynamicOp,
};

/** The definition of an op (typed loosely: callers hold a NodeOp of that type). */
export function opDef(op: NodeOp): OpDef<NodeOp> {
  const def = (OPS as Record<string, OpDef<NodeOp> | undefined>)[op.type];
  if (!def) throw new Error(`unknown op type '${op.type}'`);
  return def;
}

/** The values an op reads, in its operands' order (optional operands left out). */
export function opInputs(op: NodeOp): Value[] {
  const out: Value[] = [];
  const fields = op as unknown as Record<string, Value | Value[] | undefined>;
  for (const role of opDef(op).operands) {
    const v = fields[role];
    if (Array.isArray(v)) out.push(...v);
    else if (v) out.push(v);
  }
  return out;
}

type Operand = Value | readonly (Value | undefined)[] | undefined;

/** The op with each operand replaced by `f(operand)`. */
export function mapOperands(op: NodeOp, f: (v: Value) => Value): NodeOp {
  const fields = op as unknown as Record<string, Operand>;
  const out: Record<string, Operand> = { ...fields };
  for (const role of opDef(op).operands) {
    const v = fields[role];
    if (Array.isArray(v)) out[role] = v.map((x) => x && f(x));
    else if (v) out[role] = f(v as Value);
  }
  return out as unknown as NodeOp;
}

/** The values a node reads. */
export function nodeInputs(node: Node): Value[] {
  return opInputs(node.op);
}

/**
 * Refuses `nodes` where any runs only in f32 inference (its op's `inferenceOnly`), naming those
 * layers (the first few, and how many) and why: `what` is the step refusing them.
 */
export function refuseInferenceOnly(nodes: readonly Node[], what: string): void {
  const found = nodes.filter((n) => opDef(n.op).inferenceOnly !== undefined);
  if (found.length === 0) return;
  const shown = found.slice(0, 4).map((n) => `'${n.name}'`);
  const more = found.length > shown.length ? ` and ${found.length - shown.length} more` : '';
  const why = [...new Map(found.map((n) => [n.op.type, opDef(n.op).inferenceOnly])).entries()].map(([type, reason]) => `${type}: ${reason}`).join('; ');
  throw new Error(`${what}: ${found.length} layer${found.length === 1 ? '' : 's'} run${found.length === 1 ? 's' : ''} only in f32 inference (${shown.join(', ')}${more}): ${why}`);
}
