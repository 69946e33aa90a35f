// A frozen TensorFlow GraphDef (`frozen_inference_graph.pb` of TF DeepLab's zoo): its Const
// nodes as tensors, and the batch-norm epsilons, which only the graph records (attr `epsilon` of
// each `<scope>/BatchNorm/FusedBatchNorm`). Freezing turned each variable into a Const of the
// variable's name, so the weights come out under their checkpoint names.
//
// A Const's value is a TensorProto: the bytes in `tensor_content` (every weight), or typed
// repeated values for small constants, where fewer values than the shape holds mean the last
// one repeats.
import { type HostTensor, type TensorMap, decodeToF32, formatShape, shapeNumel } from './tensor-map.js';
import { GraphDefType, type GraphDefObject, type TensorProtoObject, TF_DTYPES, decodeMessage, tfDtypeName } from './tf-proto.js';

export interface FrozenGraph {
  /** Numeric Const nodes by name, as f32 host tensors. */
  consts: TensorMap;
  /** The stored bytes of each numeric Const (little-endian, row-major), for checks. */
  bytes: Map<string, Uint8Array>;
  /** String Const nodes (assert messages) by name. */
  strings: Map<string, string[]>;
  /** Batch-norm epsilon by scope: `<scope>` of each `<scope>/BatchNorm/FusedBatchNorm*`. */
  bnEpsilon: Map<string, number>;
  /** Every node's name and op, in the graph's order. */
  nodes: { name: string; op: string }[];
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

/** A TensorProto as its stored bytes and shape. */
function tensorBytes(t: TensorProtoObject, what: string): { dtype: NonNullable<(typeof TF_DTYPES)[number]['dtype']>; shape: number[]; bytes: Uint8Array } {
  const dtype = TF_DTYPES[t.dtype]?.dtype;
  if (!dtype) throw new Error(`${what}: a ${tfDtypeName(t.dtype)} tensor, which is not read`);
  const shape = (t.tensor_shape?.dim ?? []).map((d) => d.size);
  const n = shapeNumel(shape);
  const bytes = t.tensor_content.length > 0 ? t.tensor_content : typedValues(t, dtype, n, what);
  const size = { f32: 4, f64: 8, i32: 4, u8: 1, i8: 1, i64: 8, bool: 1, f16: 2, bf16: 2 }[dtype];
  if (bytes.length !== n * size) throw new Error(`${what}: ${bytes.length} bytes of ${tfDtypeName(t.dtype)} for shape ${formatShape(shape)} (${n * size} expected)`);
  return { dtype, shape, bytes };
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
  for (const node of graph.node) {
    if (node.op === 'Const') {
      const value = node.attr.value?.tensor;
      if (!value) throw new Error(`${what}: Const node '${node.name}' has no value`);
      if (value.dtype === 7) {
        strings.set(node.name, value.string_val.map((s) => utf8.decode(s)));
        continue;
      }
      const t = tensorBytes(value, `${what}: Const '${node.name}'`);
      const tensor: HostTensor = { shape: t.shape, data: decodeToF32(t.bytes, 0, shapeNumel(t.shape), t.dtype), sourceDType: t.dtype };
      consts.set(node.name, tensor);
      bytes.set(node.name, t.bytes);
    }
    const bn = /^(.*)\/BatchNorm\/FusedBatchNorm(V\d)?$/.exec(node.name);
    if (bn && node.op.startsWith('FusedBatchNorm') && node.attr.epsilon?.f !== undefined) bnEpsilon.set(bn[1], node.attr.epsilon.f);
  }
  return { consts, bytes, strings, bnEpsilon, nodes: graph.node.map((n) => ({ name: n.name, op: n.op })) };
}
