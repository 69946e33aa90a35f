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

/** One tensor of a data file: name, shape, byte offset, PRNG kind (or [kind, gain] for a scaled BN weight). */
export type ExternalTensor = [string, number[], number, string | [string, number]];

export interface OnnxExternalData {
  /** The .onnx file whose initializers point into this data file. */
  onnx: string;
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
  for (const [name, shape, offset, kindGain] of ext.tensors) {
    const [kind, gain] = typeof kindGain === 'string' ? [kindGain, 1] : kindGain;
    const v = smpPrngValues(name, shape, kind, gain, ext.seed);
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
 * written beside them. Returns the folder and, per input size 'HxW', the .onnx path.
 */
export function writeOnnxCase(name: string, into?: string): { dir: string; files: Record<string, string> } {
  const meta = readOnnxCase(name);
  const dir = meta.external_data ? (into ?? mkdtempSync(join(tmpdir(), `onnx-${name}-`))) : onnxCasePath(name);
  if (meta.external_data) {
    for (const f of new Set(Object.values(meta.files))) copyFileSync(onnxCasePath(name, f), join(dir, f));
    for (const ext of meta.external_data) writeFileSync(join(dir, ext.file), externalDataBytes(name, ext));
  }
  return { dir, files: Object.fromEntries(Object.entries(meta.files).map(([size, f]) => [size, join(dir, f)])) };
}
