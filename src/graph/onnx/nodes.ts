// The small pieces of an ONNX graph the lowering writes: raw tensor bytes, attributes, and the
// declaration of a graph input or output.
import type { Value } from '../value.js';
import type { OnnxAttr } from './emitter.js';
import { ATTR_FLOAT, ATTR_INT, ATTR_INTS, ATTR_STRING, type AttributeProto, ONNX_FLOAT, ONNX_UINT32, type ValueInfoProto } from './proto.js';

export function bytesOf(a: Float32Array | BigInt64Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

export function attribute(name: string, a: OnnxAttr): AttributeProto {
  if ('int' in a) return { name, type: ATTR_INT, i: a.int };
  if ('ints' in a) return { name, type: ATTR_INTS, ints: [...a.ints] };
  if ('float' in a) return { name, type: ATTR_FLOAT, f: a.float };
  return { name, type: ATTR_STRING, s: new TextEncoder().encode(a.string) };
}

/** A graph input's or output's declaration: its element type and its dims in ONNX's order. */
export function valueInfo(name: string, v: Pick<Value, 'dtype'>, dims: readonly number[]): ValueInfoProto {
  return { name, type: { tensor_type: { elem_type: v.dtype === 'u32' ? ONNX_UINT32 : ONNX_FLOAT, shape: { dim: dims.map((d) => ({ dim_value: d })) } } } };
}
