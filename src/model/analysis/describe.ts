// A model's structure as a table: every layer with its kernel, stride, rate, output size,
// parameters and cost, a per-block summary and the totals.
//
// Everything is read off the graph the builders produce (no second description of the network
// to keep in sync): strides, rates and shapes are the nodes' attributes, parameters are the
// declared param values, costs come from each op's definition (src/graph/ops/). Building a graph declares
// parameters without data, so no weights are needed.
import { type Graph, type Node, type OpType, type Value, nodeOutput } from '../../graph/ir.js';
import { nodeInputs, opDef } from '../../graph/ops/registry.js';
import { fuseEpilogues } from '../../graph/passes.js';
import { backboneRecords } from '../backbones/registry.js';
import type { DeepLabConfig } from '../networks/config.js';
import { buildDeepLab } from '../backbones/network.js';
import { type GraphCost, graphCost, nodeCost } from './flops.js';

export interface LayerInfo {
  name: string;
  op: OpType;
  /** The part of the network it belongs to: 'stem', 'block1'..'block7', 'aspp', 'decoder', 'head', ... */
  group: string;
  /** [KH, KW] of convolutions and pools; null otherwise. */
  kernel: [number, number] | null;
  /** Vertical stride of convolutions and pools (all are square here); null otherwise. */
  stride: number | null;
  /** Atrous rate (dilation) of convolutions; null otherwise. */
  rate: number | null;
  /** Output shape without the batch: [H, W, C]. */
  output: number[];
  /** Stride of the output relative to the input image (null after global pooling). */
  outputStride: number | null;
  /** Scalars of the params this layer reads (each param counted at its first reader). */
  params: number;
  macs: number;
  flops: number;
}

export interface BlockSummary {
  /** 'stem', 'block1'..'block7', 'aspp', 'decoder', 'head', 'aux', 'upsample', 'backbone', ... */
  name: string;
  layers: number;
  /** Output stride reached at the block's output. */
  outputStride: number | null;
  /** Rates of the block's convolutions larger than 1x1, in order (one per bottleneck unit). */
  rates: number[];
  /** The block's output [H, W, C]. */
  output: number[];
  params: number;
  macs: number;
  flops: number;
}

export interface DescriptionTotals extends GraphCost {
  layers: number;
  /** Every declared scalar, batch-norm statistics included. */
  params: number;
  /** Without batch-norm running statistics (what torchvision's num_params counts). */
  trainableParams: number;
}

export interface GraphDescription {
  layers: LayerInfo[];
  blocks: BlockSummary[];
  totals: DescriptionTotals;
  /** What the FLOP counts include. */
  counting: string;
}

export interface ModelDescription extends GraphDescription {
  config: DeepLabConfig;
  input: { height: number; width: number };
}

export const COUNTING_NOTE =
  'macs = multiply-accumulates of convolutions and matrix products (bias adds excluded); convFlops = 2 x macs; otherFlops = ' +
  'batch norm 2/element, add/mul/activation 1/element, pools KHxKW/output (global: 1/input), ' +
  'bilinear resize 8/output (fused resize+argmax 9/output/channel), softmax 3/element; flops = convFlops + otherFlops';

/**
 * Which part of the network a layer belongs to, by its name: the backbones' own groups (their
 * records'), then the heads' (torchvision, mmseg and TF naming).
 */
const GROUP_RULES: (readonly [RegExp, (m: RegExpExecArray) => string])[] = [
  ...backboneRecords().flatMap((r) => r.describeGroups),
  [/^decode_head\.(aspp_modules|image_pool|concat|bottleneck)/, () => 'aspp'],
  [/^decode_head\.(c1_bottleneck|c1_upsample|c1_concat|sep_bottleneck)/, () => 'decoder'],
  [/^decode_head\./, () => 'head'],
  [/^auxiliary_head\./, () => 'aux'],
  [/^backbone\./, () => 'backbone'],
  [/^classifier\.0\./, () => 'aspp'],
  [/^(aspp\d+|image_pooling|concat|concat_projection)(\/|$)/, () => 'aspp'],
  [/^decoder[./]/, () => 'decoder'],
  [/^(classifier\.|logits\/semantic)/, () => 'head'],
  [/^aux_/, () => 'aux'],
  [/^logits/, () => 'upsample'],
];

export function layerGroup(name: string): string {
  for (const [re, group] of GROUP_RULES) {
    const m = re.exec(name);
    if (m) return group(m);
  }
  return 'other';
}

/** Cumulative stride of every value relative to the graph's (first) input, by each op's rule. */
function outputStrides(graph: Graph): Map<number, number | null> {
  const strides = new Map<number, number | null>();
  for (const v of graph.inputs) strides.set(v.id, 1);
  const imageHeight = graph.inputs[0]?.shape[1];
  for (const n of graph.nodes) {
    const def = opDef(n.op);
    const inputStride = nodeInputs(n).map((v) => strides.get(v.id) ?? null).find((x) => x !== null) ?? null;
    const s = def.outputStride ? def.outputStride(n.op, inputStride, imageHeight) : inputStride;
    for (const v of n.outputs) strides.set(v.id, s);
  }
  return strides;
}

/** The state each node reads first (each tensor counted once). */
function stateOwnership(graph: Graph): Map<number, Value[]> {
  const seen = new Set<number>();
  const owned = new Map<number, Value[]>();
  for (const n of graph.nodes) {
    const mine = nodeInputs(n).filter((v) => v.kind === 'state' && !seen.has(v.id));
    for (const v of mine) seen.add(v.id);
    owned.set(n.id, mine);
  }
  return owned;
}

function numel(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

function layerInfo(n: Node, params: number, outputStride: number | null): LayerInfo {
  const attrs = opDef(n.op).layer?.(n.op) ?? {};
  const cost = nodeCost(n);
  return {
    name: n.name,
    op: n.op.type,
    group: layerGroup(n.name),
    kernel: attrs.kernel ?? null,
    stride: attrs.stride ?? null,
    rate: attrs.rate ?? null,
    output: nodeOutput(n).shape.slice(1),
    outputStride,
    params,
    ...cost,
  };
}

/** Layers, per-block summary and totals of any graph. */
export function describeGraph(canonical: Graph): GraphDescription {
  // Layers as a reader counts them: an activation belongs to the layer it follows.
  const graph = fuseEpilogues(canonical, { activationsOnly: true });
  const strides = outputStrides(graph);
  const owned = stateOwnership(graph);
  const layers = graph.nodes.map((n) => layerInfo(n, owned.get(n.id)!.reduce((a, v) => a + numel(v.shape), 0), strides.get(nodeOutput(n).id) ?? null));
  const blocks: BlockSummary[] = [];
  const byName = new Map<string, BlockSummary>();
  for (const l of layers) {
    let b = byName.get(l.group);
    if (!b) {
      b = { name: l.group, layers: 0, outputStride: null, rates: [], output: [], params: 0, macs: 0, flops: 0 };
      byName.set(l.group, b);
      blocks.push(b);
    }
    b.layers++;
    b.params += l.params;
    b.macs += l.macs;
    b.flops += l.flops;
    if (l.op === 'conv2d' && l.kernel && (l.kernel[0] > 1 || l.kernel[1] > 1)) b.rates.push(l.rate!);
    // A group's output is its last layer's (layers are in execution order).
    b.output = l.output;
    b.outputStride = l.outputStride;
  }
  let params = 0;
  let trainableParams = 0;
  for (const p of graph.state) {
    params += numel(p.shape);
    if (p.role === 'param') trainableParams += numel(p.shape);
  }
  return { layers, blocks, totals: { layers: layers.length, params, trainableParams, ...graphCost(graph) }, counting: COUNTING_NOTE };
}

/** describeGraph of the model `cfg` builds for an inputH x inputW image. */
export function describeModel(cfg: DeepLabConfig, inputH: number, inputW: number): ModelDescription {
  const graph = buildDeepLab(cfg, { height: inputH, width: inputW });
  return { config: cfg, input: { height: inputH, width: inputW }, ...describeGraph(graph) };
}
