// A TfliteModelSpec as a .tflite flatbuffer (tensorflow/lite/schema/schema.fbs, identifier
// "TFL3", schema version 3), written with the flatbuffers Builder (back to front: children before
// the tables that point at them). Field ids are the schema's slots; the option tables' fields
// come from src/io/tflite-schema.ts, the same facts the reader decodes by.
import { Builder } from 'flatbuffers';
import { ACTIVATIONS, BUILTIN_OPERATORS, BUILTIN_OPTIONS, OPTION_FIELDS, PADDING, TENSOR_TYPES } from '../../io/tflite-schema.js';
import type { TfliteModelSpec, TfliteOperatorSpec, TfliteOptions, TfliteTensorSpec } from './model.js';
import { operatorVersion } from './versions.js';

type Offset = number;

/** schema.fbs' tables: field ids, in slot order. */
const MODEL = { version: 0, operatorCodes: 1, subgraphs: 2, description: 3, buffers: 4, metadata: 6 } as const;
const OPERATOR_CODE = { deprecatedBuiltinCode: 0, version: 2, builtinCode: 3 } as const;
const SUBGRAPH = { tensors: 0, inputs: 1, outputs: 2, operators: 3, name: 4 } as const;
const TENSOR = { shape: 0, type: 1, buffer: 2, name: 3, quantization: 4 } as const;
const QUANTIZATION = { scale: 2, zeroPoint: 3, quantizedDimension: 6 } as const;
const OPERATOR = { opcodeIndex: 0, inputs: 1, outputs: 2, optionsType: 3, options: 4 } as const;
const BUFFER = { data: 0 } as const;
const METADATA = { name: 0, buffer: 1 } as const;
/** The builtin code below which the deprecated int8 field holds the code itself (PLACEHOLDER_FOR_GREATER_OP_CODES). */
const PLACEHOLDER_CODE = 127;

function enumValue(names: readonly string[], name: string, what: string): number {
  const i = names.indexOf(name);
  if (i < 0) throw new Error(`tflite writer: unknown ${what} '${name}'`);
  return i;
}

function int32Vector(b: Builder, xs: readonly number[]): Offset {
  b.startVector(4, xs.length, 4);
  for (let i = xs.length - 1; i >= 0; i--) b.addInt32(xs[i]);
  return b.endVector();
}

function offsetVector(b: Builder, xs: readonly Offset[]): Offset {
  b.startVector(4, xs.length, 4);
  for (let i = xs.length - 1; i >= 0; i--) b.addOffset(xs[i]);
  return b.endVector();
}

/** A builtin options table; returns [union type, table]. */
function writeOptions(b: Builder, o: TfliteOptions): [number, Offset] {
  const type = enumValue(BUILTIN_OPTIONS, o.table, 'options table') + 1;
  const specs = OPTION_FIELDS[o.table] ?? [];
  const slotOf = new Map(specs.flatMap((s, slot) => (s ? [[s[0], { slot, kind: s[1] }] as const] : [])));
  for (const k of Object.keys(o.fields)) if (!slotOf.has(k)) throw new Error(`tflite writer: ${o.table} has no field '${k}'`);
  // Vectors before the table that holds them.
  const vectors = new Map<string, Offset>();
  for (const [k, v] of Object.entries(o.fields)) if (Array.isArray(v)) vectors.set(k, int32Vector(b, v as number[]));
  b.startObject(specs.length);
  for (const [k, v] of Object.entries(o.fields)) {
    const { slot, kind } = slotOf.get(k)!;
    switch (kind) {
      case 'int':
        b.addFieldInt32(slot, v as number, 0);
        break;
      case 'bool':
        // Written even where it equals the default: a reader meets the value the exporter chose.
        b.addFieldInt8(slot, v ? 1 : 0, -1);
        break;
      case 'float':
        b.addFieldFloat32(slot, v as number, Number.NaN);
        break;
      case 'padding':
        b.addFieldInt8(slot, enumValue(PADDING, v as string, 'padding'), -1);
        break;
      case 'activation':
        b.addFieldInt8(slot, enumValue(ACTIVATIONS, v as string, 'activation'), -1);
        break;
      case 'tensorType':
        b.addFieldInt8(slot, enumValue(TENSOR_TYPES, v as string, 'tensor type'), -1);
        break;
      case 'ints':
        b.addFieldOffset(slot, vectors.get(k)!, 0);
        break;
    }
  }
  return [type, b.endObject()];
}

/**
 * Quantization vectors written once per content: a FlatBuffers vector may be pointed at by many
 * tables, and per-channel int8 files repeat theirs (every weight's and bias's zero points are
 * zeros, one per channel), which would otherwise take 8 bytes a channel each time.
 */
class SharedVectors {
  private readonly written = new Map<string, Offset>();
  constructor(private readonly b: Builder) {}
  floats(xs: readonly number[]): Offset {
    return this.once(`f${xs.join(',')}`, () => {
      this.b.startVector(4, xs.length, 4);
      for (let i = xs.length - 1; i >= 0; i--) this.b.addFloat32(xs[i]);
      return this.b.endVector();
    });
  }
  longs(xs: readonly number[]): Offset {
    return this.once(`l${xs.join(',')}`, () => {
      this.b.startVector(8, xs.length, 8);
      for (let i = xs.length - 1; i >= 0; i--) this.b.addInt64(BigInt(xs[i]));
      return this.b.endVector();
    });
  }
  private once(key: string, write: () => Offset): Offset {
    let at = this.written.get(key);
    if (at === undefined) this.written.set(key, (at = write()));
    return at;
  }
}

function writeTensor(b: Builder, t: TfliteTensorSpec, buffer: number, shared: SharedVectors): Offset {
  const shape = int32Vector(b, t.shape);
  const name = b.createString(t.name);
  let quantization = 0;
  if (t.quantization) {
    const q = t.quantization;
    const scale = shared.floats(q.scale);
    const zeroPoint = shared.longs(q.zeroPoint);
    b.startObject(7);
    b.addFieldOffset(QUANTIZATION.scale, scale, 0);
    b.addFieldOffset(QUANTIZATION.zeroPoint, zeroPoint, 0);
    b.addFieldInt32(QUANTIZATION.quantizedDimension, q.axis ?? 0, 0);
    quantization = b.endObject();
  }
  b.startObject(6);
  b.addFieldOffset(TENSOR.shape, shape, 0);
  b.addFieldInt8(TENSOR.type, enumValue(TENSOR_TYPES, t.type, 'tensor type'), -1);
  b.addFieldInt32(TENSOR.buffer, buffer, 0);
  b.addFieldOffset(TENSOR.name, name, 0);
  if (quantization) b.addFieldOffset(TENSOR.quantization, quantization, 0);
  return b.endObject();
}

function writeOperator(b: Builder, op: TfliteOperatorSpec, opcodeIndex: number): Offset {
  const inputs = int32Vector(b, op.inputs);
  const outputs = int32Vector(b, op.outputs);
  const options = op.options ? writeOptions(b, op.options) : undefined;
  b.startObject(9);
  b.addFieldInt32(OPERATOR.opcodeIndex, opcodeIndex, -1);
  b.addFieldOffset(OPERATOR.inputs, inputs, 0);
  b.addFieldOffset(OPERATOR.outputs, outputs, 0);
  if (options) {
    b.addFieldInt8(OPERATOR.optionsType, options[0], 0);
    b.addFieldOffset(OPERATOR.options, options[1], 0);
  }
  return b.endObject();
}

function writeBuffer(b: Builder, data: Uint8Array | undefined): Offset {
  let vec = 0;
  if (data && data.length > 0) {
    // force_align 16 in the schema: XNNPACK and mmap'd readers take weights in place.
    b.prep(16, data.length);
    vec = b.createByteVector(data);
  }
  b.startObject(3);
  if (vec) b.addFieldOffset(BUFFER.data, vec, 0);
  return b.endObject();
}

/** The model's bytes: every constant in a buffer of its own (buffer 0 empty, as the schema asks). */
export function writeTflite(m: TfliteModelSpec): Uint8Array {
  const bytes = m.tensors.reduce((s, t) => s + (t.data?.length ?? 0), 0) + (m.metadata ?? []).reduce((s, e) => s + e.data.length, 0);
  const b = new Builder(bytes + 65536);
  // Operator codes: one per (opcode, version), in first-use order.
  const codes: { opcode: string; version: number }[] = [];
  const codeIndex = m.operators.map((op) => {
    const version = operatorVersion(op, m.tensors);
    let i = codes.findIndex((c) => c.opcode === op.opcode && c.version === version);
    if (i < 0) i = codes.push({ opcode: op.opcode, version }) - 1;
    return i;
  });

  const buffers: Offset[] = [writeBuffer(b, undefined)];
  const bufferOf = m.tensors.map((t) => (t.data ? buffers.push(writeBuffer(b, t.data)) - 1 : 0));
  const metadataBuffers = (m.metadata ?? []).map((e) => buffers.push(writeBuffer(b, e.data)) - 1);

  const shared = new SharedVectors(b);
  const tensors = offsetVector(b, m.tensors.map((t, i) => writeTensor(b, t, bufferOf[i], shared)));
  const operators = offsetVector(b, m.operators.map((op, i) => writeOperator(b, op, codeIndex[i])));
  const inputs = int32Vector(b, m.inputs);
  const outputs = int32Vector(b, m.outputs);
  const sgName = b.createString('main');
  b.startObject(5);
  b.addFieldOffset(SUBGRAPH.tensors, tensors, 0);
  b.addFieldOffset(SUBGRAPH.inputs, inputs, 0);
  b.addFieldOffset(SUBGRAPH.outputs, outputs, 0);
  b.addFieldOffset(SUBGRAPH.operators, operators, 0);
  b.addFieldOffset(SUBGRAPH.name, sgName, 0);
  const subgraphs = offsetVector(b, [b.endObject()]);

  const opcodes = offsetVector(
    b,
    codes.map(({ opcode, version }) => {
      const code = enumValue(BUILTIN_OPERATORS, opcode, 'operator');
      b.startObject(4);
      b.addFieldInt8(OPERATOR_CODE.deprecatedBuiltinCode, Math.min(code, PLACEHOLDER_CODE), -1);
      b.addFieldInt32(OPERATOR_CODE.version, version, 0);
      b.addFieldInt32(OPERATOR_CODE.builtinCode, code, -1);
      return b.endObject();
    }),
  );
  const metadata = (m.metadata ?? []).map((e, i) => {
    const name = b.createString(e.name);
    b.startObject(2);
    b.addFieldOffset(METADATA.name, name, 0);
    b.addFieldInt32(METADATA.buffer, metadataBuffers[i], -1);
    return b.endObject();
  });
  const metadataVector = metadata.length ? offsetVector(b, metadata) : 0;
  const bufferVector = offsetVector(b, buffers);
  const description = b.createString(m.description);
  b.startObject(8);
  b.addFieldInt32(MODEL.version, 3, 0);
  b.addFieldOffset(MODEL.operatorCodes, opcodes, 0);
  b.addFieldOffset(MODEL.subgraphs, subgraphs, 0);
  b.addFieldOffset(MODEL.description, description, 0);
  b.addFieldOffset(MODEL.buffers, bufferVector, 0);
  if (metadataVector) b.addFieldOffset(MODEL.metadata, metadataVector, 0);
  b.finish(b.endObject(), 'TFL3');
  return b.asUint8Array().slice();
}
