// One TensorProto as an OnnxTensor: its values from raw_data (little-endian), from the typed
// field its type uses (float_data, int32_data, ...), or from external data, each checked to hold
// exactly the values its dims say before anything is decoded.
import { checkRange } from '../../io/reader-rules.js';
import { fromHalfBits } from '../../gpu/half.js';
import { type ValueBudget, checkedDims, checkedLocation } from './limits.js';
import type { OnnxDType, OnnxTensor } from './model.js';

/** TensorProto.DataType values we read, with their element bytes and the typed field that holds them. */
const DTYPES: Readonly<Record<number, { dtype: OnnxDType; bytes: number; field: 'float_data' | 'int32_data' | 'int64_data' | 'double_data' | 'uint64_data' }>> = {
  1: { dtype: 'float', bytes: 4, field: 'float_data' },
  2: { dtype: 'uint8', bytes: 1, field: 'int32_data' },
  3: { dtype: 'int8', bytes: 1, field: 'int32_data' },
  4: { dtype: 'uint16', bytes: 2, field: 'int32_data' },
  5: { dtype: 'int16', bytes: 2, field: 'int32_data' },
  6: { dtype: 'int32', bytes: 4, field: 'int32_data' },
  7: { dtype: 'int64', bytes: 8, field: 'int64_data' },
  9: { dtype: 'bool', bytes: 1, field: 'int32_data' },
  10: { dtype: 'float16', bytes: 2, field: 'int32_data' },
  11: { dtype: 'double', bytes: 8, field: 'double_data' },
  12: { dtype: 'uint32', bytes: 4, field: 'uint64_data' },
  13: { dtype: 'uint64', bytes: 8, field: 'uint64_data' },
  16: { dtype: 'bfloat16', bytes: 2, field: 'int32_data' },
};

/** ONNX's names of the types we do not read, for the refusal. */
const OTHER_DTYPES: Readonly<Record<number, string>> = { 0: 'UNDEFINED', 8: 'STRING', 14: 'COMPLEX64', 15: 'COMPLEX128', 17: 'FLOAT8E4M3FN', 18: 'FLOAT8E4M3FNUZ', 19: 'FLOAT8E5M2', 20: 'FLOAT8E5M2FNUZ', 21: 'UINT4', 22: 'INT4', 23: 'FLOAT4E2M1' };

/** The element type of a TensorProto.DataType (a value's declared type), or null for one we do not read. */
export function onnxDType(code: number): OnnxDType | null {
  return DTYPES[code]?.dtype ?? null;
}

/** TensorProto's fields as protobufjs decodes them (longs as numbers). */
export interface TensorMessage {
  name?: string;
  dims?: number[];
  data_type?: number;
  segment?: Uint8Array;
  float_data?: number[];
  int32_data?: number[];
  int64_data?: number[];
  double_data?: number[];
  uint64_data?: number[];
  string_data?: Uint8Array[];
  raw_data?: Uint8Array;
  external_data?: { key?: string; value?: string }[];
  data_location?: number;
}

/** Where a tensor's external data is read from: the bytes of a file beside the model, by its location. */
export type ExternalData = (location: string) => Uint8Array;

/** `count` little-endian elements of `dtype` from `bytes` (exactly their length). */
function decodeRaw(bytes: Uint8Array, dtype: OnnxDType, count: number): Float32Array | Float64Array {
  // A copy aligns the bytes for the typed views (raw_data may start anywhere in the file).
  const buffer = new Uint8Array(bytes).buffer;
  switch (dtype) {
    case 'float':
      return new Float32Array(buffer);
    case 'float16':
      return fromHalfBits(new Uint16Array(buffer), count);
    case 'bfloat16': {
      const h = new Uint16Array(buffer);
      const bits = new Uint32Array(count);
      for (let i = 0; i < count; i++) bits[i] = h[i] << 16;
      return new Float32Array(bits.buffer);
    }
    case 'double':
      return new Float64Array(buffer);
    case 'int8':
      return Float64Array.from(new Int8Array(buffer));
    case 'uint8':
      return Float64Array.from(new Uint8Array(buffer));
    case 'bool':
      return Float64Array.from(new Uint8Array(buffer), (v) => (v !== 0 ? 1 : 0));
    case 'int16':
      return Float64Array.from(new Int16Array(buffer));
    case 'uint16':
      return Float64Array.from(new Uint16Array(buffer));
    case 'int32':
      return Float64Array.from(new Int32Array(buffer));
    case 'uint32':
      return Float64Array.from(new Uint32Array(buffer));
    case 'int64':
    case 'uint64': {
      // Two 32-bit halves per element, no BigInt per value: exact up to 2^53.
      const w = new Int32Array(buffer);
      const out = new Float64Array(count);
      for (let i = 0; i < count; i++) out[i] = (dtype === 'int64' ? w[2 * i + 1] : w[2 * i + 1] >>> 0) * 4294967296 + (w[2 * i] >>> 0);
      return out;
    }
  }
}

/**
 * The values a typed field may hold for each type it carries narrower than itself (int32_data
 * holds the small integers, bool, and float16's and bfloat16's bits; uint64_data uint32): a
 * uint8 of 300 is no uint8, and decoding it would quietly give another number.
 */
const FIELD_RANGES: Partial<Record<OnnxDType, readonly [number, number]>> = {
  uint8: [0, 255],
  int8: [-128, 127],
  uint16: [0, 65535],
  int16: [-32768, 32767],
  bool: [0, 1],
  float16: [0, 65535],
  bfloat16: [0, 65535],
  uint32: [0, 2 ** 32 - 1],
};

/** Refuses a typed field's value outside its type's range, naming the tensor, the element and the range. */
function checkFieldRange(values: readonly number[], dtype: OnnxDType, field: string, what: string): void {
  const range = FIELD_RANGES[dtype];
  if (!range) return;
  const [min, max] = range;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!(Number.isInteger(v) && v >= min && v <= max)) {
      const kind = dtype === 'float16' || dtype === 'bfloat16' ? `${dtype}'s bits` : dtype;
      throw new Error(`${what}: ${field} holds ${String(v)} at element ${i}, outside the range of ${kind} (${min}..${max})`);
    }
  }
}

/** The values of the typed field (float16 and bfloat16 stored as their bits in int32_data). */
function decodeTyped(values: readonly number[], dtype: OnnxDType): Float32Array | Float64Array {
  switch (dtype) {
    case 'float':
      return Float32Array.from(values);
    case 'float16':
      return fromHalfBits(Uint16Array.from(values, (v) => v & 0xffff));
    case 'bfloat16':
      return new Float32Array(Uint32Array.from(values, (v) => (v & 0xffff) << 16).buffer);
    case 'bool':
      return Float64Array.from(values, (v) => (v !== 0 ? 1 : 0));
    default:
      return Float64Array.from(values);
  }
}

/** The external data a tensor names, as the bytes of its range of the file. */
function externalBytes(t: TensorMessage, name: string, bytes: number, external: ExternalData | undefined, what: string): Uint8Array {
  const entries = new Map((t.external_data ?? []).map((e) => [e.key ?? '', e.value ?? '']));
  const location = entries.get('location');
  if (location === undefined) throw new Error(`${what}: tensor '${name}' is stored externally but names no location`);
  checkedLocation(location, name, what);
  if (!external) throw new Error(`${what}: tensor '${name}' is stored in a separate file (${location}): load the model from its path, beside that file, or give the model as one file`);
  const offsetText = entries.get('offset') ?? '0';
  const offset = /^\d{1,15}$/.test(offsetText) ? Number(offsetText) : NaN;
  if (!Number.isSafeInteger(offset)) throw new Error(`${what}: tensor '${name}' has external data offset ${JSON.stringify(offsetText.slice(0, 20))}, not a byte offset`);
  const lengthText = entries.get('length');
  if (lengthText !== undefined && lengthText !== String(bytes)) throw new Error(`${what}: tensor '${name}' has external data length ${JSON.stringify(lengthText.slice(0, 20))}, but its dims need ${bytes} bytes`);
  const file = external(location);
  checkRange(offset, bytes, file.length, `tensor '${name}' external data`, what, location);
  return file.subarray(offset, offset + bytes);
}

/** A TensorProto decoded; `field` names it in errors (an initializer, an attribute's tensor). */
export function readTensor(t: TensorMessage, field: string, what: string, budget: ValueBudget, external?: ExternalData): OnnxTensor {
  const name = t.name ?? '';
  const code = t.data_type ?? 0;
  const type = DTYPES[code];
  if (!type) throw new Error(`${what}: ${field} '${name}' is of type ${OTHER_DTYPES[code] ?? code}, which is not read (float, float16, bfloat16, double, the integers and bool are)`);
  if (t.segment && t.segment.length > 0) throw new Error(`${what}: ${field} '${name}' is stored in segments, which are not read`);
  const { dims, count } = checkedDims(t.dims ?? [], `${field} '${name}' dims`, what);
  const bytes = count * type.bytes;
  let data: Float32Array | Float64Array;
  if ((t.data_location ?? 0) === 1) {
    budget.take(count, name);
    data = decodeRaw(externalBytes(t, name, bytes, external, what), type.dtype, count);
  } else if (t.raw_data && t.raw_data.length > 0) {
    if (t.raw_data.length !== bytes) throw new Error(`${what}: ${field} '${name}' has ${t.raw_data.length} bytes of raw_data, but its dims [${dims.join(',')}] of ${type.dtype} need ${bytes}`);
    budget.take(count, name);
    data = decodeRaw(t.raw_data, type.dtype, count);
  } else {
    const values = t[type.field] ?? [];
    if (values.length !== count) throw new Error(`${what}: ${field} '${name}' holds ${values.length} values in ${type.field}, but its dims [${dims.join(',')}] need ${count}`);
    checkFieldRange(values, type.dtype, `${field} '${name}' ${type.field}`, what);
    data = decodeTyped(values, type.dtype);
  }
  return { name, dtype: type.dtype, dims, data };
}
