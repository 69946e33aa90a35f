// Small ONNX graphs written in tests (our writer, src/graph/onnx/write.ts), run by onnxruntime-node
// as the reference and imported into ours: what the importer's layout rules are checked on, op
// by op and in the chains exporters write (a Linear on tokens, attention, GroupNorm's pattern).
import { GraphBuilder } from '../../src/graph/builder.js';
import { runGraphCpu } from '../../src/graph/cpu-reference.js';
import type { Graph } from '../../src/graph/ir.js';
import { sourceData } from '../../src/graph/onnx/import/context.js';
import { importOnnx } from '../../src/graph/onnx/import/import.js';
import { onnxSignature } from '../../src/graph/onnx/import/signature.js';
import type { OnnxAttr, OnnxModel, OnnxNode, OnnxTensor } from '../../src/graph/onnx/model.js';
import { readOnnx } from '../../src/graph/onnx/read.js';
import { writeOnnx } from '../../src/graph/onnx/write.js';
import { permuteAxes } from '../../src/graph/onnx/lower.js';
import type { HostParams } from '../../src/graph/params.js';
import { numel, randomArray, rng } from '../helpers.js';
import { runOnnx } from '../onnx-runtime.js';

type AttrValue = { i: number } | { f: number } | { ints: number[] } | { floats: number[] } | { s: string } | { t: OnnxTensor };

function attr(v: AttrValue): OnnxAttr {
  if ('i' in v) return { kind: 'int', value: v.i };
  if ('f' in v) return { kind: 'float', value: v.f };
  if ('ints' in v) return { kind: 'ints', value: v.ints };
  if ('floats' in v) return { kind: 'floats', value: v.floats };
  if ('s' in v) return { kind: 'string', value: v.s };
  return { kind: 'tensor', value: v.t };
}

let counter = 0;

/** A node; its name is its op and a counter unless given. */
export function node(opType: string, inputs: string[], outputs: string[], attrs: Record<string, AttrValue> = {}, name?: string): OnnxNode {
  return { name: name ?? `${opType}_${counter++}`, opType, domain: '', inputs, outputs, attrs: new Map(Object.entries(attrs).map(([k, v]) => [k, attr(v)])) };
}

export const floats = (name: string, dims: number[], data?: ArrayLike<number>): OnnxTensor => ({ name, dtype: 'float', dims, data: data ? Float32Array.from(data) : randomArray(numel(dims), -1, 1, rng()) });
export const int64s = (name: string, values: number[], dims = [values.length]): OnnxTensor => ({ name, dtype: 'int64', dims, data: Float64Array.from(values) });

export interface GraphSpec {
  /** The input 'x': [N,C,H,W] (or [N,H,W,C] for a channels-last file); null dims are symbolic. */
  input: (number | null)[];
  nodes: OnnxNode[];
  initializers?: OnnxTensor[];
  /** The output's name (default 'y'). */
  output?: string;
  opset?: number;
}

/** The spec as an ONNX model. */
export function modelOf(s: GraphSpec): OnnxModel {
  return {
    irVersion: 8,
    opset: s.opset ?? 17,
    producer: 'test',
    producerVersion: '',
    metadata: new Map(),
    graph: {
      name: 'test',
      nodes: s.nodes,
      initializers: new Map((s.initializers ?? []).map((t) => [t.name, t])),
      inputs: [{ name: 'x', dtype: 'float', dims: s.input.map((d, i) => d ?? `d${i}`) }],
      outputs: [{ name: s.output ?? 'y', dtype: 'float', dims: null }],
    },
  };
}

/** The model imported at an input of `dims` ([N,C,H,W], or the file's own order), with its params; the output at its own size. */
export function imported(model: OnnxModel, dims: number[]): { graph: Graph; params: HostParams } {
  const sig = onnxSignature(model, 'test.onnx');
  const b = new GraphBuilder();
  const [n, a, c, d] = dims;
  const image = b.input('image', sig.layout === 'nchw' ? [n, c, d, a] : [n, a, c, d]);
  const { logits, sources } = importOnnx(b, image, model, sig, 'test.onnx', { ownSize: true });
  b.output('logits', logits);
  const params: HostParams = new Map([...sources].map(([k, s]) => [k, { shape: s.order.map((x) => s.dims[x]), data: sourceData(s) }]));
  return { graph: b.build(), params };
}

/**
 * The spec's model written, read back, run by onnxruntime on a random input of `dims` and by our
 * CPU interpreter after import: both outputs in the file's layout.
 */
export async function runBoth(s: GraphSpec, dims: number[]): Promise<{ theirs: Float32Array; ours: Float32Array; graph: Graph }> {
  const bytes = writeOnnx(modelOf(s));
  const model = readOnnx(bytes, 'test.onnx');
  const x = randomArray(numel(dims), -2, 2, rng());
  const theirs = (await runOnnx(bytes, { x: { dims, data: x } })).get(s.output ?? 'y')!;
  const { graph, params } = imported(model, dims);
  const nchw = onnxSignature(model, 'test.onnx').layout === 'nchw';
  const image = nchw ? permuteAxes(x, dims, [0, 2, 3, 1]).data : x;
  const out = runGraphCpu(graph, params, { image }).get('logits') as Float32Array;
  const logits = graph.outputs.get('logits')!;
  return { theirs: theirs.data, ours: nchw ? permuteAxes(out, logits.shape, [0, 3, 1, 2]).data : out, graph };
}
