// A canonical graph as an ONNX graph (opset 17): each node through its op's rule (OpDef.onnx),
// the state it reads as initializers, every map (rank-4 value, NHWC here) as NCHW, so the ONNX
// graph needs no Transpose: the input 'image' is [N,3,H,W] and 'logits' [N,classes,H,W]; a rank-4
// weight read as an operand (a layer scale, a position bias) is written in that order too. Values
// of other ranks (attention's tokens) keep our layout.
// An op without a rule, or a graph that is not canonical (fused epilogues, f16, derived state),
// is an error naming the layer.
import { shapeString } from '../../gpu/tensor.js';
import type { Graph, Value } from '../ir.js';
import { opDef } from '../ops/registry.js';
import type { HostParams } from '../params.js';
import type { OnnxAttr, OnnxEmitter } from './emitter.js';
import {
  ATTR_FLOAT,
  ATTR_INT,
  ATTR_INTS,
  ATTR_STRING,
  type AttributeProto,
  type GraphProto,
  type ModelProto,
  type NodeProto,
  ONNX_FLOAT,
  ONNX_INT64,
  type TensorProto,
  type ValueInfoProto,
} from './proto.js';

/** The ONNX operator set the rules write for. */
export const ONNX_OPSET = 17;

/** ONNX IR version 8: the one opset 17 came with (ONNX 1.12). */
export const ONNX_IR_VERSION = 8;

/** An NHWC shape as ONNX's NCHW. */
export function nchwShape(shape: readonly number[]): number[] {
  return [shape[0], shape[3], shape[1], shape[2]];
}

/** `data` of `shape` (rank 4 at most) with its axes reordered: axis i of the result is axis perm[i] of the input. */
export function permuteAxes(data: Float32Array, shape: readonly number[], perm: readonly number[]): { dims: number[]; data: Float32Array } {
  if (shape.length > 4 || perm.length !== shape.length || [...perm].sort().some((p, i) => p !== i)) {
    throw new Error(`permutation [${perm.join(',')}] does not fit shape ${shapeString(shape)}`);
  }
  const dims = perm.map((p) => shape[p]);
  // Padded to rank 4 with leading unit axes: four plain loops over the output, in order.
  const pad = 4 - shape.length;
  const inShape = [...new Array<number>(pad).fill(1), ...shape];
  const inStrides = inShape.map((_, i) => inShape.slice(i + 1).reduce((a, b) => a * b, 1));
  const order = [...Array.from({ length: pad }, (_, i) => i), ...perm.map((p) => p + pad)];
  const [d0, d1, d2, d3] = order.map((p) => inShape[p]);
  const [s0, s1, s2, s3] = order.map((p) => inStrides[p]);
  const out = new Float32Array(data.length);
  let o = 0;
  for (let a = 0; a < d0; a++)
    for (let b = 0; b < d1; b++)
      for (let c = 0; c < d2; c++) {
        const base = a * s0 + b * s1 + c * s2;
        for (let d = 0; d < d3; d++) out[o++] = data[base + d * s3];
      }
  return { dims, data: out };
}

function bytesOf(a: Float32Array | BigInt64Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

function attribute(name: string, a: OnnxAttr): AttributeProto {
  if ('int' in a) return { name, type: ATTR_INT, i: a.int };
  if ('ints' in a) return { name, type: ATTR_INTS, ints: [...a.ints] };
  if ('float' in a) return { name, type: ATTR_FLOAT, f: a.float };
  return { name, type: ATTR_STRING, s: new TextEncoder().encode(a.string) };
}

/** The graph's map `v` as ONNX declares it: NCHW, or as our graph holds it (NHWC). */
function mapInfo(name: string, v: Value, layout: OnnxLayout): ValueInfoProto {
  const dims = layout === 'nchw' ? nchwShape(v.shape) : [...v.shape];
  return { name, type: { tensor_type: { elem_type: ONNX_FLOAT, shape: { dim: dims.map((d) => ({ dim_value: d })) } } } };
}

/**
 * How the ONNX graph's inputs and outputs are laid out: 'nchw' (ONNX's convention, what `deeplab
 * export` writes), or 'nhwc' as our graphs hold maps, the graph transposing to NCHW inside (what
 * the CPU device feeds and reads, with no copy of its own).
 */
export type OnnxLayout = 'nchw' | 'nhwc';

const NHWC_TO_NCHW_PERM = [0, 3, 1, 2];
const NCHW_TO_NHWC_PERM = [0, 2, 3, 1];

/** Which ops have an ONNX rule, for the error naming one that has none. */
function exportableOps(graph: Graph): string {
  return [...new Set(graph.nodes.filter((n) => opDef(n.op).onnx).map((n) => n.op.type))].join(', ');
}

/**
 * The ONNX graph of a canonical graph with its weights (`params`: our layouts, by state name).
 * Every graph input and output must be an f32 map; inputs and outputs keep their names, in
 * `layout` (default NCHW).
 */
export function lowerToOnnx(graph: Graph, params: HostParams, name: string, layout: OnnxLayout = 'nchw'): GraphProto {
  const nodes: NodeProto[] = [];
  const initializers: TensorProto[] = [];
  const tensorNames = new Set<string>();
  const nodeNames = new Set<string>();
  const unique = (taken: Set<string>, hint: string): string => {
    let n = hint;
    for (let k = 2; taken.has(n); k++) n = `${hint}_${k}`;
    taken.add(n);
    return n;
  };
  const valueNames = new Map<number, string>();
  const stateNames = new Map<string, string>();
  const constants = new Map<string, string>();
  /** The layer whose rule is running: names its ONNX nodes. */
  let layer = '';

  const checkFloat = (v: Value, what: string): void => {
    if (v.dtype !== 'f32') throw new Error(`${what} ${v.name} is ${v.dtype}: ONNX export writes f32 graphs (export the canonical graph, not a half-precision one)`);
  };
  // Graph inputs and outputs are maps; values inside may have other ranks (attention's tokens).
  const checkMap = (v: Value, what: string): void => {
    if (v.shape.length !== 4) throw new Error(`${what} ${v.name} is ${shapeString(v.shape)}, not an NHWC map: ONNX export writes maps only`);
    checkFloat(v, what);
  };

  const stateTensor = (v: Value, perm?: readonly number[]): string => {
    const key = `${v.name}|${perm?.join(',') ?? ''}`;
    const known = stateNames.get(key);
    if (known) return known;
    const t = params.get(v.name);
    if (!t) throw new Error(`no weights for ${v.name}${v.role === 'derived' ? ' (derived state: export the canonical graph, before compiling)' : ''}`);
    if (shapeString(t.shape) !== shapeString(v.shape)) throw new Error(`weights ${v.name} are ${shapeString(t.shape)}, the graph declares ${shapeString(v.shape)}`);
    const { dims, data } = perm ? permuteAxes(t.data, t.shape, perm) : { dims: [...t.shape], data: t.data };
    const tensorName = unique(tensorNames, v.name);
    initializers.push({ name: tensorName, dims, data_type: ONNX_FLOAT, raw_data: bytesOf(data) });
    stateNames.set(key, tensorName);
    return tensorName;
  };

  const emitter: OnnxEmitter = {
    tensor(v, perm) {
      // A rank-4 weight read as an operand is laid out as every rank-4 value is here: NCHW.
      if (v.kind === 'state') return stateTensor(v, perm ?? (v.shape.length === 4 ? NHWC_TO_NCHW_PERM : undefined));
      if (perm) throw new Error(`only weights are permuted, not ${v.name}`);
      const n = valueNames.get(v.id);
      if (n === undefined) throw new Error(`${v.name} is read before it is computed`);
      return n;
    },
    constant(hint, dtype, dims, data) {
      const key = `${dtype}|${dims.join(',')}|${data.join(',')}`;
      const known = constants.get(key);
      if (known) return known;
      const tensorName = unique(tensorNames, hint);
      const raw = dtype === 'float' ? bytesOf(Float32Array.from(data)) : bytesOf(BigInt64Array.from(data, (x) => BigInt(x)));
      initializers.push({ name: tensorName, dims: [...dims], data_type: dtype === 'float' ? ONNX_FLOAT : ONNX_INT64, raw_data: raw });
      constants.set(key, tensorName);
      return tensorName;
    },
    intermediate(hint) {
      return unique(tensorNames, `${layer}:${hint}`);
    },
    node(opType, inputs, outputs, attrs = {}) {
      nodes.push({
        name: unique(nodeNames, layer),
        op_type: opType,
        input: [...inputs],
        output: [...outputs],
        attribute: Object.entries(attrs).map(([k, a]) => attribute(k, a)),
      });
    },
  };

  // Inputs and outputs keep their names; outputs are reserved first so no layer takes one. In
  // NHWC, a layer's NCHW output is transposed into the output's name at the end instead.
  const outputNames = new Map<number, string>();
  for (const [key, v] of graph.outputs) {
    checkMap(v, 'output');
    unique(tensorNames, key);
    if (!outputNames.has(v.id) && layout === 'nchw') outputNames.set(v.id, key);
  }
  layer = 'inputs';
  const inputs = graph.inputs.map((v) => {
    checkMap(v, 'input');
    const tensorName = unique(tensorNames, v.name);
    if (layout === 'nchw') valueNames.set(v.id, tensorName);
    else {
      const nchw = emitter.intermediate(`${v.name}_nchw`);
      emitter.node('Transpose', [tensorName], [nchw], { perm: { ints: NHWC_TO_NCHW_PERM } });
      valueNames.set(v.id, nchw);
    }
    return mapInfo(tensorName, v, layout);
  });

  for (const node of graph.nodes) {
    layer = node.name;
    const def = opDef(node.op);
    if (!def.onnx) {
      throw new Error(`layer ${node.name}: op '${node.op.type}' has no ONNX mapping (the ops ONNX export writes, of those in this graph: ${exportableOps(graph) || 'none'})`);
    }
    const outs = node.outputs.map((v, i) => {
      if (v.kind === 'state') throw new Error(`layer ${node.name} updates ${v.name} in place: ONNX export writes inference graphs only`);
      checkFloat(v, `layer ${node.name}: output`);
      return outputNames.get(v.id) ?? unique(tensorNames, node.outputs.length > 1 ? `${node.name}:${i}` : node.name);
    });
    try {
      def.onnx(node.op, outs, emitter);
    } catch (e) {
      const message = (e as Error).message;
      throw new Error(message.startsWith(`layer ${node.name}`) ? message : `layer ${node.name}: ${message}`, { cause: e });
    }
    node.outputs.forEach((v, i) => valueNames.set(v.id, outs[i]));
  }

  // An output that is an input, or a second name for one value, is an Identity of it (in NHWC
  // every output is a Transpose back, or a resize made in NHWC).
  layer = 'outputs';
  const outputs: ValueInfoProto[] = [];
  const outputCount = new Map<string, number>();
  for (const v of graph.outputs.values()) outputCount.set(valueNames.get(v.id)!, (outputCount.get(valueNames.get(v.id)!) ?? 0) + 1);
  for (const [key, v] of graph.outputs) {
    const computed = valueNames.get(v.id)!;
    if (layout === 'nhwc') {
      if (outputCount.get(computed) !== 1 || !resizedInNhwc(nodes, initializers, emitter, computed, key)) emitter.node('Transpose', [computed], [key], { perm: { ints: NCHW_TO_NHWC_PERM } });
    } else if (computed !== key) emitter.node('Identity', [computed], [key]);
    outputs.push(mapInfo(key, v, layout));
  }
  // A constant a moved Resize no longer reads is left out.
  const read = new Set(nodes.flatMap((n) => n.input));
  return { name, node: nodes, initializer: initializers.filter((t) => read.has(t.name)), input: inputs, output: outputs };
}

/**
 * An NHWC output made by a Resize that nothing else reads (a network's logits at its input's
 * size): the Resize made in NHWC, the transpose moved before it onto the map it enlarges. ONNX
 * Runtime transposes large maps slowly (the default model's 21x257x257 logits took 9 of its 22 ms
 * in Node) and resizes NHWC maps quickly. False, changing nothing, where `computed` is not such
 * an output.
 */
function resizedInNhwc(nodes: NodeProto[], initializers: TensorProto[], emitter: OnnxEmitter, computed: string, key: string): boolean {
  const at = nodes.findIndex((n) => n.op_type === 'Resize' && n.output[0] === computed);
  if (at < 0 || nodes.some((n) => n.input.includes(computed))) return false;
  const resize = nodes[at];
  const sizes = initializers.find((t) => t.name === resize.input[3] && t.data_type === ONNX_INT64);
  if (!sizes) return false;
  const [n, c, h, w] = Array.from(new BigInt64Array(sizes.raw_data.slice().buffer), Number);
  const input = emitter.intermediate('nhwc');
  const transpose: NodeProto = { name: `${resize.name}:nhwc`, op_type: 'Transpose', input: [resize.input[0]], output: [input], attribute: [attribute('perm', { ints: NCHW_TO_NHWC_PERM })] };
  const nhwcSizes = emitter.constant(`sizes_nhwc_${h}x${w}`, 'int64', [4], [n, h, w, c]);
  nodes.splice(at, 1, transpose, { ...resize, input: [input, resize.input[1], resize.input[2], nhwcSizes], output: [key] });
  return true;
}

/** A model file's message: the graph, its opset, and metadata_props from `metadata`. */
export function onnxModelOf(graph: GraphProto, metadata: Record<string, string> = {}, docString = ''): ModelProto {
  return {
    ir_version: ONNX_IR_VERSION,
    producer_name: 'deeplab-webgpu',
    producer_version: '',
    doc_string: docString,
    opset_import: [{ domain: '', version: ONNX_OPSET }],
    graph,
    metadata_props: Object.entries(metadata).map(([key, value]) => ({ key, value })),
  };
}
