// Turns a model name or a weights path into everything a DeepLabModel needs: the config, a
// graph builder for any input size, and host params in our layouts, checked against the graph.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, extname } from 'node:path';
import type { HostParams } from '../../graph/params.js';
import { readNpyDir } from '../weights/import/npy.js';
import { writeSafetensors } from '../weights/import/safetensors.js';
import type { Quantization } from '../weights/quantize.js';
import { npyNames } from '../weights/tf-weights.js';
import type { LoadOptions } from './options.js';
import { type RegistryEntry, type WeightFormat, findModel } from './registry.js';
import { resolveWeights } from './weights-store.js';
import { checkpointContents } from './checkpoint-contents.js';
import { type LoadedWeights, tfMobilenetV2, weightsFromBytes } from './weights-from-bytes.js';

export type { LoadedWeights } from './weights-from-bytes.js';
export { scaledRates } from './weights-from-bytes.js';
export { checkpointContents } from './checkpoint-contents.js';


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
