// Turns a model name, a weights path or a file's bytes into everything a DeepLabModel needs: the
// config, a graph builder for any input size, and host params in our layouts, checked against the
// graph. What the argument is (bytes, a file, a folder and whose layout, a registry name) is
// decided in weights-source.ts; the format's record reads it (src/model/loading/formats/).
import { dirname, join } from 'node:path';
import { readFileBytes } from '../../io/file-bytes.js';
import type { HostParams } from '../../graph/params.js';
import { writeSafetensors } from '../weights/import/safetensors.js';
import type { Quantization } from '../weights/quantize.js';
import type { LoadOptions } from './options.js';
import { checkpointContents } from './checkpoint-contents.js';
import { checkFormatOptions } from './formats/registry.js';
import { type LoadedWeights, weightsFromBytes } from './weights-from-bytes.js';
import { weightsSource } from './weights-source.js';

export type { LoadedWeights } from './weights-from-bytes.js';
export { scaledRates } from './weights-from-bytes.js';
export { checkpointContents } from './checkpoint-contents.js';
export { entryHints, looksLikePath, pathExists } from './weights-source.js';

/** The weights a loadModel argument names (weights-source.ts decides what it is), read by its format's reader. */
export async function loadWeights(nameOrPath: string | Uint8Array | ArrayBuffer, opts: LoadOptions = {}): Promise<LoadedWeights> {
  const s = await weightsSource(nameOrPath, opts);
  const { format, name, source, hints } = s;
  checkFormatOptions(format, opts, source);
  if (s.kind === 'folder') {
    if (format.read.kind !== 'folder') throw new Error(`${source}: a ${format.title} is one file, not a folder`);
    return format.read.load(s.files, { name, source, opts, hints, prefix: s.prefix });
  }
  if (s.kind === 'bytes') return weightsFromBytes(s.bytes, format.name, name, opts, source, hints);
  const dir = dirname(s.path);
  // Files beside the weights (an ONNX file's external data) under the same file rules.
  return weightsFromBytes(readFileBytes(s.path), format.name, name, opts, source, hints, (file) => readFileBytes(join(dir, file)));
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
