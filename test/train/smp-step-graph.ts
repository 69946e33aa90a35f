// The training step of smp's two training fixtures as the trainer builds it (src/train/trainer.ts:
// batch norms in training mode, no dropout, the fixture's loss), with the values the float64
// trace takes from a float32 run added as outputs: every ReLU/ReLU6's input, the image-pooling
// batch norm's input, and the train-mode logits. Free of Node's modules: the page test bundles it.
import type { Graph, Node, Value } from '../../src/graph/ir.js';
import type { ActivationOp } from '../../src/graph/ops/elementwise.js';
import { type TrainingLoss, lossTerms } from '../../src/train/loss-choice.js';
import { buildTrainingGraphs, trainingBatchNorms } from '../../src/train/training-graph.js';
import { reluNodes } from './relu-nodes.js';

/**
 * The inputs of the batch norms that see one value per image and channel (ASPP's image pooling:
 * two values per channel at batch 2): their normalisation divides by half the difference of the
 * two, below sqrt(eps) in some channels (README: `aspp_image_pool_bn`), so float32's drift comes
 * out of them amplified, by an amount that depends on which channels it lands in.
 */
export function imagePoolInputs(nodes: readonly Node[]): Value[] {
  return nodes.flatMap((n) => (n.op.type === 'batchnorm_train' && n.op.input.shape[1] * n.op.input.shape[2] === 1 ? [n.op.input] : []));
}

export interface ProbedStep {
  /** The step's graph with 'logits', 'relu:<node>' and 'held:<value>' outputs besides the trainer's. */
  graph: Graph;
  relus: Node[];
  held: Value[];
  trainable: Value[];
}

/** The fixture's step as the trainer builds it on `canonical` (the network at the batch's size), with the trace's values as outputs. */
export function probedStep(canonical: Graph, loss: TrainingLoss, binary: boolean): ProbedStep {
  const graphs = buildTrainingGraphs(trainingBatchNorms(canonical), { ignoreIndex: 255, terms: lossTerms(loss, binary), binary }, () => ({ lrScale: 1 }));
  const relus = reluNodes(graphs.step.nodes);
  const held = imagePoolInputs(graphs.step.nodes);
  const extra: [string, Value][] = [...relus.map((n): [string, Value] => [`relu:${n.name}`, (n.op as ActivationOp).input]), ...held.map((v): [string, Value] => [`held:${v.name}`, v])];
  const graph: Graph = { ...graphs.step, outputs: new Map([...graphs.step.outputs, ['logits', canonical.outputs.get('logits')!], ...extra]) };
  return { graph, relus, held, trainable: graphs.trainable };
}
