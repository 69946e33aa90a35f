// A small network for the page tests that need the real layers but not their cost: a MobileNetV2
// DeepLab at width 0.25 with seeded random weights and a fixed 17x17 input, written as one of our
// checkpoints for the demo server to serve (SwiftShader segments about 7 frames a second with it
// at 160x120, where the default model at 257x257 takes 3.7 s a frame).
import type { HostParams } from '../../src/graph/params.js';
import { backboneRecord } from '../../src/model/backbones/registry.js';
import { defaultConfig } from '../../src/model/backbones/config.js';
import { saveCheckpoint } from '../../src/model/loading/load-weights.js';
import { loadedNetwork } from '../../src/model/loading/loaded-weights.js';
import { defaultClassSet } from '../../src/model/voc.js';
import { RUN_SEED, makeRng } from '../helpers.js';

/** The network's input side (pixels). */
export const TINY_SIZE = 17;
/** The checkpoint's file name (its model's name is 'tiny-random'). */
export const TINY_WEIGHTS = 'tiny-random.safetensors';

/** MobileNetV2 DeepLab (width 0.25, no image pooling, fixed 17x17 input) with seeded random weights, saved at `path`. */
export function writeTinyCheckpoint(path: string): void {
  const config = defaultConfig('mobilenet_v2', { imagePooling: false });
  // Width 0.25, as the record reads a width multiplier.
  const network = loadedNetwork(config, backboneRecord('mobilenet_v2').architecture.fromJson(0.25, 'the width'));
  const graph = network.buildGraph({ batch: 1, height: TINY_SIZE, width: TINY_SIZE });
  const r = makeRng(RUN_SEED);
  const params: HostParams = new Map();
  for (const p of graph.state) {
    const n = p.shape.reduce((a, b) => a * b, 1);
    // Convolutions He-uniform; batch-norm vectors (scale, shift, mean, variance) in [0.5, 1.5].
    const bound = p.shape.length === 4 ? Math.sqrt(6 / (p.shape[0] * p.shape[1] * p.shape[2])) : 0;
    const data = Float32Array.from({ length: n }, () => (bound ? (2 * r() - 1) * bound : 0.5 + r()));
    params.set(p.name, { shape: [...p.shape], data });
  }
  saveCheckpoint(path, {
    name: 'tiny-random',
    config,
    ...network,
    inputPolicy: { kind: 'fixed', height: TINY_SIZE, width: TINY_SIZE },
    params,
    probeSize: [TINY_SIZE, TINY_SIZE],
    classes: defaultClassSet(config.numClasses),
  });
}
