// The graphs of one training run, built from the canonical network:
//  - `step`: forward at the training batch and crop, the loss on logits upsampled to the labels'
//    size (the network's own last op; labels are never downsampled), the backward pass from the
//    per-op gradient rules, and each trainable parameter's gradient in its accumulator (state:
//    written there directly with one micro-batch a step; added in place over micro-batches, the
//    per-run `first` flag restarting the sum);
//  - `update`: one SGD node per parameter, reading the accumulators.
// Both are compiled in training mode (no BN folding; an epilogue is fused only where no gradient
// needs the value it hides) and share the session's state.
import { differentiate } from '../graph/autograd.js';
import { GraphBuilder } from '../graph/builder.js';
import type { Graph, Node, NodeOp, Value } from '../graph/ir.js';
import { mapOperands, opDef } from '../graph/ops/registry.js';
import { withNodes } from '../graph/passes.js';
import type { SgdGroup } from '../kernels/optimizer/sgd.js';
import type { LossTerms } from './loss-choice.js';

export interface LossOptions {
  ignoreIndex: number;
  /** Weight of the auxiliary head's loss when the graph has an 'aux' output (torchvision: 0.5). */
  auxWeight?: number;
  /** Per-class weights of the loss (an input 'class_weights' [C] is added when true). */
  classWeights?: boolean;
  /** Micro-batches per optimizer step: each micro-batch's loss is scaled by 1 / microBatches. */
  microBatches?: number;
  /** Hard-pixel mining: the cross-entropy over only this fraction of the valid pixels, the hardest (default 1: all). */
  hardFraction?: number;
  /** The terms summed (default: cross-entropy only). Class weights and mining act on the cross-entropy. */
  terms?: LossTerms;
  /** A binary model's [0, z] logits: Dice counts only the foreground (smp's mode='binary'). */
  binary?: boolean;
  /**
   * Weight of a second cross-entropy, against an input 'distill_labels' [N,H,W] u32 (the
   * starting model's classes where nobody painted: Learning without Forgetting's term, with hard
   * targets). 0 or absent: no such input.
   */
  distill?: number;
}

export interface TrainingGraphs {
  step: Graph;
  update: Graph;
  /** The parameters trained, in graph order. */
  trainable: Value[];
}

/**
 * The network with every batch norm in training mode (batch statistics; running statistics
 * updated in place). Each BN's output value stays the same, so its readers need no change.
 */
export function trainingBatchNorms(graph: Graph): Graph {
  const nodes = graph.nodes.map((n): Node => {
    if (n.op.type !== 'batchnorm') return n;
    const { input, gamma, beta, mean, variance, attrs } = n.op;
    if (attrs.activation !== 'none') throw new Error(`${n.name}: a batch norm with a fused activation (train the canonical graph)`);
    const op: NodeOp = { type: 'batchnorm_train', input, gamma, beta, mean, variance, attrs: { eps: attrs.eps, momentum: attrs.momentum } };
    const [, ...extra] = opDef(op).infer(op);
    const values = extra.map((o, k): Value => ({ id: graph.ids.take(), shape: o.shape, dtype: o.dtype, kind: 'activation', name: `${n.name}#${['mean', 'variance', 'partial', 'sums'][k]}` }));
    return { ...n, op, outputs: [n.outputs[0], ...values, mean, variance] };
  });
  return { ...graph, nodes };
}

/** The accumulator and momentum buffer names of a parameter. */
export const gradName = (param: string): string => `${param}#grad`;
export const momentumName = (param: string): string => `${param}#momentum`;

/** The step's input of the starting model's classes, with LossOptions.distill. */
export const DISTILL_LABELS = 'distill_labels';

/** The step's per-run flag: 1 on a step's first micro-batch (its gradients overwrite the accumulators). */
export const FIRST_MICRO_BATCH = 'first_micro_batch';

/**
 * Each trainable parameter's gradient into its accumulator (state named `gradName`). With one
 * micro-batch a step, the node computing a gradient writes it straight into the accumulator: no
 * gradient buffer, no copy. Over micro-batches, an accumulate node adds it in place (the first
 * micro-batch overwrites, told by the FIRST_MICRO_BATCH input). A gradient that cannot become
 * the accumulator (one value for two parameters) is accumulated the same way.
 */
function accumulateGradients(graph: Graph, trainable: readonly Value[], grads: ReadonlyMap<number, Value>, microBatches: boolean): Graph {
  const s = GraphBuilder.extend(graph);
  const sharers = new Map<number, number>();
  for (const g of grads.values()) sharers.set(g.id, (sharers.get(g.id) ?? 0) + 1);
  const into = new Map<number, Value>(); // gradient value id -> the accumulator its producer writes
  let first: Value | undefined;
  for (const p of trainable) {
    const g = grads.get(p.id);
    if (!g) continue; // nothing flows to it (e.g. a branch the loss does not see)
    const acc = s.stateValue(gradName(p.name), p.shape, 'gradient');
    if (!microBatches && g.kind === 'activation' && sharers.get(g.id) === 1) {
      into.set(g.id, acc);
      continue;
    }
    first ??= s.input(FIRST_MICRO_BATCH, [1], 'u32');
    s.node(`${p.name}:accumulate`, { type: 'accumulate', g, first, acc }, [acc]);
  }
  const built = s.build();
  if (into.size === 0) return built;
  const swap = (v: Value): Value => into.get(v.id) ?? v;
  return withNodes(built, built.nodes.map((n) => ({ ...n, op: mapOperands(n.op, swap), outputs: n.outputs.map(swap) })));
}

/**
 * The loss of one head's logits: its terms (cross-entropy, Dice) each scaled by `scale`, summed.
 * Returns [loss [1], the logits' gradient (the backward pass's seed), invalid labels [1] u32].
 */
export function headLoss(b: GraphBuilder, name: string, head: Value, labels: Value, weights: Value | undefined, loss: LossOptions, scale: number): [Value, Value, Value] {
  const terms = loss.terms ?? { crossEntropy: true, dice: false };
  if (!terms.crossEntropy && !terms.dice) throw new Error('training: the loss has no term');
  if (!terms.crossEntropy && (weights || (loss.hardFraction ?? 1) < 1)) throw new Error('training: class weights and hard-pixel mining weigh the cross-entropy, which this loss (Dice alone) does not have');
  const parts: Value[][] = [];
  if (terms.crossEntropy) {
    const hard = loss.hardFraction !== undefined && loss.hardFraction < 1 ? { hardFraction: loss.hardFraction } : {};
    parts.push(b.node(`loss_${name}`, { type: 'softmax_cross_entropy', logits: head, labels, weights, attrs: { ignoreIndex: loss.ignoreIndex, scale, ...hard } }));
  }
  if (terms.dice) {
    parts.push(b.node(`dice_${name}`, { type: 'softmax_dice', logits: head, labels, attrs: { ignoreIndex: loss.ignoreIndex, scale, ...(loss.binary ? { binary: true } : {}) } }));
  }
  const [first, second] = parts;
  if (!second) return [first[0], first[1], first[2]];
  return [b.addValues(`loss_${name}:sum`, first[0], second[0]), b.addValues(`loss_${name}:dlogits`, first[1], second[1]), first[2]];
}

/**
 * `network` is a canonical graph with input 'image' and output 'logits' [N,H,W,C] (and 'aux');
 * `trains(p)` says which parameters learn and with which lr / decay multipliers (undefined: frozen).
 */
export function buildTrainingGraphs(network: Graph, loss: LossOptions, trains: (p: Value) => SgdGroup | undefined): TrainingGraphs {
  const logits = network.outputs.get('logits');
  if (!logits) throw new Error("training: the network has no 'logits' output");
  const trainable = network.state.filter((v) => v.role === 'param' && trains(v) !== undefined);
  if (trainable.length === 0) throw new Error('training: every parameter is frozen; nothing would learn');

  const b = GraphBuilder.extend(network);
  const [N, H, W, C] = logits.shape;
  const labels = b.input('labels', [N, H, W], 'u32');
  const weights = loss.classWeights ? b.input('class_weights', [C]) : undefined;
  const scale = 1 / (loss.microBatches ?? 1);
  const seeds = new Map<Value, Value>();
  const lossValues: Value[] = [];
  const invalid: Value[] = [];
  const heads: [string, Value, number][] = [['out', logits, 1]];
  const aux = network.outputs.get('aux');
  if (aux && loss.auxWeight) heads.push(['aux', aux, loss.auxWeight]);
  for (const [name, head, weight] of heads) {
    const [l, seed, bad] = headLoss(b, name, head, labels, weights, loss, scale * weight);
    seeds.set(head, seed);
    lossValues.push(l);
    invalid.push(bad);
  }
  let distilled: Value | undefined;
  if (loss.distill) {
    // Only the main head keeps what it knew: an auxiliary head is a training aid.
    const teacher = b.input(DISTILL_LABELS, [N, H, W], 'u32');
    const [l, seed] = b.node('distill_out', { type: 'softmax_cross_entropy', logits, labels: teacher, attrs: { ignoreIndex: loss.ignoreIndex, scale: scale * loss.distill } });
    seeds.set(logits, b.addValues('distill_out:dlogits', seeds.get(logits)!, seed));
    lossValues.push(l);
    distilled = l;
  }
  let total = lossValues[0];
  for (const [k, l] of lossValues.slice(1).entries()) total = b.addValues(k === lossValues.length - 2 ? 'loss' : `loss:${k}`, total, l);
  const forward = b.build();
  const { graph: withBackward, grads } = differentiate(forward, seeds, trainable);

  const step = accumulateGradients(withBackward, trainable, grads, (loss.microBatches ?? 1) > 1);
  // Only the loss and the label check come back each step; logits stay on the GPU.
  const outputs = new Map<string, Value>([['loss', total], ['invalid_labels', invalid[0]]]);
  if (distilled) outputs.set('distill_loss', distilled);
  const stepGraph: Graph = { ...step, outputs };

  const u = new GraphBuilder();
  const hyper = u.input('sgd', [4]);
  for (const p of trainable) {
    if (!grads.has(p.id)) continue;
    const param = u.stateValue(p.name, p.shape, 'param');
    const grad = u.stateValue(gradName(p.name), p.shape, 'gradient');
    const momentum = u.stateValue(momentumName(p.name), p.shape, 'optimizer');
    u.node(`${p.name}:sgd`, { type: 'sgd', grad, hyper, param, momentum, attrs: trains(p)! }, [param, momentum]);
  }
  // A graph names at least one output; the update's effect is on the session's state.
  u.output('sgd', hyper);
  return { step: stepGraph, update: u.build(), trainable: trainable.filter((p) => grads.has(p.id)) };
}
