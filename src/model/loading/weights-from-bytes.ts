// Weights from the bytes of one file (TF Lite, a torchvision or mmseg .pth, safetensors, a TF zoo
// tarball), on any platform, with no file system: the format is told by its record
// (src/model/loading/formats/), which reads the bytes and builds the LoadedWeights. Node's loader
// (load-weights.ts) finds and reads files and folders; the browser entry fetches bytes.
import { checkFormatOptions, detectWeightFormat as detectFormat, weightFormat } from './formats/registry.js';
import type { WeightFormatName } from './formats/names.js';
import type { LoadContext } from './formats/format.js';
import type { LoadOptions } from './options.js';
import type { LoadedWeights, WeightHints } from './loaded-weights.js';

export { type LoadedWeights, type WeightHints, scaledRates } from './loaded-weights.js';
export { TORCHVISION_SHORT_SIDE } from './torchvision-model.js';

/** A format one file holds (a record whose reader takes bytes). */
export type FileWeightFormat = WeightFormatName;

/**
 * The format of a weights file the page loads, from its first bytes (TF Lite's 'TFL3'
 * identifier, a zip for .pth, gzip, safetensors' little-endian header length and JSON), else
 * from its name's ending.
 */
export function detectWeightFormat(bytes: Uint8Array, name: string): FileWeightFormat {
  return detectFormat(bytes, name, { page: true }).name;
}

/**
 * Weights from the bytes of one file; `name` names the model, `source` the file in errors,
 * `hints` what a registry entry adds.
 */
export function weightsFromBytes(
  bytes: Uint8Array,
  format: FileWeightFormat,
  name: string,
  opts: LoadOptions = {},
  source = name,
  hints: WeightHints = {},
  siblings?: LoadContext['siblings'],
): LoadedWeights {
  const record = weightFormat(format, source);
  const { read, title } = record;
  checkFormatOptions(record, opts, source);
  if (read.kind !== 'file') throw new Error(`${source}: a ${title} is read from a folder's files, not from one file's bytes`);
  try {
    return read.load(bytes, { name, source, opts, hints, ...(siblings ? { siblings } : {}) });
  } catch (e) {
    // The readers see bytes only: name the file where they did not.
    const message = (e as Error).message;
    if (message.includes(source)) throw e;
    throw new Error(`${source}: ${message}`, { cause: e });
  }
}
