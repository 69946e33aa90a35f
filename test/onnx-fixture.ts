// test/fixtures/onnx (scripts/fixtures/onnx/README.md): ONNX files exported by PyTorch's two
// exporters from torchvision, smp, transformers, VainF's and mmseg's networks, each with its inputs
// and onnxruntime's logits. A case too large to commit ships its graph with the weights as ONNX
// external data left out: writeOnnxCase writes the data file again from the PRNG (the kinds and
// gains its meta.json lists), checked against the SHA-256 of the bytes the generator wrote.
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { HostTensor } from '../src/model/weights/import/tensor-map.js';
import { readNpy } from '../src/model/weights/import/npy.js';
import { smpPrngValues } from './model/smp-fixture.js';

export const ONNX_FIXTURES = 'test/fixtures/onnx';

/**
 * One tensor of a data file: name, shape, byte offset, and its PRNG kind: a kind, [kind, gain] for
 * a scaled BN weight, or { kind, transpose_of } for an exporter's folded transpose of a 2-D
 * state-dict tensor (the PRNG's values of that tensor, transposed).
 */
export type ExternalTensor = [string, number[], number, string | [string, number] | { kind: string; transpose_of: string }];

/** A tensor's float32 values from its row's PRNG kind. */
function externalValues(name: string, shape: number[], kind: ExternalTensor[3], seed: number): Float32Array {
  if (typeof kind === 'string') return smpPrngValues(name, shape, kind, 1, seed);
  if (Array.isArray(kind)) return smpPrngValues(name, shape, kind[0], kind[1], seed);
  if (shape.length !== 2) throw new Error(`${name}: transpose_of needs a 2-D tensor, shape [${shape.join(', ')}]`);
  const [rows, cols] = shape;
  const src = smpPrngValues(kind.transpose_of, [cols, rows], kind.kind, 1, seed);
  const out = new Float32Array(src.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[r * cols + c] = src[c * rows + r];
  return out;
}

export interface OnnxExternalData {
  /** The .onnx files whose initializers point into this data file (a static export's files share one). */
  onnx: string[];
  /** The data file's name, as the initializers' `location` gives it (beside the .onnx). */
  file: string;
  bytes: number;
  sha256: string;
  seed: number;
  alignment: number;
  tensors: ExternalTensor[];
}

export interface OnnxCaseMeta {
  case: string;
  source: { library: string; version: string; builder: string; arguments: Record<string, unknown> };
  exporter_name: 'torchscript' | 'dynamo';
  opset: number;
  dynamic_hw: boolean;
  /** Input size 'HxW' -> the .onnx file that runs it. */
  files: Record<string, string>;
  sizes: [number, number][];
  input_name: string;
  output_names: string[];
  num_classes: number;
  /** Input side / output side of the logits (1: the logits are at the input's size). */
  output_stride: number;
  preprocessing: { mean: number[]; std: number[]; scale: number; channel_order: 'RGB' | 'BGR'; layout: 'NCHW' };
  external_data: OnnxExternalData[] | null;
  [field: string]: unknown;
}

export const onnxCasePath = (name: string, ...file: string[]): string => join(ONNX_FIXTURES, name, ...file);

/** Every case folder (those with a meta.json), sorted. */
export function onnxCases(): string[] {
  return readdirSync(ONNX_FIXTURES, { withFileTypes: true })
    .filter((e) => e.isDirectory() && existsSync(onnxCasePath(e.name, 'meta.json')))
    .map((e) => e.name)
    .sort();
}

export function readOnnxCase(name: string): OnnxCaseMeta {
  return JSON.parse(readFileSync(onnxCasePath(name, 'meta.json'), 'utf8')) as OnnxCaseMeta;
}

/** The float32 NCHW network input and onnxruntime's logits for one input size. */
export function onnxCaseArrays(name: string, [h, w]: readonly [number, number]): { input: HostTensor; logits: HostTensor } {
  return { input: readNpy(onnxCasePath(name, `input_${h}x${w}.npy`)), logits: readNpy(onnxCasePath(name, `logits_${h}x${w}.npy`)) };
}

/** A data file's bytes from the PRNG: each tensor's float32 values at its offset, zeros between. */
export function externalDataBytes(caseName: string, ext: OnnxExternalData): Uint8Array {
  const out = new Uint8Array(ext.bytes);
  for (const [name, shape, offset, kind] of ext.tensors) {
    const v = externalValues(name, shape, kind, ext.seed);
    if (offset + v.byteLength > ext.bytes) throw new Error(`${caseName}/${ext.file}: tensor ${name} at ${offset} runs past the file's ${ext.bytes} bytes`);
    out.set(new Uint8Array(v.buffer, v.byteOffset, v.byteLength), offset); // little-endian hosts only, as the rest of the project
  }
  const sha = createHash('sha256').update(out).digest('hex');
  if (sha !== ext.sha256) throw new Error(`${caseName}/${ext.file}: the PRNG's bytes hash to ${sha}, not the generator's ${ext.sha256}`);
  return out;
}

/**
 * A case's .onnx files in a folder onnxruntime and our loader can read: the fixture folder itself
 * when the weights are in the files, else a temporary copy of the graphs with their external data
 * written beside them, or with `embed`, graphs that hold their weights (one self-contained file
 * each, as a page takes it). Returns the folder and, per input size 'HxW', the .onnx path.
 */
export function writeOnnxCase(name: string, into?: string, o: { embed?: boolean } = {}): { dir: string; files: Record<string, string> } {
  const meta = readOnnxCase(name);
  const dir = meta.external_data ? (into ?? mkdtempSync(join(tmpdir(), `onnx-${name}-`))) : onnxCasePath(name);
  if (meta.external_data) {
    const data = new Map(meta.external_data.map((ext) => [ext.file, externalDataBytes(name, ext)]));
    for (const f of new Set(Object.values(meta.files))) {
      if (!o.embed) copyFileSync(onnxCasePath(name, f), join(dir, f));
      else writeFileSync(join(dir, f), embedExternalData(readFileSync(onnxCasePath(name, f)), (location) => data.get(location), `${name}/${f}`));
    }
    if (!o.embed) for (const [file, bytes] of data) writeFileSync(join(dir, file), bytes);
  }
  return { dir, files: Object.fromEntries(Object.entries(meta.files).map(([size, f]) => [size, join(dir, f)])) };
}

// ---- embedding external data: the file's own bytes, each external initializer given raw_data

/** One field of a protobuf message: number, wire type, and where the whole field and its value lie. */
interface Field {
  no: number;
  wire: number;
  start: number;
  valueStart: number;
  end: number;
}

function varint(b: Uint8Array, pos: number, what: string): [number, number] {
  let v = 0;
  for (let scale = 1, i = pos; i < b.length && i < pos + 10; i++, scale *= 128) {
    v += (b[i] & 0x7f) * scale;
    if (b[i] < 0x80) return [v, i + 1];
  }
  throw new Error(`${what}: bad varint at byte ${pos}`);
}

function fields(b: Uint8Array, what: string): Field[] {
  const out: Field[] = [];
  for (let pos = 0; pos < b.length; ) {
    const [tag, p] = varint(b, pos, what);
    const wire = tag % 8;
    let end: number;
    let valueStart = p;
    if (wire === 0) end = varint(b, p, what)[1];
    else if (wire === 1) end = p + 8;
    else if (wire === 5) end = p + 4;
    else if (wire === 2) {
      const [len, q] = varint(b, p, what);
      valueStart = q;
      end = q + len;
    } else throw new Error(`${what}: wire type ${wire} at byte ${pos}`);
    if (end > b.length) throw new Error(`${what}: field ${Math.floor(tag / 8)} runs past the end`);
    out.push({ no: Math.floor(tag / 8), wire, start: pos, valueStart, end });
    pos = end;
  }
  return out;
}

function encodeVarint(v: number): number[] {
  const out: number[] = [];
  for (; v >= 0x80; v = Math.floor(v / 128)) out.push((v % 128) | 0x80);
  out.push(v);
  return out;
}

/** A length-delimited field: its tag, length and bytes. */
function lenField(no: number, value: Uint8Array): Uint8Array[] {
  return [Uint8Array.from([...encodeVarint(no * 8 + 2), ...encodeVarint(value.length)]), value];
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/**
 * An ONNX file whose initializers stored as external data (TensorProto fields 13, 14) hold their
 * bytes as raw_data (field 9) instead; every other byte of the file is kept as it was.
 */
export function embedExternalData(model: Uint8Array, data: (location: string) => Uint8Array | undefined, what: string): Uint8Array {
  const tensor = (b: Uint8Array): Uint8Array => {
    const fs = fields(b, what);
    const ext = fs.filter((f) => f.no === 13 && f.wire === 2);
    if (!ext.length) return b;
    const entries = new Map(
      ext.map((f) => {
        const kv = fields(b.subarray(f.valueStart, f.end), what);
        const str = (no: number) => {
          const e = kv.find((x) => x.no === no);
          return e ? new TextDecoder().decode(b.subarray(f.valueStart + e.valueStart, f.valueStart + e.end)) : '';
        };
        return [str(1), str(2)];
      }),
    );
    const location = entries.get('location') ?? '';
    const file = data(location);
    if (!file) throw new Error(`${what}: no data for external location '${location}'`);
    const offset = Number(entries.get('offset') ?? 0);
    const length = Number(entries.get('length') ?? file.length - offset);
    if (offset + length > file.length) throw new Error(`${what}: ${location} [${offset}, ${offset + length}) runs past its ${file.length} bytes`);
    const kept = fs.filter((f) => f.no !== 13 && f.no !== 14).map((f) => b.subarray(f.start, f.end));
    return concat([...kept, ...lenField(9, file.subarray(offset, offset + length))]);
  };
  const graph = (b: Uint8Array): Uint8Array =>
    concat(fields(b, what).flatMap((f) => (f.no === 5 && f.wire === 2 ? lenField(5, tensor(b.subarray(f.valueStart, f.end))) : [b.subarray(f.start, f.end)])));
  return concat(fields(model, what).flatMap((f) => (f.no === 7 && f.wire === 2 ? lenField(7, graph(model.subarray(f.valueStart, f.end))) : [model.subarray(f.start, f.end)])));
}
