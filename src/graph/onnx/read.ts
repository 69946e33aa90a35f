// Reads an ONNX file (one ModelProto) into an OnnxModel: protobufjs decodes the message through
// proto.ts's descriptor (a well-kept decoder of the wire format, already the one our TF readers
// and our ONNX writer use), and everything it gives is checked here against limits.ts's bounds:
// counts, ranks, names, each tensor's values against its dims. What we do not run is refused by
// name: sparse initializers, model-local functions, training info, another domain's operators
// are refused where the importer meets them (naming the node).
import { checkFinite } from '../../io/reader-rules.js';
import { onnxModelType } from './proto.js';
import { type ExternalData, type TensorMessage, onnxDType, readTensor } from './read-tensor.js';
import { MAX_ATTR_VALUES, MAX_GRAPH_VALUES, MAX_INITIALIZERS, MAX_NODES, MAX_NODE_VALUES, MAX_OPSET, ValueBudget, checkedCount, checkedName } from './limits.js';
import type { OnnxAttr, OnnxDType, OnnxGraph, OnnxModel, OnnxNode, OnnxValueInfo } from './model.js';

export type { ExternalData } from './read-tensor.js';

interface AttributeMessage {
  name?: string;
  type?: number;
  f?: number;
  i?: number;
  s?: Uint8Array;
  t?: TensorMessage;
  g?: Uint8Array;
  floats?: number[];
  ints?: number[];
  strings?: Uint8Array[];
  tensors?: TensorMessage[];
  graphs?: Uint8Array[];
  ref_attr_name?: string;
  sparse_tensor?: Uint8Array;
}

interface NodeMessage {
  name?: string;
  op_type?: string;
  domain?: string;
  input?: string[];
  output?: string[];
  attribute?: AttributeMessage[];
}

interface ValueInfoMessage {
  name?: string;
  type?: { tensor_type?: { elem_type?: number; shape?: { dim?: { dim_value?: number; dim_param?: string }[] } } };
}

interface GraphMessage {
  name?: string;
  node?: NodeMessage[];
  initializer?: TensorMessage[];
  sparse_initializer?: Uint8Array[];
  input?: ValueInfoMessage[];
  output?: ValueInfoMessage[];
}

interface ModelMessage {
  ir_version?: number;
  producer_name?: string;
  producer_version?: string;
  graph?: GraphMessage;
  opset_import?: { domain?: string; version?: number }[];
  metadata_props?: { key?: string; value?: string }[];
  training_info?: Uint8Array[];
  functions?: Uint8Array[];
}

export interface ReadOnnxOptions {
  /** Reads a tensor's external data file by its location (beside the model); without it, such a tensor is refused. */
  externalData?: ExternalData;
}

/** The external data reader, each file read once, its bytes added to the budget the first time. */
function externalFiles(read: ExternalData | undefined, budget: ValueBudget): ExternalData | undefined {
  if (!read) return undefined;
  const files = new Map<string, Uint8Array>();
  return (location) => {
    let bytes = files.get(location);
    if (!bytes) {
      bytes = read(location);
      files.set(location, bytes);
      budget.grant(bytes.length);
    }
    return bytes;
  };
}

/** The decoded message; any decoding failure is the file's, named as such. */
function decodeModelMessage(bytes: Uint8Array, what: string): ModelMessage {
  if (bytes.length === 0) throw new Error(`${what}: empty file, not an ONNX model`);
  try {
    return onnxModelType.toObject(onnxModelType.decode(bytes), { longs: Number, arrays: true }) as ModelMessage;
  } catch (e) {
    // protobufjs' own messages name offsets and wire types; engine errors (a stack overflow) name nothing.
    const detail = e instanceof RangeError || e instanceof TypeError ? 'damaged or truncated protobuf' : (e as Error).message.replace(/undefined|NaN/g, '?').slice(0, 200);
    throw new Error(`${what}: not a readable ONNX model (${detail})`);
  }
}

const ATTR_KINDS: Readonly<Record<number, OnnxAttr['kind'] | 'sparse' | 'type'>> = {
  1: 'float',
  2: 'int',
  3: 'string',
  4: 'tensor',
  5: 'graph',
  6: 'floats',
  7: 'ints',
  8: 'strings',
  9: 'graph',
  10: 'graph',
  11: 'sparse',
  12: 'sparse',
  13: 'type',
  14: 'type',
};

/**
 * The float types whose initializers are weights, held finite as every reader's weights are. No
 * real file the suite reads (test/fixtures' and the shared folder's exports) holds a non-finite
 * initializer; a mask of -inf, where an exporter writes one, is a Constant node's, not checked.
 */
const FLOAT_DTYPES: readonly OnnxDType[] = ['float', 'float16', 'bfloat16', 'double'];

const text = (b: Uint8Array | undefined): string => new TextDecoder().decode(b ?? new Uint8Array(0));

function readAttr(a: AttributeMessage, node: string, what: string, budget: ValueBudget): OnnxAttr {
  const name = checkedName(a.name ?? '', `node '${node}' attribute name`, what);
  const field = `node '${node}' attribute '${name}'`;
  if (a.ref_attr_name) throw new Error(`${what}: ${field} refers to a function's attribute, which is not read`);
  const kind = ATTR_KINDS[a.type ?? 0];
  const list = (values: unknown[] | undefined): void => {
    checkedCount(values?.length ?? 0, MAX_ATTR_VALUES, `${field} values`, what);
  };
  switch (kind) {
    case 'float':
      return { kind, value: a.f ?? 0 };
    case 'int':
      return { kind, value: a.i ?? 0 };
    case 'string':
      return { kind, value: checkedName(text(a.s), field, what) };
    case 'floats':
      list(a.floats);
      return { kind, value: [...(a.floats ?? [])] };
    case 'ints':
      list(a.ints);
      return { kind, value: [...(a.ints ?? [])] };
    case 'strings':
      list(a.strings);
      return { kind, value: (a.strings ?? []).map((s) => checkedName(text(s), field, what)) };
    case 'tensor':
      if (!a.t) throw new Error(`${what}: ${field} is a tensor attribute without its tensor`);
      return { kind, value: readTensor(a.t, `${field} tensor`, what, budget) };
    case 'graph':
      return { kind };
    default:
      throw new Error(`${what}: ${field} is of ${kind ? `a ${kind === 'sparse' ? 'sparse tensor' : 'type proto'} kind` : `attribute type ${a.type ?? 0}`}, which is not read`);
  }
}

function readNode(n: NodeMessage, index: number, what: string, budget: ValueBudget): OnnxNode {
  const opType = checkedName(n.op_type ?? '', `node ${index} op_type`, what);
  const name = checkedName(n.name ?? '', `node ${index} name`, what) || `${opType || 'node'} #${index}`;
  checkedCount(n.input?.length ?? 0, MAX_NODE_VALUES, `node '${name}' inputs`, what);
  checkedCount(n.output?.length ?? 0, MAX_NODE_VALUES, `node '${name}' outputs`, what);
  checkedCount(n.attribute?.length ?? 0, MAX_NODE_VALUES, `node '${name}' attributes`, what);
  if (!opType) throw new Error(`${what}: node '${name}' has no op_type`);
  const attrs = new Map<string, OnnxAttr>();
  for (const a of n.attribute ?? []) {
    const attr = readAttr(a, name, what, budget);
    attrs.set(a.name ?? '', attr);
  }
  const names = (list: string[] | undefined, field: string) => (list ?? []).map((s) => checkedName(s, `node '${name}' ${field}`, what));
  return { name, opType, domain: checkedName(n.domain ?? '', `node '${name}' domain`, what), inputs: names(n.input, 'input'), outputs: names(n.output, 'output'), attrs };
}

function readValueInfo(v: ValueInfoMessage, field: string, what: string): OnnxValueInfo {
  const name = checkedName(v.name ?? '', `${field} name`, what);
  const tensorType = v.type?.tensor_type;
  if (!tensorType) return { name, dtype: null, dims: null };
  const dim = tensorType.shape?.dim;
  if (dim) checkedCount(dim.length, 8, `${field} '${name}' rank`, what);
  return {
    name,
    dtype: onnxDType(tensorType.elem_type ?? 0),
    dims: dim ? dim.map((d) => (d.dim_param ? checkedName(d.dim_param, `${field} '${name}' dimension`, what) : d.dim_value !== undefined && Number.isSafeInteger(d.dim_value) && d.dim_value > 0 ? d.dim_value : null)) : null,
  };
}

function readGraph(g: GraphMessage, what: string, budget: ValueBudget, external: ExternalData | undefined): OnnxGraph {
  checkedCount(g.node?.length ?? 0, MAX_NODES, 'graph nodes', what);
  checkedCount(g.initializer?.length ?? 0, MAX_INITIALIZERS, 'graph initializers', what);
  checkedCount(g.input?.length ?? 0, MAX_GRAPH_VALUES, 'graph inputs', what);
  checkedCount(g.output?.length ?? 0, MAX_GRAPH_VALUES, 'graph outputs', what);
  if ((g.sparse_initializer?.length ?? 0) > 0) throw new Error(`${what}: the graph has sparse initializers, which are not read`);
  const initializers = new Map<string, ReturnType<typeof readTensor>>();
  for (const [i, t] of (g.initializer ?? []).entries()) {
    const name = checkedName(t.name ?? '', `initializer ${i} name`, what);
    if (!name) throw new Error(`${what}: initializer ${i} has no name`);
    if (initializers.has(name)) throw new Error(`${what}: two initializers are named '${name}'`);
    const tensor = readTensor(t, 'initializer', what, budget, external);
    if (FLOAT_DTYPES.includes(tensor.dtype)) checkFinite(name, tensor.data, what);
    initializers.set(name, tensor);
  }
  const nodes = (g.node ?? []).map((n, i) => readNode(n, i, what, budget));
  const declared = (g.input ?? []).map((v, i) => readValueInfo(v, `graph input ${i}`, what));
  const inputs = declared.filter((v) => !initializers.has(v.name));
  const outputs = (g.output ?? []).map((v, i) => readValueInfo(v, `graph output ${i}`, what));
  if (outputs.length === 0) throw new Error(`${what}: the graph has no outputs`);
  // Every graph input and output names a value, and an output one the graph has.
  declared.forEach((v, i) => {
    if (!v.name) throw new Error(`${what}: graph input ${i} names no value (an empty name)`);
  });
  const made = new Set([...initializers.keys(), ...declared.map((v) => v.name), ...nodes.flatMap((n) => n.outputs)]);
  outputs.forEach((v, i) => {
    if (!v.name) throw new Error(`${what}: graph output ${i} names no value (an empty name)`);
    if (!made.has(v.name)) throw new Error(`${what}: graph output ${i} '${v.name}' is no value of the graph (no node, initializer or input makes it)`);
  });
  return { name: checkedName(g.name ?? '', 'graph name', what), nodes, initializers, inputs, outputs };
}

/** An ONNX file's model, every part checked; `what` names the file in errors. */
export function readOnnx(bytes: Uint8Array, what: string, opts: ReadOnnxOptions = {}): OnnxModel {
  const m = decodeModelMessage(bytes, what);
  if (!m.graph) throw new Error(`${what}: no graph: not an ONNX model`);
  if ((m.functions?.length ?? 0) > 0) throw new Error(`${what}: the model defines its own functions, which are not read`);
  if ((m.training_info?.length ?? 0) > 0) throw new Error(`${what}: the model carries training info (an onnxruntime-training artifact), which is not read`);
  checkedCount(m.opset_import?.length ?? 0, 64, 'opset imports', what);
  const defaultSet = (m.opset_import ?? []).find((o) => (o.domain ?? '') === '' || o.domain === 'ai.onnx');
  const opset = defaultSet?.version ?? 0;
  if (!Number.isInteger(opset) || opset < 1 || opset > MAX_OPSET) {
    throw new Error(`${what}: ${defaultSet ? `default operator set version ${opset} is not one we know (1..${MAX_OPSET})` : 'no operator set for the default domain: not an ONNX model'}`);
  }
  checkedCount(m.metadata_props?.length ?? 0, MAX_GRAPH_VALUES, 'metadata entries', what);
  const metadata = new Map((m.metadata_props ?? []).map((p, i) => [checkedName(p.key ?? '', `metadata key ${i}`, what), typeof p.value === 'string' ? p.value : '']));
  const budget = new ValueBudget(bytes.length, what);
  return {
    irVersion: m.ir_version ?? 0,
    opset,
    producer: checkedName(m.producer_name ?? '', 'producer_name', what),
    producerVersion: checkedName(m.producer_version ?? '', 'producer_version', what),
    graph: readGraph(m.graph, what, budget, externalFiles(opts.externalData, budget)),
    metadata,
  };
}

/** Whether bytes look like an ONNX file: a ModelProto starts with ir_version (field 1, a small varint), then another of its fields. */
export function looksLikeOnnx(bytes: Uint8Array): boolean {
  if (bytes.length < 4 || bytes[0] !== 0x08 || bytes[1] < 1 || bytes[1] > 20) return false;
  // producer_name .. graph, opset_import: length-delimited fields 2..8.
  return [0x12, 0x1a, 0x22, 0x28, 0x32, 0x3a, 0x42].includes(bytes[2]);
}
