// A canonical graph as an ONNX graph (opset 17): each node through its op's rule (OpDef.onnx),
// every rank-4 value (NHWC here) as NCHW, so the ONNX graph needs no Transpose: the input 'image'
// is [N,3,H,W] and 'logits' [N,classes,H,W]; a rank-4 weight read as an operand (a layer scale, a
// position bias) is written in that order too. Values of other ranks (attention's tokens, a
// training step's labels and loss) keep our layout (layout.ts).
//
// Where state comes from is the caller's: an inference graph holds it as initializers
// (lowerToOnnx); a training step reads it as graph inputs and writes what it updates as outputs
// (lower-training.ts). An op without a rule, or a graph that is not canonical (fused epilogues,
// f16, derived state), is an error naming the layer.
import { shapeString } from '../../gpu/tensor.js';
import type { Graph, Value } from '../ir.js';
import { opDef } from '../ops/registry.js';
import type { HostParams } from '../params.js';
import type { OnnxEmitter } from './emitter.js';
import { NCHW_TO_NHWC_PERM, NHWC_TO_NCHW_PERM, defaultLayout, permuteAxes, sameLayout, shapeIn, transposeBetween } from './layout.js';
import { resizedInNhwc } from './nhwc-resize.js';
import { attribute, bytesOf, valueInfo } from './nodes.js';
import { type GraphProto, type ModelProto, type NodeProto, ONNX_FLOAT, ONNX_INT64, type TensorProto, type ValueInfoProto } from './proto.js';

export { nchwShape, permuteAxes } from './layout.js';

/** The ONNX operator set the rules write for. */
export const ONNX_OPSET = 17;

/** ONNX IR version 8: the one opset 17 came with (ONNX 1.12). */
export const ONNX_IR_VERSION = 8;

/**
 * How the ONNX graph's maps (rank-4 inputs and outputs) are laid out: 'nchw' (ONNX's
 * convention, what `deeplab export` writes), or 'nhwc' as our graphs hold maps, the graph
 * transposing to NCHW inside (what the CPU device feeds and reads, with no copy of its own).
 */
export type OnnxLayout = 'nchw' | 'nhwc';

/** Where the lowering reads state from and what it does with state a node updates. */
export interface StateSource {
  /** The ONNX tensor of state `v` in layout `perm`. */
  read(v: Value, perm: readonly number[]): string;
  /** A node wrote state `v`: its new value is tensor `name`, in layout `perm`. */
  write(v: Value, name: string, perm: readonly number[]): void;
  /** The layout state `v` is held in (default: the default layout). */
  layoutOf?(v: Value): readonly number[];
  /** Whether state is read at run time (graph inputs), not held as initializers. */
  readonly atRunTime?: boolean;
  /** After the last node: what the source adds (the updated state as outputs). */
  finish?(): void;
}

/** What a state source may add to the graph: nodes, initializers, inputs and outputs. */
export interface LoweringParts {
  nodes: NodeProto[];
  initializers: TensorProto[];
  inputs: ValueInfoProto[];
  outputs: ValueInfoProto[];
  /** A fresh tensor or node name from `hint`. */
  unique(taken: 'tensor' | 'node', hint: string): string;
  emitter: OnnxEmitter;
}

/** Which ops have an ONNX rule, for the error naming one that has none. */
function exportableOps(graph: Graph): string {
  return [...new Set(graph.nodes.filter((n) => opDef(n.op).onnx).map((n) => n.op.type))].join(', ');
}

/** The inference form: state as initializers of the weights `params` (our layouts, by state name), permuted as each rule asks. */
function initializerState(params: HostParams, parts: LoweringParts): StateSource {
  const names = new Map<string, string>();
  return {
    read(v, perm) {
      const key = `${v.name}|${perm.join(',')}`;
      const known = names.get(key);
      if (known) return known;
      const t = params.get(v.name);
      if (!t) throw new Error(`no weights for ${v.name}${v.role === 'derived' ? ' (derived state: export the canonical graph, before compiling)' : ''}`);
      if (shapeString(t.shape) !== shapeString(v.shape)) throw new Error(`weights ${v.name} are ${shapeString(t.shape)}, the graph declares ${shapeString(v.shape)}`);
      const identity = perm.every((a, i) => a === i);
      const { dims, data } = identity ? { dims: [...t.shape], data: t.data } : permuteAxes(t.data, t.shape, perm);
      const tensorName = parts.unique('tensor', v.name);
      parts.initializers.push({ name: tensorName, dims, data_type: ONNX_FLOAT, raw_data: bytesOf(data) });
      names.set(key, tensorName);
      return tensorName;
    },
    write(v) {
      throw new Error(`updates ${v.name} in place: ONNX export writes inference graphs only`);
    },
  };
}

/**
 * The ONNX graph of a canonical graph with its weights (`params`: our layouts, by state name).
 * Every graph input and output must be an f32 map; inputs and outputs keep their names, in
 * `layout` (default NCHW).
 */
export function lowerToOnnx(graph: Graph, params: HostParams, name: string, layout: OnnxLayout = 'nchw'): GraphProto {
  for (const [what, values] of [['input', graph.inputs], ['output', [...graph.outputs.values()]]] as const) {
    for (const v of values) {
      if (v.shape.length !== 4) throw new Error(`${what} ${v.name} is ${shapeString(v.shape)}, not an NHWC map: ONNX export writes maps only`);
      if (v.dtype !== 'f32') throw new Error(`${what} ${v.name} is ${v.dtype}: ONNX export writes f32 graphs (export the canonical graph, not a half-precision one)`);
    }
  }
  return lowerGraph(graph, name, layout, (parts) => initializerState(params, parts));
}

/**
 * The walk both forms share: inputs declared (NHWC maps transposed to NCHW inside where
 * `layout` says), each node through its rule, outputs declared; `stateSource` says what state is.
 */
export function lowerGraph(graph: Graph, name: string, layout: OnnxLayout, stateSource: (parts: LoweringParts) => StateSource): GraphProto {
  const nodes: NodeProto[] = [];
  const initializers: TensorProto[] = [];
  const taken = { tensor: new Set<string>(), node: new Set<string>() };
  const unique = (kind: 'tensor' | 'node', hint: string): string => {
    let n = hint;
    for (let k = 2; taken[kind].has(n); k++) n = `${hint}_${k}`;
    taken[kind].add(n);
    return n;
  };
  /** Each computed value's tensor and the layout it was written in. */
  const held = new Map<number, { name: string; layout: readonly number[] }>();
  const transposed = new Map<string, string>();
  const constants = new Map<string, string>();
  const sharedTensors = new Map<string, string>();
  const writtenLayouts = new Map<string, readonly number[]>();
  /** The layer whose rule is running: names its ONNX nodes. */
  let layer = '';

  const checkType = (v: Value, what: string): void => {
    if (v.dtype === 'f16') throw new Error(`${what} ${v.name} is f16: ONNX export writes f32 graphs (export the canonical graph, not a half-precision one)`);
  };

  const emitter: OnnxEmitter = {
    tensor(v, perm = defaultLayout(v.shape.length)) {
      if (v.kind === 'state') return state.read(v, perm);
      const h = held.get(v.id);
      if (h === undefined) throw new Error(`${v.name} is read before it is computed`);
      if (sameLayout(h.layout, perm)) return h.name;
      const key = `${h.name}|${perm.join(',')}`;
      const known = transposed.get(key);
      if (known) return known;
      const t = unique('tensor', `${h.name}:t${perm.join('')}`);
      nodes.push({ name: unique('node', `${layer}:transpose`), op_type: 'Transpose', input: [h.name], output: [t], attribute: [attribute('perm', { ints: transposeBetween(h.layout, perm) })] });
      transposed.set(key, t);
      return t;
    },
    get stateIsInput() {
      return state.atRunTime ?? false;
    },
    layoutOf(v) {
      return (v.kind === 'state' ? state.layoutOf?.(v) : held.get(v.id)?.layout) ?? defaultLayout(v.shape.length);
    },
    written(tensorName, perm) {
      writtenLayouts.set(tensorName, perm);
    },
    constant(hint, dtype, dims, data) {
      const key = `${dtype}|${dims.join(',')}|${data.join(',')}`;
      const known = constants.get(key);
      if (known) return known;
      const tensorName = unique('tensor', hint);
      const raw = dtype === 'float' ? bytesOf(Float32Array.from(data)) : bytesOf(BigInt64Array.from(data, (x) => BigInt(x)));
      initializers.push({ name: tensorName, dims: [...dims], data_type: dtype === 'float' ? ONNX_FLOAT : ONNX_INT64, raw_data: raw });
      constants.set(key, tensorName);
      return tensorName;
    },
    intermediate(hint) {
      return unique('tensor', `${layer}:${hint}`);
    },
    shared(key, make) {
      const known = sharedTensors.get(key);
      if (known) return known;
      const t = make();
      sharedTensors.set(key, t);
      return t;
    },
    node(opType, inputs, outputs, attrs = {}) {
      nodes.push({ name: unique('node', layer), op_type: opType, input: [...inputs], output: [...outputs], attribute: Object.entries(attrs).map(([k, a]) => attribute(k, a)) });
    },
  };
  const parts: LoweringParts = { nodes, initializers, inputs: [], outputs: [], unique, emitter };
  const state = stateSource(parts);

  // Inputs and outputs keep their names; outputs are reserved first so no layer takes one. In
  // NHWC, a layer's NCHW output is transposed into the output's name at the end instead.
  const outputNames = new Map<number, string>();
  for (const [key, v] of graph.outputs) {
    checkType(v, 'output');
    // An input given back under its own name is that input (the update graph's nominal output):
    // the caller has it, and the ONNX graph leaves it out.
    if (v.kind === 'input' && v.name === key) continue;
    unique('tensor', key);
    if (!outputNames.has(v.id) && (layout === 'nchw' || v.shape.length !== 4)) outputNames.set(v.id, key);
  }
  layer = 'inputs';
  const inputs = graph.inputs.map((v) => {
    checkType(v, 'input');
    const tensorName = unique('tensor', v.name);
    const map = v.shape.length === 4;
    if (!map || layout === 'nchw') held.set(v.id, { name: tensorName, layout: defaultLayout(v.shape.length) });
    else {
      const nchw = emitter.intermediate(`${v.name}_nchw`);
      emitter.node('Transpose', [tensorName], [nchw], { perm: { ints: NHWC_TO_NCHW_PERM } });
      held.set(v.id, { name: nchw, layout: NHWC_TO_NCHW_PERM });
    }
    return valueInfo(tensorName, v, map && layout === 'nchw' ? shapeIn(v.shape, NHWC_TO_NCHW_PERM) : v.shape);
  });

  for (const node of graph.nodes) {
    layer = node.name;
    const def = opDef(node.op);
    if (!def.onnx) {
      throw new Error(`layer ${node.name}: op '${node.op.type}' has no ONNX mapping (the ops ONNX export writes, of those in this graph: ${exportableOps(graph) || 'none'})`);
    }
    const outs = node.outputs.map((v, i) => {
      checkType(v, `layer ${node.name}: output`);
      return (v.kind !== 'state' && outputNames.get(v.id)) || unique('tensor', node.outputs.length > 1 ? `${node.name}:${i}` : node.name);
    });
    try {
      def.onnx(node.op, outs, emitter);
      node.outputs.forEach((v, i) => {
        const written = writtenLayouts.get(outs[i]) ?? defaultLayout(v.shape.length);
        if (v.kind === 'state') state.write(v, outs[i], written);
        else held.set(v.id, { name: outs[i], layout: written });
      });
    } catch (e) {
      const message = (e as Error).message;
      throw new Error(message.startsWith(`layer ${node.name}`) ? message : `layer ${node.name}: ${message}`, { cause: e });
    }
  }
  layer = 'outputs';
  state.finish?.();

  // An output that is an input, or a second name for one value, is an Identity of it (in NHWC
  // every map output is a Transpose back, or a resize made in NHWC).
  const outputs: ValueInfoProto[] = [];
  const outputCount = new Map<string, number>();
  const computed = (v: Value): string => emitter.tensor(v);
  const given = [...graph.outputs].filter(([key, v]) => !(v.kind === 'input' && v.name === key));
  for (const [, v] of given) outputCount.set(computed(v), (outputCount.get(computed(v)) ?? 0) + 1);
  for (const [key, v] of given) {
    const t = computed(v);
    const map = v.shape.length === 4;
    if (map && layout === 'nhwc') {
      if (outputCount.get(t) !== 1 || !resizedInNhwc(nodes, initializers, emitter, t, key)) emitter.node('Transpose', [t], [key], { perm: { ints: NCHW_TO_NHWC_PERM } });
    } else if (t !== key) emitter.node('Identity', [t], [key]);
    outputs.push(valueInfo(key, v, map && layout === 'nchw' ? shapeIn(v.shape, NHWC_TO_NCHW_PERM) : v.shape));
  }
  // A constant a moved Resize no longer reads is left out.
  const read = new Set(nodes.flatMap((n) => n.input));
  return { name, node: nodes, initializer: initializers.filter((t) => read.has(t.name)), input: [...inputs, ...parts.inputs], output: [...outputs, ...parts.outputs] };
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
