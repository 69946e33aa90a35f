// Turns a model name or a weights path into everything a DeepLabModel needs: the config, a
// graph builder for any input size, and host params in our layouts, checked against the graph.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, extname } from 'node:path';
import type { HostParams } from '../../graph/params.js';
import { readNpyDir } from '../weights/import/npy.js';
import { writeSafetensors } from '../weights/import/safetensors.js';
import type { TensorMap } from '../weights/import/tensor-map.js';
import { type Quantization, quantizedTensors } from '../weights/quantize.js';
import { npyNames } from '../weights/tf-weights.js';
import type { LoadOptions } from './options.js';
import { type RegistryEntry, type WeightFormat, findModel } from './registry.js';
import { resolveWeights } from './weights-store.js';
import { CHECKPOINT_FORMAT, CHECKPOINT_VERSION, type LoadedWeights, tfMobilenetV2, weightsFromBytes } from './weights-from-bytes.js';

export type { LoadedWeights } from './weights-from-bytes.js';
export { scaledRates } from './weights-from-bytes.js';


function formatOfPath(path: string): WeightFormat {
  if (statSync(path).isDirectory()) return 'npy-dir';
  const ext = extname(path).toLowerCase();
  if (ext === '.tflite') return 'tflite';
  if (ext === '.pth' || ext === '.pt') return 'pth';
  if (ext === '.safetensors') return 'safetensors';
  throw new Error(`${path}: unsupported weights format '${ext || '(no extension)'}' (expected .tflite, .pth, .safetensors or a folder of .npy files)`);
}

export async function loadWeights(nameOrPath: string, opts: LoadOptions = {}): Promise<LoadedWeights> {
  let path: string;
  let format: WeightFormat;
  let entry: RegistryEntry | undefined;
  if (existsSync(nameOrPath)) {
    path = nameOrPath;
    format = formatOfPath(path);
  } else {
    if (/[/\\]|\.(tflite|pth|pt|safetensors)$/i.test(nameOrPath)) throw new Error(`weights file not found: ${nameOrPath}`);
    entry = findModel(nameOrPath);
    path = await resolveWeights(entry, { download: opts.download, onProgress: opts.onProgress });
    format = entry.format;
  }
  const name = entry?.name ?? basename(path);
  if (format === 'npy-dir') return tfMobilenetV2(name, entry?.inputSize ?? [513, 513], readNpyDir(path), npyNames, opts);
  return weightsFromBytes(readFileSync(path), format, name, opts, path);
}

/**
 * Our own checkpoint format's tensors and metadata: our layouts (HWIO convs, BN statistics
 * unfolded) and the config, width multiplier and input policy in the metadata. With
 * `extra.quantize`, the convolution weights are stored as int8 or f16 (src/model/weights/quantize.ts).
 */
export function checkpointContents(
  w: LoadedWeights,
  params: HostParams = w.params,
  extra: { tensors?: HostParams; metadata?: Record<string, string>; quantize?: Quantization } = {},
): { tensors: TensorMap; metadata: Record<string, string> } {
  const weights: TensorMap = extra.quantize
    ? quantizedTensors(params, extra.quantize)
    : new Map([...params].map(([k, t]) => [k, { shape: t.shape, data: t.data, sourceDType: 'f32' as const }]));
  const tensors: TensorMap = new Map([...weights, ...[...(extra.tensors ?? [])].map(([k, t]) => [k, { shape: t.shape, data: t.data, sourceDType: 'f32' as const }] as const)]);
  const metadata = {
    ...(extra.quantize ? { quantization: extra.quantize } : {}),
    format: CHECKPOINT_FORMAT,
    version: CHECKPOINT_VERSION,
    name: w.name,
    config: JSON.stringify(w.config),
    depthMultiplier: String(w.depthMultiplier),
    inputPolicy: JSON.stringify(w.inputPolicy),
    classes: JSON.stringify(w.classes),
    ...(w.slide ? { slide: JSON.stringify(w.slide) } : {}),
    ...extra.metadata,
  };
  return { tensors, metadata };
}

/**
 * Writes weights in our own checkpoint format (checkpointContents) as .safetensors, to a
 * temporary file renamed into place, so nothing is half-written.
 */
export function saveCheckpoint(
  path: string,
  w: LoadedWeights,
  params: HostParams = w.params,
  extra: { tensors?: HostParams; metadata?: Record<string, string>; quantize?: Quantization } = {},
): void {
  const { tensors, metadata } = checkpointContents(w, params, extra);
  writeSafetensors(path, tensors, metadata);
}
