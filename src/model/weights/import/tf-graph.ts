// A frozen TensorFlow GraphDef (`frozen_inference_graph.pb` of TF DeepLab's zoo): its Const
// nodes as tensors, and the batch-norm epsilons, which only the graph records (attr `epsilon` of
// each `<scope>/BatchNorm/FusedBatchNorm`). Freezing turned each variable into a Const of the
// variable's name, so the weights come out under their checkpoint names.
//
// A Const's role comes from what consumes it (through the `<name>/read` Identity freezing keeps):
// a weight operand of the network's ops (a convolution's filter, a batch norm's scale, offset,
// mean and variance, a bias) makes it a weight; anything else (the preprocessing's mean and
// scale, an activation's arithmetic, shapes and axes) is a constant of the graph, which the
// loader checks or sets aside (src/model/loading/tf-zoo-graph.ts).
//
// A Const's value is a TensorProto: the bytes in `tensor_content` (every weight), or typed
// repeated values for small constants, where fewer values than the shape holds mean the last
// one repeats. The shape is checked (non-negative integers) and its element count bounded before
// anything is built: by the bytes of `tensor_content`, or, for repeated values that broadcast, by
// the file's decode budget (one value per byte of the file), so a Const stating [2^31] with one
// float_val is refused, not allocated.
import { checkShape, shapeCount } from '../../../io/reader-rules.js';
import { ownValue } from '../../../util/own-key.js';
import { DecodeBudget, DTYPE_SIZE, type HostTensor, type TensorMap, decodeToF32, formatShape } from './tensor-map.js';
import { type AttrValueObject, GraphDefType, type GraphDefObject, type TensorProtoObject, TF_DTYPES, decodeMessage, tfDtypeName } from './tf-proto.js';

/** A node of the graph: its name, op, inputs (`name`, `name:1`, `^control`) and attrs. */
export interface GraphNode {
  name: string;
  op: string;
  input: string[];
  attr: Record<string, AttrValueObject>;
}

/** The operands (by input index) of TF's ops that are weights: filters, batch norms' parameters and statistics, biases. */
const WEIGHT_OPERANDS: Readonly<Record<string, readonly number[]>> = {
  Conv2D: [1],
  DepthwiseConv2dNative: [1],
  FusedBatchNorm: [1, 2, 3, 4],
  FusedBatchNormV2: [1, 2, 3, 4],
  FusedBatchNormV3: [1, 2, 3, 4],
  BiasAdd: [1],
  MatMul: [1],
};

export interface FrozenGraph {
  /** Numeric Const nodes by name, as f32 host tensors. */
  consts: TensorMap;
  /** The stored bytes of each numeric Const (little-endian, row-major), for checks. */
  bytes: Map<string, Uint8Array>;
  /** String Const nodes (assert messages) by name. */
  strings: Map<string, string[]>;
  /** Batch-norm epsilon by scope: `<scope>` of each `<scope>/BatchNorm/FusedBatchNorm*`. */
  bnEpsilon: Map<string, number>;
  /** Every node, in the graph's order. */
  nodes: GraphNode[];
  /**
   * The numeric Consts that are weights: taken by a network op as a weight operand, or taken by
   * nothing (a graph of the variables alone). The others are the graph's constants (`consumers`).
   */
  weights: Set<string>;
  /** The nodes that read a node's output, through Identity nodes (freezing's `<name>/read`), with the input index. */
  consumers(name: string): { node: GraphNode; index: number }[];
}

/** A node input's producer: `name:1` and `^name` are `name`. */
export const producerOf = (input: string): string => input.replace(/^\^/, '').replace(/:\d+$/, '');

/** Each node's readers (data inputs only), as the graph lists them. */
function readersOf(nodes: readonly GraphNode[]): Map<string, { node: GraphNode; index: number }[]> {
  const readers = new Map<string, { node: GraphNode; index: number }[]>();
  for (const node of nodes) {
    node.input.forEach((input, index) => {
      if (input.startsWith('^')) return;
      const from = producerOf(input);
      readers.set(from, [...(readers.get(from) ?? []), { node, index }]);
    });
  }
  return readers;
}

/** The element bytes of the typed repeated values, the last one repeated up to `n`. */
function typedValues(t: TensorProtoObject, dtype: string, n: number, what: string): Uint8Array {
  const fill = <T>(values: T[]): T[] => (values.length === 0 ? [] : Array.from({ length: n }, (_, i) => values[Math.min(i, values.length - 1)]));
  switch (dtype) {
    case 'f32':
      return new Uint8Array(Float32Array.from(fill(t.float_val)).buffer);
    case 'f64':
      return new Uint8Array(Float64Array.from(fill(t.double_val)).buffer);
    case 'i32':
      return new Uint8Array(Int32Array.from(fill(t.int_val)).buffer);
    case 'u8':
    case 'i8':
      return Uint8Array.from(fill(t.int_val), (v) => v & 0xff);
    case 'i64':
      return new Uint8Array(BigInt64Array.from(fill(t.int64_val), (v) => BigInt(v)).buffer);
    case 'bool':
      return Uint8Array.from(fill(t.bool_val), (v) => (v ? 1 : 0));
    case 'f16':
    case 'bf16':
      return new Uint8Array(Uint16Array.from(fill(t.half_val)).buffer);
  }
  throw new Error(`${what}: no values for ${dtype}`);
}

/** How many typed repeated values a TensorProto of `dtype` holds. */
function typedCount(t: TensorProtoObject, dtype: string): number {
  switch (dtype) {
    case 'f32':
      return t.float_val.length;
    case 'f64':
      return t.double_val.length;
    case 'i32':
    case 'u8':
    case 'i8':
      return t.int_val.length;
    case 'i64':
      return t.int64_val.length;
    case 'bool':
      return t.bool_val.length;
    default:
      return t.half_val.length;
  }
}

/** A TensorProto as its stored bytes and shape; `budget` bounds what repeated values broadcast to. */
function tensorBytes(t: TensorProtoObject, what: string, budget: DecodeBudget): { dtype: NonNullable<(typeof TF_DTYPES)[number]['dtype']>; shape: number[]; bytes: Uint8Array } {
  const dtype = TF_DTYPES[t.dtype]?.dtype;
  if (!dtype) throw new Error(`${what}: a ${tfDtypeName(t.dtype)} tensor, which is not read`);
  if (t.tensor_shape?.unknown_rank) throw new Error(`${what}: tensor_shape is of unknown rank`);
  const shape = checkShape((t.tensor_shape?.dim ?? []).map((d) => d.size), 'tensor_shape', what);
  const n = shapeCount(shape);
  const size = DTYPE_SIZE[dtype];
  if (t.tensor_content.length > 0) {
    if (t.tensor_content.length !== n * size) {
      throw new Error(`${what}: tensor_content holds ${t.tensor_content.length} bytes of ${tfDtypeName(t.dtype)}, tensor_shape ${formatShape(shape)} needs ${n * size}`);
    }
    return { dtype, shape, bytes: t.tensor_content };
  }
  const values = typedCount(t, dtype);
  const field = `${dtype === 'f32' ? 'float' : dtype === 'f64' ? 'double' : dtype === 'i64' ? 'int64' : dtype === 'bool' ? 'bool' : dtype === 'f16' || dtype === 'bf16' ? 'half' : 'int'}_val`;
  if (values > n) throw new Error(`${what}: ${values} values in ${field} for tensor_shape ${formatShape(shape)} (${n} elements)`);
  if (values === 0 && n > 0) throw new Error(`${what}: no values (neither tensor_content nor ${field}) for tensor_shape ${formatShape(shape)}`);
  // Fewer values broadcast the last one: what that makes must be within the file's budget.
  if (values < n) {
    try {
      budget.take(n, `${field} of ${values} values broadcast to tensor_shape ${formatShape(shape)}`);
    } catch (e) {
      throw new Error(`${what}: ${(e as Error).message}`);
    }
  }
  return { dtype, shape, bytes: typedValues(t, dtype, n, what) };
}

/** Reads a frozen GraphDef (`what` names the file in errors). */
export function readFrozenGraph(pb: Uint8Array, what: string): FrozenGraph {
  let graph: GraphDefObject;
  try {
    graph = decodeMessage<GraphDefObject>(GraphDefType, pb);
  } catch (e) {
    throw new Error(`${what}: not a TensorFlow GraphDef (${(e as Error).message})`);
  }
  if (graph.node.length === 0) throw new Error(`${what}: a GraphDef without nodes`);
  const consts: TensorMap = new Map();
  const bytes = new Map<string, Uint8Array>();
  const strings = new Map<string, string[]>();
  const bnEpsilon = new Map<string, number>();
  const utf8 = new TextDecoder();
  const budget = new DecodeBudget(pb.length);
  for (const node of graph.node) {
    if (node.op === 'Const') {
      const value = node.attr.value?.tensor;
      if (!value) throw new Error(`${what}: Const node '${node.name}' has no value`);
      if (value.dtype === 7) {
        strings.set(node.name, value.string_val.map((s) => utf8.decode(s)));
        continue;
      }
      const t = tensorBytes(value, `${what}: Const '${node.name}'`, budget);
      const tensor: HostTensor = { shape: t.shape, data: decodeToF32(t.bytes, 0, shapeCount(t.shape), t.dtype), sourceDType: t.dtype };
      consts.set(node.name, tensor);
      bytes.set(node.name, t.bytes);
    }
    const bn = /^(.*)\/BatchNorm\/FusedBatchNorm(V\d)?$/.exec(node.name);
    if (bn && node.op.startsWith('FusedBatchNorm') && node.attr.epsilon?.f !== undefined) bnEpsilon.set(bn[1], node.attr.epsilon.f);
  }
  const nodes: GraphNode[] = graph.node.map((n) => ({ name: n.name, op: n.op, input: n.input, attr: n.attr }));
  const readers = readersOf(nodes);
  // Through Identity nodes (each visited once: a cycle of them ends the walk).
  const consumers = (name: string): { node: GraphNode; index: number }[] => {
    const out: { node: GraphNode; index: number }[] = [];
    const seen = new Set<string>([name]);
    const walk = (from: string): void => {
      for (const r of readers.get(from) ?? []) {
        if (r.node.op !== 'Identity') out.push(r);
        else if (!seen.has(r.node.name)) {
          seen.add(r.node.name);
          walk(r.node.name);
        }
      }
    };
    walk(name);
    return out;
  };
  const weights = new Set<string>();
  for (const name of consts.keys()) {
    const by = consumers(name);
    if (by.length === 0 || by.some(({ node, index }) => ownValue(WEIGHT_OPERANDS, node.op)?.includes(index))) weights.add(name);
  }
  return { consts, bytes, strings, bnEpsilon, nodes, weights, consumers };
}
