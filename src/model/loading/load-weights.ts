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
import { readNpyDir } from '../weights/import/npy.js';
import { writeSafetensors } from '../weights/import/safetensors.js';
import type { Quantization } from '../weights/quantize.js';
import { npyNames } from '../weights/tf-weights.js';
import type { LoadOptions } from './options.js';
import { type RegistryEntry, type WeightFormat, findModel } from './registry.js';
import { resolveWeights } from './weights-store.js';
import { checkpointContents } from './checkpoint-contents.js';
import { FROZEN_GRAPH, type ZooFiles, tfZooModel, zooVariables } from './tf-zoo-model.js';
import { type LoadedWeights, type WeightHints, tfMobilenetV2, weightsFromBytes } from './weights-from-bytes.js';

export type { LoadedWeights } from './weights-from-bytes.js';
export { scaledRates } from './weights-from-bytes.js';
export { checkpointContents } from './checkpoint-contents.js';

/** What a path on disk holds, by its kind and name. */
type PathKind = WeightFormat | 'tf-folder' | 'tf-prefix' | 'tf-graph';

/** A TF zoo folder holds a checkpoint (`*.index`) or a frozen graph; any other folder is .npy files. */
function isTfZooFolder(dir: string): boolean {
  return readdirSync(dir).some((f) => f.endsWith('.index') || f === FROZEN_GRAPH);
}

function kindOfPath(path: string): PathKind {
  if (!existsSync(path) && existsSync(`${path}.index`)) return 'tf-prefix';
  if (statSync(path).isDirectory()) return isTfZooFolder(path) ? 'tf-folder' : 'npy-dir';
  const lower = path.toLowerCase();
  if (lower.endsWith('.tar.gz') || lower.endsWith('.tgz') || lower.endsWith('.tar')) return 'tf-zoo';
  if (lower.endsWith('.index')) return 'tf-prefix';
  const ext = extname(lower);
  if (ext === '.pb') return 'tf-graph';
  if (ext === '.tflite') return 'tflite';
  if (ext === '.pth' || ext === '.pt') return 'pth';
  if (ext === '.safetensors') return 'safetensors';
  throw new Error(
    `${path}: unsupported weights format '${ext || '(no extension)'}' (expected .tflite, .pth, .safetensors, a TF zoo .tar.gz, ` +
      'a model.ckpt prefix, a frozen_inference_graph.pb, or a folder of .npy files or of a TF zoo model)',
  );
}

/** Whether a name is meant as a path (it looks like one) rather than a registry model. */
export function looksLikePath(nameOrPath: string): boolean {
  return /[/\\]|\.(tflite|pth|pt|safetensors|pb|index|tgz|tar|tar\.gz)$|\.ckpt(-\d+)?$/i.test(nameOrPath);
}

/** A path (or a checkpoint prefix) exists on disk. */
export function pathExists(nameOrPath: string): boolean {
  return existsSync(nameOrPath) || existsSync(`${nameOrPath}.index`);
}

/** The files of a TF zoo folder, by name, read on demand. */
function folderFiles(dir: string): ZooFiles {
  return { names: readdirSync(dir), read: (n) => readFileSync(join(dir, n)), what: dir };
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

export async function loadWeights(nameOrPath: string, opts: LoadOptions = {}): Promise<LoadedWeights> {
  let path: string;
  let kind: PathKind;
  let entry: RegistryEntry | undefined;
  if (pathExists(nameOrPath)) {
    path = nameOrPath;
    kind = kindOfPath(path);
  } else {
    if (looksLikePath(nameOrPath)) throw new Error(`weights file not found: ${nameOrPath}`);
    entry = findModel(nameOrPath);
    path = await resolveWeights(entry, { download: opts.download, onProgress: opts.onProgress });
    kind = statSync(path).isDirectory() ? (isTfZooFolder(path) ? 'tf-folder' : 'npy-dir') : entry.format;
  }
  const name = entry?.name ?? basename(path);
  const hints = entryHints(entry);
  switch (kind) {
    case 'npy-dir':
      return tfMobilenetV2(name, entry?.inputSize ?? [513, 513], readNpyDir(path), npyNames, opts, hints.classes);
    case 'tf-folder':
      return tfZooModel(name, zooVariables(folderFiles(path)), opts, hints, hints.inputSize);
    case 'tf-prefix': {
      const prefix = path.toLowerCase().endsWith('.index') ? path.slice(0, -'.index'.length) : path;
      return tfZooModel(name, zooVariables(folderFiles(dirname(prefix)), basename(prefix)), opts, hints, hints.inputSize);
    }
    case 'tf-graph': {
      const files: ZooFiles = { names: [FROZEN_GRAPH], read: () => readFileSync(path), what: path };
      return tfZooModel(name, zooVariables(files), opts, hints, hints.inputSize);
    }
    default:
      return weightsFromBytes(readFileSync(path), kind, name, opts, path, hints);
  }
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
