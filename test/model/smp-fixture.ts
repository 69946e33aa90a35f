// The folders of ../shared/fixtures/smp as smp's save_pretrained wrote them: config.json from the
// fixture, model.safetensors from the fixture's PRNG (its README, "Weights: the PRNG": mmseg's
// counter PRNG with the kinds and gains of each manifest row), written into a temporary folder.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GraphBuilder } from '../../src/graph/builder.js';
import type { Graph, Value } from '../../src/graph/ir.js';
import { SMP_ENCODERS, type SmpEncoderSize } from '../../src/model/backbones/smp-encoders.js';
import { safetensorsBytes } from '../../src/model/weights/import/safetensors.js';
import type { TensorMap } from '../../src/model/weights/import/tensor-map.js';
import { sharedPath } from '../shared.js';
import { NUM_BATCHES_TRACKED, fmix32, fnv1a32, stateDictSha256 } from './mmseg-prng.js';

export const SMP_FOLDERS = [
  'deeplabv3plus-resnet34',
  'deeplabv3-mobilenet_v2',
  'deeplabv3plus-efficientnet-b0',
  'deeplabv3plus-resnext50_32x4d',
  'deeplabv3plus-timm-efficientnet-b0',
  'deeplabv3plus-se_resnext50_32x4d',
  'deeplabv3plus-tu-resnet18',
  'deeplabv3plus-mit_b0',
  'deeplabv3plus-mobileone_s0',
  'deeplabv3-resnet50',
  'deeplabv3plus-mobilenet_v2',
] as const;

export type SmpFolder = (typeof SMP_FOLDERS)[number];

type Row = [string, number[], string, string, number?];

export interface SmpManifest {
  rows: Row[];
  sha256All: string;
  encoderName: string;
}

export const smpFixture = (folder: string, ...file: string[]): string => sharedPath('fixtures', 'smp', folder, ...file);

export function readSmpManifest(folder: string): SmpManifest {
  const json = JSON.parse(readFileSync(smpFixture(folder, 'manifest.json'), 'utf8'));
  const sha = json.sha256_all;
  return { rows: json.tensors, sha256All: typeof sha === 'string' ? sha : sha.hex, encoderName: json.constructor_kwargs.encoder_name };
}

/** One tensor's float32 values by its kind (computed in float64, rounded once). */
export function smpPrngValues(name: string, shape: readonly number[], kind: string, gain = 1, seed = 1): Float32Array {
  const n = shape.reduce((a, b) => a * b, 1);
  const out = new Float32Array(n);
  const fan = kind === 'conv' ? shape[1] * shape[2] * shape[3] : kind === 'linear' ? shape[1] : 0;
  const s = fan ? Math.sqrt(3 / fan) : 0;
  let state = (fnv1a32(name) ^ seed) >>> 0;
  for (let i = 0; i < n; i++) {
    state = (state + 0x9e3779b9) >>> 0;
    const r = (fmix32(state) >>> 8) * 2 ** -23 - 1;
    switch (kind) {
      case 'conv':
      case 'linear':
        out[i] = r * s;
        break;
      case 'bn_weight':
        out[i] = (1 + 0.5 * r) * gain;
        break;
      case 'ln_weight':
      case 'var':
        out[i] = 1 + 0.5 * r;
        break;
      case 'bias':
      case 'mean':
        out[i] = 0.1 * r;
        break;
      default:
        throw new Error(`${name}: unknown PRNG kind '${kind}'`);
    }
  }
  return out;
}

/** The state dict a folder's manifest describes, in key order. */
export function smpStateDict(m: SmpManifest): TensorMap {
  const out: TensorMap = new Map();
  for (const [name, shape, , kind, gain] of m.rows) {
    if (kind === 'count') out.set(name, { shape: [...shape], data: Float32Array.of(NUM_BATCHES_TRACKED), sourceDType: 'i64' });
    else out.set(name, { shape: [...shape], data: smpPrngValues(name, shape, kind, gain), sourceDType: 'f32' });
  }
  return out;
}

/** A temporary smp folder of a fixture: its config.json and the PRNG's model.safetensors; checks the tensors' hash against the manifest. */
export function writeSmpFolder(folder: string, into = mkdtempSync(join(tmpdir(), `smp-${folder}-`))): { dir: string; state: TensorMap } {
  const manifest = readSmpManifest(folder);
  const state = smpStateDict(manifest);
  const sha = stateDictSha256(state);
  if (sha !== manifest.sha256All) throw new Error(`${folder}: the PRNG's tensors hash to ${sha}, not the manifest's ${manifest.sha256All}`);
  writeFileSync(join(into, 'config.json'), readFileSync(smpFixture(folder, 'config.json')));
  writeFileSync(join(into, 'model.safetensors'), safetensorsBytes(state));
  return { dir: into, state };
}

/** An encoder's features on `image`, for an encoder that hands on every one (all but MiT, whose /2 feature is empty). */
export function everyFeature(b: GraphBuilder, name: string, image: Value, size: SmpEncoderSize): Value[] {
  return SMP_ENCODERS[name].build(b, image, size).map((v, i) => {
    if (!v) throw new Error(`${name}: feature ${i} is empty`);
    return v;
  });
}

/** An encoder's graph on an RGB image of height x width (64x64 by default), its features as outputs f0.., and their shapes. */
export function encoderGraph(name: string, size: SmpEncoderSize & { height?: number; width?: number }): { graph: Graph; features: number[][] } {
  const b = new GraphBuilder();
  const f = everyFeature(b, name, b.input('image', [1, size.height ?? 64, size.width ?? 64, 3]), size);
  f.forEach((v, i) => b.output(`f${i}`, v));
  return { graph: b.build(), features: f.map((v) => [...v.shape]) };
}

/** The PRNG kind of a derived encoder tensor by its name and shape (conv weights, BN weights, biases, running statistics). */
export function derivedKind(name: string, shape: readonly number[]): string {
  if (shape.length === 4) return 'conv';
  if (/se\.conv_(reduce|expand)\.bias$/.test(name)) return 'bias';
  return /\.weight$/.test(name) ? 'bn_weight' : /\.bias$/.test(name) ? 'bias' : /running_mean$/.test(name) ? 'mean' : 'var';
}

/**
 * A temporary smp folder of an encoder without a fixture: its state dict derived by a test
 * (`encoder`: file names and PyTorch shapes, values from the PRNG), on the decoder of `fixture`
 * (whose input widths `decoderShape` may change), config.json the fixture's with `encoderName`.
 */
export function derivedEncoderFolder(
  fixture: string,
  encoderName: string,
  encoder: Iterable<[string, number[]]>,
  decoderShape: (name: string, shape: number[]) => number[] = (_n, s) => s,
): { dir: string; state: TensorMap } {
  const state: TensorMap = new Map();
  for (const [name, s] of encoder) {
    if (name.endsWith('.num_batches_tracked')) state.set(name, { shape: [], data: Float32Array.of(0), sourceDType: 'i64' });
    else state.set(name, { shape: s, data: smpPrngValues(name, s, derivedKind(name, s)), sourceDType: 'f32' });
  }
  for (const [name, shape, , k, gain] of readSmpManifest(fixture).rows) {
    if (name.startsWith('encoder.')) continue;
    const s = decoderShape(name, [...shape]);
    state.set(name, k === 'count' ? { shape: s, data: Float32Array.of(0), sourceDType: 'i64' } : { shape: s, data: smpPrngValues(name, s, k, gain), sourceDType: 'f32' });
  }
  const dir = mkdtempSync(join(tmpdir(), `smp-${encoderName}-`));
  const config = JSON.parse(readFileSync(smpFixture(fixture, 'config.json'), 'utf8'));
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...config, encoder_name: encoderName }));
  writeFileSync(join(dir, 'model.safetensors'), safetensorsBytes(state));
  return { dir, state };
}
