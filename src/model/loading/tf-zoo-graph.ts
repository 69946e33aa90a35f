// What a zoo frozen graph says besides its weights, read by the roles of its nodes (each Const's
// role comes from what consumes it: src/model/weights/import/tf-graph.ts):
// - the export crop: export_model.py fixes the padded image's shape to its crop
//   (`processed_image.set_shape`), and the graph records shapes (`_output_shapes`): the crop is
//   the first fully known [1, H, W, 3] reached from the graph's input;
// - the image pooling: its AvgPool's window and strides, and the output stride the graph runs at
//   (the crop over the pooled features' size);
// - its constants that are no weights: the preprocessing's (what computes the network's input
//   from the image), checked to be the mean pixel and the scale of the normalisation the network
//   takes; the network's own arithmetic, checked against the values its backbone's record says
//   its graph computes with (MobileNetV3's hard-swish); and the integer ones, set aside: shapes,
//   axes, paddings and block shapes of the sizes the graph was built at, which our network
//   derives from each image itself.
import type { InputNormalizationName } from '../../io/input-normalization.js';
import { type FrozenGraph, type GraphNode, producerOf } from '../weights/import/tf-graph.js';

export interface ZooGraph {
  /** The export crop [height, width], where the graph records it. */
  crop?: [number, number];
  /** The image pooling's window [h, w] and strides, and the features [h, w] it pools at the crop. */
  imagePooling?: { window: [number, number]; strides: [number, number]; features: [number, number] };
  /** The output stride the graph was built at, where its crop and image pooling say. */
  outputStride?: number;
  /** The float Consts that are no weights: their values, the ops reading them, and whether they compute the network's input. */
  constants: { name: string; values: Float32Array; readers: string; preprocessing: boolean }[];
}

/** A node's first output shape from `_output_shapes` (-1 for an unknown side); undefined where the graph records none. */
function outputShape(node: GraphNode | undefined): number[] | undefined {
  const dims = node?.attr._output_shapes?.list?.shape?.[0]?.dim;
  return dims && dims.length > 0 ? dims.map((d) => d.size) : undefined;
}

/** TF DeepLab's scale_dimension: int((dim - 1) * scale + 1). */
const scaleDimension = (dim: number, scale: number): number => Math.floor((dim - 1) * scale + 1);

/** The nodes reached from the graph's input placeholders, breadth first. */
function fromInputs(graph: FrozenGraph): GraphNode[] {
  const order: GraphNode[] = [];
  const seen = new Set<string>();
  let frontier = graph.nodes.filter((n) => n.op === 'Placeholder');
  while (frontier.length > 0) {
    const next: GraphNode[] = [];
    for (const node of frontier) {
      if (seen.has(node.name)) continue;
      seen.add(node.name);
      order.push(node);
      for (const { node: reader } of graph.consumers(node.name)) next.push(reader);
    }
    frontier = next;
  }
  return order;
}

/** Every node the given one computes from (its inputs, theirs, ...), itself included. */
function ancestors(graph: FrozenGraph, from: GraphNode): Set<string> {
  const byName = new Map(graph.nodes.map((n) => [n.name, n]));
  const out = new Set<string>();
  const stack = [from.name];
  while (stack.length > 0) {
    const name = stack.pop()!;
    if (out.has(name)) continue;
    out.add(name);
    for (const input of byName.get(name)?.input ?? []) stack.push(producerOf(input));
  }
  return out;
}

/** The crop, the image pooling and the non-weight constants of a frozen graph. */
export function readZooGraph(graph: FrozenGraph): ZooGraph {
  const reached = fromInputs(graph);
  const byName = new Map(graph.nodes.map((n) => [n.name, n]));
  const image = reached.find((n) => {
    const s = outputShape(n);
    return s?.length === 4 && s[0] === 1 && s[1] > 0 && s[2] > 0 && s[3] === 3;
  });
  const crop = image ? (outputShape(image)!.slice(1, 3) as [number, number]) : undefined;
  // What computes the network's input: all the first convolution reads (Xception pads it first).
  const stem = reached.find((n) => n.op === 'Conv2D');
  const input = stem ? byName.get(producerOf(stem.input[0])) : undefined;
  const preprocessing = input ? ancestors(graph, input) : new Set<string>();
  const pools = graph.nodes.filter((n) => n.op === 'AvgPool');
  let imagePooling: ZooGraph['imagePooling'];
  let outputStride: number | undefined;
  if (pools.length === 1) {
    const ksize = pools[0].attr.ksize?.list?.i ?? [];
    const strides = pools[0].attr.strides?.list?.i ?? [];
    const features = outputShape(byName.get(producerOf(pools[0].input[0])));
    if (ksize.length === 4 && strides.length === 4 && features?.length === 4 && features[1] > 0 && features[2] > 0) {
      imagePooling = { window: [ksize[1], ksize[2]], strides: [strides[1], strides[2]], features: [features[1], features[2]] };
      outputStride = crop && [8, 16, 32].find((os) => scaleDimension(crop[0], 1 / os) === features[1] && scaleDimension(crop[1], 1 / os) === features[2]);
    }
  }
  const constants: ZooGraph['constants'] = [];
  for (const [name, t] of graph.consts) {
    if (graph.weights.has(name) || (t.sourceDType !== 'f32' && t.sourceDType !== 'f64' && t.sourceDType !== 'f16' && t.sourceDType !== 'bf16')) continue;
    const readers = graph.consumers(name);
    constants.push({
      name,
      values: t.data,
      readers: readers.map(({ node }) => `${node.op} '${node.name}'`).join(', '),
      preprocessing: readers.some(({ node }) => preprocessing.has(node.name)),
    });
  }
  return { crop, imagePooling, outputStride, constants };
}

/** The preprocessing constants of a normalisation: the mean pixel the graph pads with (the zero of the network's input) and the scale and offset. */
const PREPROCESSING: Partial<Record<InputNormalizationName, { values: number[]; words: string }>> = {
  minus_one_one: { values: [127.5, 2 / 255, 1], words: '(2/255) x - 1, padded with the mean pixel 127.5' },
};

/** Whether every value is one of `allowed` (as float32). */
const within = (values: Float32Array, allowed: readonly number[]): boolean => values.every((v) => allowed.some((a) => Math.fround(a) === v));

/**
 * Checks a graph's non-weight float constants: the preprocessing's against the network's
 * normalisation, the network's against the arithmetic its backbone computes with
 * (`arithmetic`: values and what computes with them). Anything else is refused, named.
 */
export function checkZooConstants(g: ZooGraph, normalization: InputNormalizationName, arithmetic: { values: readonly number[]; words: string } | undefined, network: string, what: string): void {
  const pre = PREPROCESSING[normalization];
  for (const c of g.constants) {
    const shown = `[${[...c.values.slice(0, 4)].join(', ')}${c.values.length > 4 ? ', ...' : ''}]`;
    if (c.preprocessing) {
      if (pre && within(c.values, pre.values)) continue;
      throw new Error(`${what}: the graph's preprocessing computes with Const '${c.name}' = ${shown} (read by ${c.readers}), but ${network} takes ${pre?.words ?? normalization}`);
    }
    if (arithmetic && within(c.values, arithmetic.values)) continue;
    throw new Error(`${what}: Const '${c.name}' = ${shown} (read by ${c.readers || 'nothing'}) is neither a weight nor ${arithmetic ? `${arithmetic.words}, ` : ''}a constant ${network}'s graph computes with`);
  }
}
