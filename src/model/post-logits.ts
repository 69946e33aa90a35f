// Which of the network's outputs segment()'s post-processing reads. Most pipelines resize the
// logits at the network's input ('logits') to the image; transformers' resizes the head's own
// output, at its stride, once (post_process_semantic_segmentation), and a second resize in
// between moves labels. Every network ends in the resize of its head's output to its input, so
// that output is found in the graph and named 'logits_raw' for the programs segment() runs; an
// imported ONNX file's own output is its importer's to name (its record's ownOutput), and is
// 'logits_raw' whatever the pipeline, since forwardToHost gives it.
import type { Graph, Value } from '../graph/ir.js';

/** The output post-processing reads and its spatial size. */
export interface PostLogits {
  name: 'logits' | 'logits_raw';
  height: number;
  width: number;
}

/**
 * The graph with 'logits_raw' added: the input of the resize that makes 'logits'. A network
 * whose 'logits' no resize makes is an error: its head's own output is not known.
 */
export function withRawLogits(graph: Graph): Graph {
  const logits = graph.outputs.get('logits');
  const maker = logits && graph.nodes.find((n) => n.outputs.includes(logits));
  if (!maker || maker.op.type !== 'resize') {
    throw new Error(`the network's logits are made by ${maker ? `'${maker.name}' (${maker.op.type})` : 'no layer'}, not a resize of its head's output: its raw logits are unknown`);
  }
  return { ...graph, outputs: new Map([...graph.outputs, ['logits_raw', maker.op.input]]) };
}

/** The graph with the network's own output, where it is not the logits, added as 'logits_raw' (an imported ONNX file's). */
export function withOwnOutput(graph: Graph, own: Value | undefined): Graph {
  return own ? { ...graph, outputs: new Map([...graph.outputs, ['logits_raw', own]]) } : graph;
}

/**
 * The post-processing's input for a network graph: 'logits_raw' where the pipeline resizes the
 * head's own logits (`headLogits`) and the graph has them apart from its logits, else 'logits'.
 */
export function postLogitsOf(graph: Graph, headLogits: boolean): PostLogits {
  const raw = headLogits ? graph.outputs.get('logits_raw') : undefined;
  const v = raw ?? graph.outputs.get('logits')!;
  return { name: raw ? 'logits_raw' : 'logits', height: v.shape[1], width: v.shape[2] };
}

/**
 * The network's own output from its logits [..., C]: a binary model's (smp's classes 1) one
 * channel z of the two classes [0, z] segment() works on; any other model's logits as they are.
 */
export function ownOutput(logits: Float32Array, binary: boolean): Float32Array {
  if (!binary) return logits;
  const z = new Float32Array(logits.length / 2);
  for (let p = 0; p < z.length; p++) z[p] = logits[2 * p + 1];
  return z;
}
