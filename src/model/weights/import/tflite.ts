// TFLite model reader: the parts of tensorflow/lite/schema/schema.fbs a conv net needs (tensors,
// their quantization, buffers, operators and their builtin options), read with the bounds-checked
// flatbuffer.ts. Constant tensors of the numeric types we decode get their data (as f32 values,
// their stored type in `type`; a quantized one's real values, so int8 and float16 files give
// float weights); other types keep only `type`.
import { checkTensorBytes } from '../../../io/reader-rules.js';
import { FlatBuffer } from './flatbuffer.js';
import { DecodeBudget, type SourceDType, type TensorMap, DTYPE_SIZE, decodeToF32, formatShape } from './tensor-map.js';
import { readFileBytes } from '../../../io/file-bytes.js';
import { ACTIVATIONS, BUILTIN_OPERATORS, BUILTIN_OPTIONS, OPTION_FIELDS, PADDING, TENSOR_TYPES } from '../../../io/tflite-schema.js';

export interface TfliteTensor {
  name: string;
  shape: number[];
  type: string;
  buffer: number;
  /** A constant's values as f32 (of any type in TFLITE_DTYPES; a quantized one's real values, (q - zero point) x scale). */
  data?: Float32Array;
  /** Quantization parameters: one scale and zero point, or one per index of `axis`. */
  quantization?: { scale: number[]; zeroPoint: number[]; axis: number };
}

/** The TFLite tensor types whose constants are decoded, as our stored dtypes. */
const TFLITE_DTYPES: Readonly<Record<string, SourceDType>> = {
  FLOAT32: 'f32',
  FLOAT16: 'f16',
  BFLOAT16: 'bf16',
  FLOAT64: 'f64',
  INT32: 'i32',
  INT64: 'i64',
  UINT8: 'u8',
  INT8: 'i8',
  BOOL: 'bool',
};

export interface TfliteOperator {
  /** Builtin operator name, e.g. 'CONV_2D' ('CUSTOM' with options.customCode for custom ops). */
  opcode: string;
  /** Tensor indices; -1 marks an omitted optional input. */
  inputs: number[];
  outputs: number[];
  /** Decoded builtin options, camelCase field names; enums as their names ('SAME', 'RELU6'). */
  options: Record<string, number | boolean | string>;
}

export interface TfliteModel {
  tensors: TfliteTensor[];
  operators: TfliteOperator[];
  inputs: number[];
  outputs: number[];
  description?: string;
}

function enumName(names: readonly string[], v: number, what: string): string {
  return names[v] ?? `${what}_${v}`;
}

function readOptions(fb: FlatBuffer, op: number): Record<string, number | boolean | string> {
  const options: Record<string, number | boolean | string> = {};
  const type = fb.scalar(op, 3, 'u8', 0);
  const table = fb.table(op, 4);
  if (type === 0 || table === null) return options;
  const fields = OPTION_FIELDS[BUILTIN_OPTIONS[type - 1] ?? ''];
  if (!fields) return options; // an options table this reader does not decode
  fields.forEach((spec, slot) => {
    if (!spec) return;
    const [name, kind, def] = spec;
    switch (kind) {
      case 'int':
        options[name] = fb.scalar(table, slot, 'i32', (def as number) ?? 0);
        break;
      case 'bool':
        options[name] = fb.scalar(table, slot, 'u8', def === true ? 1 : 0) !== 0;
        break;
      case 'float':
        options[name] = fb.scalar(table, slot, 'f32', 0);
        break;
      case 'padding':
        options[name] = enumName(PADDING, fb.scalar(table, slot, 'i8', 0), 'PADDING');
        break;
      case 'activation':
        options[name] = enumName(ACTIVATIONS, fb.scalar(table, slot, 'i8', 0), 'ACTIVATION');
        break;
      case 'tensorType':
        options[name] = enumName(TENSOR_TYPES, fb.scalar(table, slot, 'i8', 0), 'TYPE');
        break;
      case 'ints':
        options[name] = fb.i32s(table, slot).join(',');
        break;
    }
  });
  return options;
}

// ---------------------------------------------------------------- model

function describeIdentifier(b: Uint8Array): string {
  return [...b].map((c) => (c >= 0x20 && c < 0x7f ? String.fromCharCode(c) : `\\x${c.toString(16).padStart(2, '0')}`)).join('');
}

/**
 * Reads the main subgraph of a .tflite model; FLOAT32 constant tensors carry their values.
 * `source` names the file in errors (default: the path, or 'tflite' for bytes).
 */
export function readTflite(bufOrPath: Uint8Array | string, source?: string): TfliteModel {
  const what = source ?? (typeof bufOrPath === 'string' ? bufOrPath : 'tflite');
  const buf = typeof bufOrPath === 'string' ? readFileBytes(bufOrPath) : bufOrPath;
  if (buf.length < 8) throw new Error(`${what}: truncated TFLite file (${buf.length} bytes)`);
  const ident = new TextDecoder('latin1').decode(buf.subarray(4, 8));
  if (ident !== 'TFL3') {
    throw new Error(`${what}: not a TFLite flatbuffer (file identifier '${describeIdentifier(buf.subarray(4, 8))}')`);
  }
  const fb = new FlatBuffer(buf, what);
  const model = fb.deref(0);

  const opNames = fb.tables(model, 1).map((oc) => {
    const code = Math.max(fb.scalar(oc, 0, 'i8', 0), fb.scalar(oc, 3, 'i32', 0));
    return { name: enumName(BUILTIN_OPERATORS, code, 'BUILTIN'), custom: fb.string(oc, 1) };
  });
  const subgraphs = fb.tables(model, 2);
  if (subgraphs.length === 0) throw new Error(`${what}: the model has no subgraphs`);
  const sg = subgraphs[0];
  const buffers = fb.tables(model, 4);
  const budget = new DecodeBudget(buf.length, what);

  const tensors: TfliteTensor[] = fb.tables(sg, 0).map((t, i) => {
    const shape = fb.i32s(t, 0);
    const type = enumName(TENSOR_TYPES, fb.scalar(t, 1, 'i8', 0), 'TYPE');
    const buffer = fb.scalar(t, 2, 'u32', 0);
    const name = fb.string(t, 3) ?? `tensor_${i}`;
    const tensor: TfliteTensor = { name, shape, type, buffer };
    const quantization = readQuantization(fb, t, name, what);
    if (quantization) tensor.quantization = quantization;
    if (buffer >= buffers.length) {
      if (buffer !== 0) throw new Error(`${what}: tensor ${name} refers to buffer ${buffer} of ${buffers.length}`);
      return tensor;
    }
    const bytes = bufferBytes(fb, buffers[buffer], `${what}: buffer ${buffer} of tensor ${name}`);
    const dtype = Object.prototype.hasOwnProperty.call(TFLITE_DTYPES, type) ? TFLITE_DTYPES[type] : undefined;
    if (dtype && bytes.length > 0) {
      if (shape.some((d) => d < 0)) throw new Error(`${what}: constant tensor ${name} has a dynamic shape ${formatShape(shape)}`);
      const { count, bytes: need } = checkTensorBytes(shape, DTYPE_SIZE[dtype], Number.MAX_SAFE_INTEGER, `tensor ${name}`, what);
      if (bytes.length !== need) {
        throw new Error(`${what}: tensor ${name} shape ${formatShape(shape)} needs ${need} bytes, its buffer has ${bytes.length}`);
      }
      budget.take(count, `tensor ${name}`);
      tensor.data = decodeToF32(bytes, 0, count, dtype);
      if (quantization) dequantize(tensor.data, shape, quantization);
    }
    return tensor;
  });

  const checkIndices = (ids: number[], what2: string): number[] => {
    for (const id of ids) {
      if (id < -1 || id >= tensors.length) throw new Error(`${what}: ${what2} refers to tensor ${id} of ${tensors.length}`);
    }
    return ids;
  };

  const operators: TfliteOperator[] = fb.tables(sg, 3).map((op, k) => {
    const idx = fb.scalar(op, 0, 'u32', 0);
    const code = opNames[idx];
    if (!code) throw new Error(`${what}: operator ${k} has opcode index ${idx} of ${opNames.length}`);
    const options = readOptions(fb, op);
    if (code.name === 'CUSTOM' && code.custom !== undefined) options.customCode = code.custom;
    return {
      opcode: code.name,
      inputs: checkIndices(fb.i32s(op, 1), `operator ${k} (${code.name}) input`),
      outputs: checkIndices(fb.i32s(op, 2), `operator ${k} (${code.name}) output`),
      options,
    };
  });

  return {
    tensors,
    operators,
    inputs: checkIndices(fb.i32s(sg, 1), 'subgraph input'),
    outputs: checkIndices(fb.i32s(sg, 2), 'subgraph output'),
    description: fb.string(model, 3),
  };
}

/** A tensor's QuantizationParameters (schema.fbs: scale 2, zero_point 3, quantized_dimension 6), or undefined where it has no scales. */
function readQuantization(fb: FlatBuffer, t: number, name: string, what: string): TfliteTensor['quantization'] {
  const q = fb.table(t, 4);
  if (q === null) return undefined;
  const scales = fb.vector(q, 2, 4);
  if (!scales || scales[1] === 0) return undefined;
  const points = fb.vector(q, 3, 8);
  if (!points || points[1] !== scales[1]) throw new Error(`${what}: tensor ${name} has ${scales[1]} quantization scales and ${points?.[1] ?? 0} zero points`);
  const scale = Array.from({ length: scales[1] }, (_, i) => fb.f32(scales[0] + 4 * i));
  const zeroPoint = Array.from({ length: points[1] }, (_, i) => fb.i64(points[0] + 8 * i));
  return { scale, zeroPoint, axis: fb.scalar(q, 6, 'i32', 0) };
}

/** A quantized constant's integers, in place, as the real values they stand for. */
function dequantize(data: Float32Array, shape: readonly number[], q: NonNullable<TfliteTensor['quantization']>): void {
  const channels = q.scale.length;
  if (channels > 1 && shape[q.axis] !== channels) throw new Error(`tflite: ${channels} quantization scales along axis ${q.axis} of a tensor of shape [${shape.join(',')}]`);
  const inner = channels > 1 ? shape.slice(q.axis + 1).reduce((a, b) => a * b, 1) : data.length;
  for (let i = 0; i < data.length; i++) {
    const c = channels > 1 ? Math.floor(i / inner) % channels : 0;
    data[i] = (data[i] - q.zeroPoint[c]) * q.scale[c];
  }
}

/** A Buffer's bytes: inline `data`, or (for >2 GB models) `offset`/`size` from the file start. */
function bufferBytes(fb: FlatBuffer, b: number, what: string): Uint8Array {
  const inline = fb.bytes(b, 0);
  if (inline && inline.length > 0) return inline;
  const offset = fb.scalar(b, 1, 'u64', 0);
  const size = fb.scalar(b, 2, 'u64', 0);
  if (offset > 1) {
    if (offset + size > fb.buf.length) throw new Error(`${what}: data range [${offset}, ${offset + size}) is outside the file`);
    return fb.buf.subarray(offset, offset + size);
  }
  return new Uint8Array(0);
}

/**
 * The model's constant tensors (weights, biases, and integer constants such as a resize's size)
 * by tensor name, each with its stored dtype.
 */
export function tfliteTensorMap(m: TfliteModel): TensorMap {
  const map: TensorMap = new Map();
  // A constant a DEQUANTIZE widens (float16 weights, as TF's converter writes them) is known by the name of what it widens to.
  const widened = new Map<number, TfliteTensor>();
  for (const op of m.operators) {
    const from = m.tensors[op.inputs[0]];
    if (op.opcode === 'DEQUANTIZE' && from?.data) widened.set(op.inputs[0], { ...from, name: m.tensors[op.outputs[0]].name });
  }
  for (const [i, constant] of m.tensors.entries()) {
    const t = widened.get(i) ?? constant;
    if (!t.data) continue;
    if (map.has(t.name)) throw new Error(`tflite: two constant tensors are named ${t.name}`);
    // A quantized constant holds its real values: float weights, stored compactly.
    map.set(t.name, { shape: [...t.shape], data: t.data, sourceDType: t.quantization || widened.has(i) ? 'f32' : TFLITE_DTYPES[t.type] });
  }
  return map;
}
