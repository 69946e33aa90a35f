// Our checkpoint format (safetensors layout): an 8-byte little-endian header length, a JSON
// header {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {string: string}},
// then the raw little-endian data; offsets are relative to the start of the data section.
import { readFileBytes } from '../../../io/file-bytes.js';
import { checkShape, excerpt } from '../../../io/reader-rules.js';
import { writeFileAtomic } from '../../../util/write-atomic.js';
import { type SourceDType, type TensorMap, DTYPE_SIZE, decodeToF32, formatShape, lazyTensor, shapeNumel } from './tensor-map.js';

const DTYPES: Readonly<Record<string, SourceDType>> = {
  F32: 'f32',
  F16: 'f16',
  BF16: 'bf16',
  F64: 'f64',
  I64: 'i64',
  I32: 'i32',
  U8: 'u8',
  I8: 'i8',
  BOOL: 'bool',
};
const METADATA_KEY = '__metadata__';

/**
 * How a tensor is stored: F32, I64 for integer counters (torch's num_batches_tracked), or as its
 * own bytes where it carries them as I8 or F16 (a quantized checkpoint's weights).
 */
function storedBytes(what: string, name: string, t: { shape: number[]; data: Float32Array; sourceDType: string; raw?: Uint8Array }): { dtype: string; bytes: Uint8Array } {
  if (t.raw && (t.sourceDType === 'i8' || t.sourceDType === 'f16')) {
    const expected = shapeNumel(t.shape) * DTYPE_SIZE[t.sourceDType];
    if (t.raw.byteLength !== expected) throw new Error(`${what}: tensor ${name} carries ${t.raw.byteLength} bytes, ${t.sourceDType} ${formatShape(t.shape)} needs ${expected}`);
    return { dtype: t.sourceDType.toUpperCase(), bytes: t.raw };
  }
  if (t.sourceDType !== 'i64') return { dtype: 'F32', bytes: new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength) };
  const ints = new BigInt64Array(t.data.length);
  t.data.forEach((v, i) => {
    if (!Number.isInteger(v)) throw new Error(`${what}: tensor ${name} is stored as I64 but holds ${v}`);
    ints[i] = BigInt(v);
  });
  return { dtype: 'I64', bytes: new Uint8Array(ints.buffer) };
}

/**
 * The file's bytes in parts (length prefix, header, each tensor's data; nothing copied): `tensors`
 * as F32 (I64 where a tensor's sourceDType is 'i64'; I8 or F16 where it carries its stored bytes as
 * `raw`), with optional string metadata. `what` starts every error.
 */
function safetensorsParts(tensors: TensorMap, metadata: Record<string, string> | undefined, what: string): Uint8Array[] {
  const header: Record<string, unknown> = {};
  if (metadata) {
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== 'string') throw new Error(`${what}: metadata ${k} is not a string`);
    }
    header[METADATA_KEY] = metadata;
  }
  let offset = 0;
  const stored: Uint8Array[] = [];
  for (const [name, t] of tensors) {
    if (name === '' || name === METADATA_KEY) throw new Error(`${what}: invalid tensor name '${name}'`);
    if (!t.raw && t.data.length !== shapeNumel(t.shape)) {
      throw new Error(`${what}: tensor ${name} has ${t.data.length} values for shape ${formatShape(t.shape)}`);
    }
    const { dtype, bytes } = storedBytes(what, name, t);
    header[name] = { dtype, shape: t.shape, data_offsets: [offset, offset + bytes.byteLength] };
    offset += bytes.byteLength;
    stored.push(bytes);
  }
  // Pad the header with spaces to a multiple of 8 so the data section stays aligned.
  const json = new TextEncoder().encode(JSON.stringify(header));
  const headerBytes = new Uint8Array(json.length + ((8 - (json.length % 8)) % 8)).fill(0x20);
  headerBytes.set(json);
  const prefix = new Uint8Array(8);
  new DataView(prefix.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  return [prefix, headerBytes, ...stored];
}

/** A safetensors file's bytes (see safetensorsParts); what writeSafetensors writes, for a download or an upload. */
export function safetensorsBytes(tensors: TensorMap, metadata?: Record<string, string>): Uint8Array {
  const parts = safetensorsParts(tensors, metadata, 'safetensorsBytes');
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

/**
 * Writes the bytes safetensorsBytes gives to `path` atomically (src/util/write-atomic.ts), so a
 * crash never leaves a half-written checkpoint there.
 */
export function writeSafetensors(path: string, tensors: TensorMap, metadata?: Record<string, string>): void {
  writeFileAtomic(path, safetensorsParts(tensors, metadata, `writeSafetensors ${path}`));
}

/**
 * Reads a safetensors file or buffer; every dtype listed above is converted to f32. The header is
 * checked whole before any tensor is decoded: dtypes, shapes, offsets within the data section,
 * and the tensors covering it exactly. `source` names the file in errors.
 */
export function readSafetensors(bufOrPath: Uint8Array | string, source?: string): { tensors: TensorMap; metadata: Record<string, string> } {
  const what = source ?? (typeof bufOrPath === 'string' ? bufOrPath : 'safetensors');
  const buf = typeof bufOrPath === 'string' ? readFileBytes(bufOrPath) : bufOrPath;
  if (buf.length < 8) throw new Error(`${what}: truncated safetensors file (${buf.length} bytes, no header length)`);
  const headerLen = new DataView(buf.buffer, buf.byteOffset, 8).getBigUint64(0, true);
  if (headerLen > BigInt(buf.length - 8)) {
    throw new Error(`${what}: safetensors header length ${headerLen} is beyond the file (${buf.length} bytes)`);
  }
  const dataStart = 8 + Number(headerLen);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(buf.subarray(8, dataStart)));
  } catch (e) {
    throw new Error(`${what}: safetensors header is not valid JSON (${(e as Error).message})`);
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) {
    throw new Error(`${what}: safetensors header is not a JSON object`);
  }
  const dataLen = buf.length - dataStart;
  const tensors: TensorMap = new Map();
  const metadata: Record<string, string> = {};
  const ranges: Array<[number, number, string]> = [];
  for (const [name, entry] of Object.entries(header as Record<string, unknown>)) {
    if (name === METADATA_KEY) {
      if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) {
        throw new Error(`${what}: ${METADATA_KEY} is not a JSON object`);
      }
      for (const [k, v] of Object.entries(entry as Record<string, unknown>)) {
        if (typeof v !== 'string') throw new Error(`${what}: metadata ${k} is not a string`);
        metadata[k] = v;
      }
      continue;
    }
    if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) {
      throw new Error(`${what}: tensor ${name} is not a JSON object in the header`);
    }
    const e = entry as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    const field = (v: unknown): string => excerpt(v, 120);
    const dtype = typeof e.dtype === 'string' && Object.prototype.hasOwnProperty.call(DTYPES, e.dtype) ? DTYPES[e.dtype] : undefined;
    if (!dtype) throw new Error(`${what}: tensor ${name} has unsupported dtype ${field(e.dtype)} (supported: ${Object.keys(DTYPES).join(' ')})`);
    if (!Array.isArray(e.shape)) throw new Error(`${what}: tensor ${name} has a bad shape ${field(e.shape)}`);
    const shape = checkShape(e.shape, `tensor ${name}: shape`, what);
    const offs = e.data_offsets;
    if (!Array.isArray(offs) || offs.length !== 2 || !offs.every((o) => Number.isSafeInteger(o) && o >= 0)) {
      throw new Error(`${what}: tensor ${name} has bad data_offsets ${field(offs)}`);
    }
    const [begin, end] = offs as number[];
    if (begin > end || end > dataLen) {
      throw new Error(`${what}: tensor ${name} data range [${begin}, ${end}] is out of bounds (data section is ${dataLen} bytes)`);
    }
    // checkShape made the element count a safe integer; the bytes are compared, never allocated.
    const bytes = shapeNumel(shape) * DTYPE_SIZE[dtype];
    if (end - begin !== bytes) {
      throw new Error(`${what}: tensor ${name} data range [${begin}, ${end}] holds ${end - begin} bytes, shape ${formatShape(shape)} ${e.dtype} needs ${bytes}`);
    }
    ranges.push([begin, end, name]);
  }
  // As the format requires: the tensors tile the data section, no gaps, no overlaps, nothing after.
  ranges.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let covered = 0;
  for (const [begin, end, name] of ranges) {
    if (begin !== covered) {
      throw new Error(
        begin < covered
          ? `${what}: tensor ${name} data range [${begin}, ${end}] overlaps another tensor's (which ends at ${covered})`
          : `${what}: bytes [${covered}, ${begin}) of the data section belong to no tensor (corrupt data_offsets?)`,
      );
    }
    covered = end;
  }
  if (covered !== dataLen) {
    throw new Error(`${what}: the tensors cover ${covered} bytes of the data section, the file has ${dataLen} (corrupt header or trailing bytes)`);
  }
  for (const [name, entry] of Object.entries(header as Record<string, unknown>)) {
    if (name === METADATA_KEY) continue;
    const e = entry as { dtype: string; shape: number[]; data_offsets: [number, number] };
    const dtype = DTYPES[e.dtype];
    const count = shapeNumel(e.shape);
    const begin = dataStart + e.data_offsets[0];
    // Compact weights (a quantized checkpoint's) keep their bytes; they are decoded when read.
    if (dtype === 'i8' || dtype === 'f16') tensors.set(name, lazyTensor(e.shape, dtype, buf.subarray(begin, begin + count * DTYPE_SIZE[dtype])));
    else tensors.set(name, { shape: e.shape, data: decodeToF32(buf, begin, count, dtype), sourceDType: dtype });
  }
  return { tensors, metadata };
}
