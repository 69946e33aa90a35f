// The weights of test/fixtures/tf-xception: make_fixtures.py's counter PRNG (the team's, from
// ../shared/fixtures/mmseg/README.md) under TF DeepLab's variable names, bit for bit.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TensorMap } from '../../src/model/weights/import/tensor-map.js';
import { fmix32, fnv1a32 } from './mmseg-prng.js';

export const XCEPTION_FIXTURES = join(process.cwd(), 'test', 'fixtures', 'tf-xception');

export interface XceptionManifest {
  seed: number;
  num_classes: number;
  variables: [string, number[]][];
  bn_epsilon: Record<string, number>;
  cases: { name: string; height: number; width: number; output_stride: number; atrous_rates: number[]; logits_shape: number[] }[];
}

export const xceptionManifest = (): XceptionManifest => JSON.parse(readFileSync(join(XCEPTION_FIXTURES, 'manifest.json'), 'utf8')) as XceptionManifest;

/** make_fixtures.py's prng(): the counter PRNG, the kind of values from TF's variable name. */
export function xceptionPrngValues(name: string, shape: readonly number[], seed: number): Float32Array {
  const n = shape.reduce((a, b) => a * b, 1);
  const out = new Float32Array(n);
  const leaf = name.slice(name.lastIndexOf('/') + 1);
  const scale = leaf === 'depthwise_weights' ? Math.sqrt(3 / (shape[0] * shape[1])) : leaf === 'weights' ? Math.sqrt(3 / (shape[0] * shape[1] * shape[2])) : 0;
  let state = (fnv1a32(name) ^ seed) >>> 0;
  for (let i = 0; i < n; i++) {
    state = (state + 0x9e3779b9) >>> 0;
    const r = (fmix32(state) >>> 8) * 2 ** -23 - 1;
    out[i] = scale ? r * scale : leaf === 'gamma' || leaf === 'moving_variance' ? 1 + 0.5 * r : leaf === 'biases' ? 0.01 * r : 0.1 * r;
  }
  return out;
}

let cache: TensorMap | undefined;
/** The fixture checkpoint's variables, as TF DeepLab names and shapes them (41.25 M values). */
export function xceptionFixtureVariables(): TensorMap {
  if (!cache) {
    const m = xceptionManifest();
    cache = new Map(m.variables.map(([name, shape]) => [name, { shape, data: xceptionPrngValues(name, shape, m.seed), sourceDType: 'f32' as const }]));
  }
  return cache;
}
