// Turns a model name or a weights path into everything a DeepLabModel needs: the config, a
// graph builder for any input size, and host params in our layouts, checked against the graph.
// Paths are files (TF Lite, .pth, safetensors, a TF zoo .tar.gz, a frozen graph), TF checkpoint
// prefixes, or folders (.npy tensors, or an unpacked zoo tarball); a registry entry adds what
// its file does not say (mmseg's test pipeline, the classes, the input size).
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';
import type { HostParams } from '../../graph/params.js';
import { datasetClassSet } from '../datasets.js';
import { settingsFromName } from '../weights/mmseg-config.js';
import { writeSafetensors } from '../weights/import/safetensors.js';
import type { Quantization } from '../weights/quantize.js';
import type { FileSet, WeightFormatRecord } from './formats/format.js';
import { WEIGHT_EXTENSIONS, WEIGHT_FORMATS, folderFormat, formatOfName, looksLikeWeightsPath } from './formats/registry.js';
import type { LoadOptions } from './options.js';
import { type RegistryEntry, findModel } from './registry.js';
import { resolveWeights } from './weights-store.js';
import { checkpointContents } from './checkpoint-contents.js';
import { type LoadedWeights, type WeightHints, detectWeightFormat, weightsFromBytes } from './weights-from-bytes.js';
import { describeValue, printableName } from '../input-check.js';

export type { LoadedWeights } from './weights-from-bytes.js';
export { scaledRates } from './weights-from-bytes.js';
export { checkpointContents } from './checkpoint-contents.js';

/** A path resolved to its format: the record, and for a folder format its files (and a checkpoint's prefix). */
type PathFormat = { format: WeightFormatRecord; files?: FileSet; prefix?: string };

/** A folder's files, by name, read on demand. */
function folderFiles(dir: string): FileSet {
  return { names: readdirSync(dir), read: (n) => readFileSync(join(dir, n)), what: dir };
}

/** A folder's format from its files (a TF zoo model's, else .npy tensors). */
function folderPath(dir: string): PathFormat {
  const files = folderFiles(dir);
  return { format: folderFormat(files), files };
}

/** The format of a path by its kind and name; a TF checkpoint prefix (or its .index) reads its folder. */
function formatOfPath(path: string): PathFormat {
  const tf = WEIGHT_FORMATS['tf-folder'];
  if (!existsSync(path) && existsSync(`${path}.index`)) return { format: tf, files: folderFiles(dirname(path)), prefix: basename(path) };
  if (statSync(path).isDirectory()) return folderPath(path);
  const format = formatOfName(path);
  if (format?.read.kind === 'folder') {
    // A file naming a folder format's model (a checkpoint's .index): its folder, by its prefix.
    const ext = format.extensions.find((e) => path.toLowerCase().endsWith(e)) ?? '';
    return { format, files: folderFiles(dirname(path)), prefix: basename(path).slice(0, basename(path).length - ext.length) };
  }
  if (format) return { format };
  throw new Error(
    `${path}: unsupported weights format '${extname(path.toLowerCase()) || '(no extension)'}' (expected a file ending ${WEIGHT_EXTENSIONS.join(', ')}, ` +
      'a model.ckpt prefix, or a folder of .npy files or of a TF zoo model)',
  );
}

/** Whether a name is meant as a path (it looks like one) rather than a registry model. */
export function looksLikePath(nameOrPath: string): boolean {
  return looksLikeWeightsPath(nameOrPath);
}

/** A path (or a checkpoint prefix) exists on disk. */
export function pathExists(nameOrPath: string): boolean {
  return existsSync(nameOrPath) || existsSync(`${nameOrPath}.index`);
}

/** What a registry entry adds to its file: mmseg settings, classes, input size. */
export function entryHints(entry: RegistryEntry | undefined): WeightHints {
  if (!entry) return {};
  return {
    ...(entry.mmsegConfig ? { mmseg: settingsFromName(entry.mmsegConfig) } : {}),
    ...(entry.classSet ? { classes: datasetClassSet(entry.classSet) } : {}),
    ...(entry.inputSize ? { inputSize: entry.inputSize } : {}),
  };
}

export async function loadWeights(nameOrPath: string | Uint8Array | ArrayBuffer, opts: LoadOptions = {}): Promise<LoadedWeights> {
  // A weights file's bytes, as the page's loadModel takes them: the format told by the bytes.
  if (nameOrPath instanceof ArrayBuffer) nameOrPath = new Uint8Array(nameOrPath);
  if (nameOrPath instanceof Uint8Array) {
    const name = opts.name ?? 'weights';
    return weightsFromBytes(nameOrPath, detectWeightFormat(nameOrPath, name), name, opts, name);
  }
  if (typeof nameOrPath !== 'string' || nameOrPath === '') {
    throw new Error(`loadModel: weights must be a registry name, a path, or a weights file's bytes (a Uint8Array or ArrayBuffer), got ${describeValue(nameOrPath)}`);
  }
  let path: string;
  let resolved: PathFormat;
  let entry: RegistryEntry | undefined;
  if (pathExists(nameOrPath)) {
    path = nameOrPath;
    resolved = formatOfPath(path);
  } else {
    if (looksLikePath(nameOrPath)) throw new Error(`weights file not found: ${printableName(nameOrPath)}`);
    entry = findModel(nameOrPath);
    path = await resolveWeights(entry, { download: opts.download, onProgress: opts.onProgress, signal: opts.signal });
    opts.signal?.throwIfAborted();
    // A local copy may be a folder (the unpacked tarball, converted .npy tensors).
    resolved = statSync(path).isDirectory() ? folderPath(path) : { format: WEIGHT_FORMATS[entry.format] };
  }
  const name = entry?.name ?? basename(path);
  const hints = entryHints(entry);
  const { format, files, prefix } = resolved;
  if (format.read.kind === 'file') return weightsFromBytes(readFileSync(path), format.name, name, opts, path, hints);
  return format.read.load(files ?? folderFiles(path), { name, source: path, opts, hints, prefix });
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
