// The counter PRNG that defines the weights of ../shared/fixtures/mmseg (its README, "Weights: the
// PRNG"): each tensor's values from its state-dict name and the seed, bit for bit, so the state
// dicts the fixtures' manifests describe are rebuilt here without weight files.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { TensorMap } from '../../src/model/weights/import/tensor-map.js';
import { sharedPath } from '../shared.js';

export function fnv1a32(s: string): number {
  let h = 0x811c9dc5;
  for (const b of new TextEncoder().encode(s)) h = Math.imul(h ^ b, 0x01000193) >>> 0;
  return h;
}

export function fmix32(z: number): number {
  z ^= z >>> 16;
  z = Math.imul(z, 0x85ebca6b);
  z ^= z >>> 13;
  z = Math.imul(z, 0xc2b2ae35);
  z ^= z >>> 16;
  return z >>> 0;
}

/** The first draws z of a tensor's stream (for the README's check table). */
export function draws(name: string, seed: number, n: number): number[] {
  let state = (fnv1a32(name) ^ seed) >>> 0;
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    state = (state + 0x9e3779b9) >>> 0;
    out.push(fmix32(state));
  }
  return out;
}

/** A tensor's float32 values (not for num_batches_tracked). */
export function prngValues(name: string, shape: readonly number[], seed: number): Float32Array {
  const n = shape.reduce((a, b) => a * b, 1);
  const out = new Float32Array(n);
  const kind = name.endsWith('running_mean') || name.endsWith('.bias') ? 'small' : name.endsWith('running_var') || shape.length === 1 ? 'one' : 'conv';
  const s = kind === 'conv' ? Math.sqrt(3 / (shape[1] * shape[2] * shape[3])) : 0;
  let state = (fnv1a32(name) ^ seed) >>> 0;
  for (let i = 0; i < n; i++) {
    state = (state + 0x9e3779b9) >>> 0;
    const r = (fmix32(state) >>> 8) * 2 ** -23 - 1;
    out[i] = kind === 'conv' ? r * s : kind === 'one' ? 1 + 0.5 * r : 0.1 * r;
  }
  return out;
}

export const NUM_BATCHES_TRACKED = 40000;

export interface ManifestTensor {
  shape: number[];
  dtype: string;
  /** SHA-256 of its bytes (manifest_r18-d8_c19.json only). */
  sha256?: string;
}

export interface Manifest {
  config: string;
  numClasses: number;
  keys: [string, ManifestTensor][];
  sha256All: string;
  backbone: { type: string; depth: number; block_dilations?: number[][] };
  decodeHead: { channels?: number; dilations?: number[] };
}

/** A manifest of ../shared/fixtures/mmseg: its tensors in key order and the hash of all of them. */
export function readManifest(file: string): Manifest {
  const json = JSON.parse(readFileSync(sharedPath('fixtures', 'mmseg', file), 'utf8'));
  const keys = (json.tensors as [string, number[], string, string, string?][]).map(([name, shape, dtype, , sha256]): [string, ManifestTensor] => [name, { shape, dtype, sha256 }]);
  return { config: json.config, numClasses: json.num_classes, keys, sha256All: json.sha256_all.hex, backbone: json.backbone, decodeHead: json.decode_head };
}

/** The manifest's state dict with the PRNG's values (num_batches_tracked as the f32 40000, dtype i64). */
export function prngStateDict(m: Manifest, seed = 1): TensorMap {
  const out: TensorMap = new Map();
  for (const [name, t] of m.keys) {
    if (name.endsWith('num_batches_tracked')) out.set(name, { shape: [...t.shape], data: Float32Array.of(NUM_BATCHES_TRACKED), sourceDType: 'i64' });
    else out.set(name, { shape: [...t.shape], data: prngValues(name, t.shape, seed), sourceDType: 'f32' });
  }
  return out;
}

/** SHA-256 of every tensor's little-endian bytes in key order (int64 for num_batches_tracked), as the manifests give it. */
export function stateDictSha256(state: TensorMap): string {
  const h = createHash('sha256');
  for (const [name, t] of state) {
    if (name.endsWith('num_batches_tracked')) {
      const b = new BigInt64Array([BigInt(t.data[0])]);
      h.update(new Uint8Array(b.buffer));
    } else {
      h.update(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
    }
  }
  return h.digest('hex');
}
