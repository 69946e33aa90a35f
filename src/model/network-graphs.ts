// The network's canonical graph at a batch and input size, as every device runs it: with
// 'logits_raw' where post-processing or forwardToHost reads another output than the logits at the
// input (post-logits.ts says which), and the names and sizes of those outputs by input size
// (learnt from a graph built once per size).
import type { Graph } from '../graph/ir.js';
import { backboneRecord } from './backbones/registry.js';
import { resizesHeadLogits } from './input-policy.js';
import type { LoadedWeights } from './loading/load-weights.js';
import type { NetworkSize } from './networks/deeplab.js';
import { type PostLogits, postLogitsOf, withOwnOutput, withRawLogits } from './post-logits.js';

export class NetworkGraphs {
  /** postLogits by input size. */
  private readonly postInputs = new Map<string, PostLogits>();
  /** ownOutput by input size. */
  private readonly ownOutputs = new Map<string, PostLogits['name']>();

  constructor(private readonly weights: LoadedWeights) {}

  /**
   * The network for inference at one batch and input size, with 'logits_raw': the network's own
   * output where its record names one (an ONNX file's, which forwardToHost gives), else the head's
   * own logits where segment() reads them.
   */
  graph(size: NetworkSize): Graph {
    const graph = this.weights.buildGraph(size);
    const network = backboneRecord(this.weights.config.backbone).network;
    if (network.kind === 'whole' && network.ownOutput) return withOwnOutput(graph, network.ownOutput(graph));
    return resizesHeadLogits(this.weights.inputPolicy) ? withRawLogits(graph) : graph;
  }

  /** The output forwardToHost gives at an input size: the network's own where its record names one, else the logits at the input. */
  ownOutput(height: number, width: number): PostLogits['name'] {
    const network = backboneRecord(this.weights.config.backbone).network;
    if (network.kind !== 'whole' || !network.ownOutput) return 'logits';
    const key = `${height}x${width}`;
    let found = this.ownOutputs.get(key);
    if (!found) this.ownOutputs.set(key, (found = this.graph({ height, width }).outputs.has('logits_raw') ? 'logits_raw' : 'logits'));
    return found;
  }

  /** The output segment()'s post-processing reads from the network at an input size, and its size. */
  postLogits(height: number, width: number): PostLogits {
    const key = `${height}x${width}`;
    let found = this.postInputs.get(key);
    if (!found) this.postInputs.set(key, (found = postLogitsOf(this.graph({ height, width }), resizesHeadLogits(this.weights.inputPolicy))));
    return found;
  }
}
