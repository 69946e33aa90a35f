// An OnnxModel written back as an ONNX file: the same nodes (names, attributes, order), opset,
// inputs, outputs and metadata, with initializers replaced or left out as asked. A fine-tuned
// imported model is exported this way (its trained weights in place of the file's), and a
// checkpoint keeps its graph this way (without the weights it stores itself).
import type { OnnxAttr, OnnxDType, OnnxModel, OnnxTensor, OnnxValueInfo } from './model.js';
import { encodeModel } from './proto.js';

const DTYPE_CODES: Readonly<Record<OnnxDType, number>> = {
  float: 1,
  uint8: 2,
  int8: 3,
  uint16: 4,
  int16: 5,
  int32: 6,
  int64: 7,
  bool: 9,
  float16: 10,
  double: 11,
  uint32: 12,
  uint64: 13,
  bfloat16: 16,
};

/** A tensor as TensorProto: floats as float32 raw data (float16 and bfloat16 widened), the rest in the typed field its type uses. */
function tensorProto(t: OnnxTensor): Record<string, unknown> {
  const base = { name: t.name, dims: [...t.dims] };
  if (t.dtype === 'float' || t.dtype === 'float16' || t.dtype === 'bfloat16') {
    const data = Float32Array.from(t.data);
    return { ...base, data_type: 1, raw_data: new Uint8Array(data.buffer) };
  }
  if (t.dtype === 'double') return { ...base, data_type: 11, double_data: Array.from(t.data) };
  if (t.dtype === 'int64') return { ...base, data_type: 7, int64_data: Array.from(t.data) };
  if (t.dtype === 'uint32' || t.dtype === 'uint64') return { ...base, data_type: DTYPE_CODES[t.dtype], uint64_data: Array.from(t.data) };
  return { ...base, data_type: DTYPE_CODES[t.dtype], int32_data: Array.from(t.data) };
}

function attrProto(name: string, a: OnnxAttr): Record<string, unknown> {
  const bytes = (s: string) => new TextEncoder().encode(s);
  switch (a.kind) {
    case 'float':
      return { name, type: 1, f: a.value };
    case 'int':
      return { name, type: 2, i: a.value };
    case 'string':
      return { name, type: 3, s: bytes(a.value) };
    case 'tensor':
      return { name, type: 4, t: tensorProto(a.value) };
    case 'floats':
      return { name, type: 6, floats: a.value };
    case 'ints':
      return { name, type: 7, ints: a.value };
    case 'strings':
      return { name, type: 8, strings: a.value.map(bytes) };
    case 'graph':
      throw new Error(`attribute ${name} is a sub-graph, which is not written`);
  }
}

function valueInfo(v: OnnxValueInfo, dtype?: OnnxDType): Record<string, unknown> {
  const elem = v.dtype ?? dtype;
  return {
    name: v.name,
    ...(elem
      ? { type: { tensor_type: { elem_type: DTYPE_CODES[elem], ...(v.dims ? { shape: { dim: v.dims.map((d) => (typeof d === 'number' ? { dim_value: d } : d === null ? {} : { dim_param: d })) } } : {}) } } }
      : {}),
  };
}

export interface WriteOnnxOptions {
  /** Initializers by name to write instead of the file's (trained weights; another shape for a new class set). */
  replace?: ReadonlyMap<string, OnnxTensor>;
  /** Initializers to leave out (those a checkpoint stores itself). */
  omit?: ReadonlySet<string>;
  /** Inputs' declared dims to write instead (a channel count the file left symbolic). */
  inputs?: OnnxValueInfo[];
  /** Outputs' declared dims to write instead (a new class count). */
  outputs?: OnnxValueInfo[];
  /** Metadata to write instead of the file's. */
  metadata?: ReadonlyMap<string, string>;
}

/** The model's file bytes. */
export function writeOnnx(model: OnnxModel, o: WriteOnnxOptions = {}): Uint8Array {
  return encodeModel(onnxMessage(model, o) as never);
}

/** The model as the plain object protobufjs encodes (onnx.proto's field names). */
export function onnxMessage(model: OnnxModel, o: WriteOnnxOptions = {}): Record<string, unknown> & { graph: { node: Record<string, unknown>[]; initializer: Record<string, unknown>[] } } {
  const g = model.graph;
  const initializers = [...g.initializers.values()].filter((t) => !o.omit?.has(t.name)).map((t) => tensorProto(o.replace?.get(t.name) ?? t));
  const message = {
    ir_version: model.irVersion,
    producer_name: model.producer,
    producer_version: model.producerVersion,
    opset_import: [{ domain: '', version: model.opset }],
    metadata_props: [...(o.metadata ?? model.metadata)].map(([key, value]) => ({ key, value })),
    graph: {
      name: g.name,
      node: g.nodes.map((n) => ({ name: n.name, op_type: n.opType, domain: n.domain, input: n.inputs, output: n.outputs, attribute: [...n.attrs].map(([k, a]) => attrProto(k, a)) })),
      initializer: initializers,
      input: (o.inputs ?? g.inputs).map((v) => valueInfo(v)),
      output: (o.outputs ?? g.outputs).map((v) => valueInfo(v)),
    },
  };
  return message;
}
