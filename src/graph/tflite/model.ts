// A TF Lite model as the exporter builds it before it is written (write.ts): one subgraph of
// tensors and builtin operators, each constant's bytes beside it. The lowering (lower.ts) makes a
// float32 model; the precision passes (half.ts, quantize.ts) rewrite it into float16 weights or
// full-integer int8 before it is written.

/** The tensor types an export writes (schema.fbs' TensorType names). */
export type TfliteType = 'FLOAT32' | 'FLOAT16' | 'INT32' | 'INT64' | 'UINT8' | 'INT8';

/** Quantization parameters: one scale and zero point per tensor, or per channel along `axis`. */
export interface TfliteQuantization {
  scale: number[];
  zeroPoint: number[];
  axis?: number;
}

export interface TfliteTensorSpec {
  name: string;
  shape: number[];
  type: TfliteType;
  /** A constant's bytes (little-endian, of `type`); none for activations, inputs and outputs. */
  data?: Uint8Array;
  quantization?: TfliteQuantization;
}

/** A builtin options table: its union member's name (schema.fbs) and its fields by our camelCase names. */
export interface TfliteOptions {
  table: string;
  fields: Record<string, number | boolean | string | readonly number[]>;
}

export interface TfliteOperatorSpec {
  opcode: string;
  inputs: number[];
  outputs: number[];
  options?: TfliteOptions;
  /** The layer of our graph it computes (for errors and refusals). */
  layer: string;
}

export interface TfliteModelSpec {
  tensors: TfliteTensorSpec[];
  operators: TfliteOperatorSpec[];
  inputs: number[];
  outputs: number[];
  description: string;
  /** Named buffers the file's Model.metadata lists (key and bytes). */
  metadata?: { name: string; data: Uint8Array }[];
}

/** A float32 array's bytes (little-endian, as every TF Lite buffer). */
export function f32Bytes(a: Float32Array): Uint8Array {
  return new Uint8Array(a.buffer.slice(a.byteOffset, a.byteOffset + a.byteLength));
}

/** An int32 array's bytes. */
export function i32Bytes(values: ArrayLike<number>): Uint8Array {
  return new Uint8Array(Int32Array.from(values).buffer);
}

/** A constant tensor's values read back as float32 (FLOAT32 only). */
export function f32Of(t: TfliteTensorSpec): Float32Array {
  if (t.type !== 'FLOAT32' || !t.data) throw new Error(`tflite: ${t.name} is not a float32 constant`);
  return new Float32Array(t.data.buffer.slice(t.data.byteOffset, t.data.byteOffset + t.data.byteLength));
}

/** Drops the tensors nothing reads or writes (constants a rewrite replaced), renumbering the rest. */
export function pruneTensors(m: TfliteModelSpec): void {
  const used = new Set([...m.inputs, ...m.outputs, ...m.operators.flatMap((op) => [...op.inputs, ...op.outputs])]);
  const index = new Map<number, number>();
  const kept = m.tensors.filter((_, i) => used.has(i) && index.set(i, index.size));
  const at = (i: number): number => (i < 0 ? i : index.get(i)!);
  m.tensors = kept;
  m.inputs = m.inputs.map(at);
  m.outputs = m.outputs.map(at);
  for (const op of m.operators) {
    op.inputs = op.inputs.map(at);
    op.outputs = op.outputs.map(at);
  }
}
