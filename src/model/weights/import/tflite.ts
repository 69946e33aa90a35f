// TFLite model reader: a small bounds-checked flatbuffer reader plus the parts of
// tensorflow/lite/schema/schema.fbs a float32 conv net needs (tensors, buffers, operators and
// their builtin options). Constant tensors of the numeric types we decode get their data (as f32
// values, their stored type in `type`); other types keep only `type`.
import { checkRange, checkTensorBytes } from '../../../io/reader-rules.js';
import { DecodeBudget, type SourceDType, type TensorMap, DTYPE_SIZE, decodeToF32, formatShape } from './tensor-map.js';
import { readFileBytes } from '../../../io/file-bytes.js';
import { ACTIVATIONS, BUILTIN_OPERATORS, BUILTIN_OPTIONS, OPTION_FIELDS, PADDING, TENSOR_TYPES } from '../../../io/tflite-schema.js';

export interface TfliteTensor {
  name: string;
  shape: number[];
  type: string;
  buffer: number;
  /** A constant's values as f32 (of any type in TFLITE_DTYPES). */
  data?: Float32Array;
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

// ---------------------------------------------------------------- flatbuffer access

/** Reads flatbuffer tables, vectors and strings; every access is checked against the buffer. */
class FlatBuffer {
  private readonly view: DataView;
  constructor(
    readonly buf: Uint8Array,
    private readonly what: string,
  ) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  need(pos: number, n: number, what: string): void {
    checkRange(pos, n, this.buf.length, what, `${this.what}: truncated or corrupt TFLite flatbuffer`);
  }
  u8(p: number): number {
    this.need(p, 1, 'byte');
    return this.buf[p];
  }
  i8(p: number): number {
    this.need(p, 1, 'byte');
    return this.view.getInt8(p);
  }
  u16(p: number): number {
    this.need(p, 2, 'ushort');
    return this.view.getUint16(p, true);
  }
  i32(p: number): number {
    this.need(p, 4, 'int');
    return this.view.getInt32(p, true);
  }
  u32(p: number): number {
    this.need(p, 4, 'uint');
    return this.view.getUint32(p, true);
  }
  f32(p: number): number {
    this.need(p, 4, 'float');
    return this.view.getFloat32(p, true);
  }
  u64(p: number): number {
    this.need(p, 8, 'ulong');
    const v = this.view.getBigUint64(p, true);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) this.corrupt(`64-bit value ${v} at ${p} is too large`);
    return Number(v);
  }

  /** Follows a uoffset stored at `p` to a table, vector or string (all 4-aligned, as writers place them). */
  deref(p: number): number {
    const target = p + this.u32(p);
    if (target % 4 !== 0) this.corrupt(`offset at ${p} points to ${target}, which is not 4-aligned`);
    return target;
  }
  /**
   * Absolute position of field `slot` in the table at `t`, or 0 when the field is absent. The
   * table's vtable and its whole inline object (whose size every flatbuffers builder writes into
   * the vtable) must lie in the buffer, and the field inside that object: stricter than
   * flatbuffers' verifier (which checks only the fields read), so a file cut inside a table is
   * refused even where the fields read lie before the cut.
   */
  field(t: number, slot: number): number {
    const vt = t - this.i32(t);
    const vtSize = this.u16(vt);
    if (vt % 2 !== 0 || vtSize < 4 || vtSize % 2 !== 0) this.corrupt(`table at ${t} has a bad vtable (at ${vt}, ${vtSize} bytes)`);
    this.need(vt, vtSize, 'vtable');
    const objSize = this.u16(vt + 2);
    if (objSize < 4) this.corrupt(`table at ${t} claims ${objSize} bytes`);
    this.need(t, objSize, 'table');
    const at = 4 + 2 * slot;
    if (at + 2 > vtSize) return 0;
    const off = this.u16(vt + at);
    if (off === 0) return 0;
    if (off < 4 || off >= objSize) this.corrupt(`field ${slot} of the table at ${t} lies at +${off}, outside its ${objSize} bytes`);
    return t + off;
  }
  corrupt(why: string): never {
    throw new Error(`${this.what}: corrupt TFLite flatbuffer: ${why}`);
  }
  scalar(t: number, slot: number, kind: 'i8' | 'u8' | 'i32' | 'u32' | 'f32' | 'u64', def: number): number {
    const p = this.field(t, slot);
    return p === 0 ? def : this[kind](p);
  }
  table(t: number, slot: number): number | null {
    const p = this.field(t, slot);
    return p === 0 ? null : this.deref(p);
  }
  /** [first element position, length] of a vector field, or null when absent. */
  vector(t: number, slot: number, elemSize: number): [number, number] | null {
    const p = this.field(t, slot);
    if (p === 0) return null;
    const v = this.deref(p);
    const len = this.u32(v);
    this.need(v + 4, len * elemSize, 'vector');
    return [v + 4, len];
  }
  string(t: number, slot: number): string | undefined {
    const vec = this.vector(t, slot, 1);
    return vec ? new TextDecoder().decode(this.buf.subarray(vec[0], vec[0] + vec[1])) : undefined;
  }
  i32s(t: number, slot: number): number[] {
    const vec = this.vector(t, slot, 4);
    const out: number[] = [];
    if (vec) for (let i = 0; i < vec[1]; i++) out.push(this.i32(vec[0] + 4 * i));
    return out;
  }
  tables(t: number, slot: number): number[] {
    const vec = this.vector(t, slot, 4);
    const out: number[] = [];
    if (vec) for (let i = 0; i < vec[1]; i++) out.push(this.deref(vec[0] + 4 * i));
    return out;
  }
  bytes(t: number, slot: number): Uint8Array | undefined {
    const vec = this.vector(t, slot, 1);
    return vec ? this.buf.subarray(vec[0], vec[0] + vec[1]) : undefined;
  }
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
  for (const t of m.tensors) {
    if (!t.data) continue;
    if (map.has(t.name)) throw new Error(`tflite: two constant tensors are named ${t.name}`);
    map.set(t.name, { shape: [...t.shape], data: t.data, sourceDType: TFLITE_DTYPES[t.type] });
  }
  return map;
}
