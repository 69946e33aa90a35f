// What a loadModel argument is, decided in one place: a weights file's bytes, a file on disk, a
// folder (and whose layout: a TF zoo model, .npy tensors, a hub or smp folder, a TF checkpoint's),
// or a registry name (resolved to its local file, downloaded if need be, with what its entry
// adds). The format records (src/model/loading/formats/) know the formats; this asks them once and
// returns the source with its format, which load-weights.ts hands to the format's reader.
import { existsSync, lstatSync, readdirSync, readlinkSync, statSync } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';
import { readFileBytes } from '../../io/file-bytes.js';
import { describeValue, printableName } from '../input-check.js';
import { datasetClassSet } from '../datasets.js';
import { settingsFromName } from '../weights/mmseg-config.js';
import type { FileSet, WeightFormatRecord } from './formats/format.js';
import { WEIGHT_EXTENSIONS, WEIGHT_FORMATS, detectWeightFormat, folderFormat, formatOfName, looksLikeWeightsPath, weightFormats } from './formats/registry.js';
import type { WeightHints } from './loaded-weights.js';
import type { LoadOptions } from './options.js';
import { type RegistryEntry, findModel } from './registry.js';
import { resolveWeights } from './weights-store.js';

/** Where weights come from, with the format that reads them, the model's name and what errors call it. */
export type WeightsSource = { format: WeightFormatRecord; name: string; source: string; hints: WeightHints } & (
  | { kind: 'bytes'; bytes: Uint8Array }
  | { kind: 'file'; path: string }
  /** A folder format's files; `prefix` picks a TF checkpoint among its folder's. */
  | { kind: 'folder'; files: FileSet; prefix?: string }
);

/** The place a path names: its format, and for a folder format its files (and a checkpoint's prefix). */
type PathPlace = { kind: 'file'; format: WeightFormatRecord } | { kind: 'folder'; format: WeightFormatRecord; files: FileSet; prefix?: string };

/** The subfolders a folder format reads files from (transformers.js' onnx/): their files are named 'sub/name'. */
const SUBFOLDERS: readonly string[] = [...new Set(weightFormats().flatMap((f) => (f.read.kind === 'folder' ? (f.read.subfolders ?? []) : [])))];

/** The names in a subfolder of `dir`, as 'sub/name'; none where it is no folder. */
function subfolderNames(dir: string, sub: string): string[] {
  const path = join(dir, sub);
  try {
    if (!statSync(path).isDirectory()) return [];
  } catch {
    return []; // a dangling link, say: its files are then missing, and named as such
  }
  try {
    return readdirSync(path).map((n) => `${sub}/${n}`);
  } catch (e) {
    throw new Error(`${path}: the folder cannot be listed (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, { cause: e });
  }
}

/** A folder's files, by name (and those of the subfolders formats read), read on demand under the readers' file rules (src/io/file-bytes.ts). */
function folderFiles(dir: string): FileSet {
  const names = readdirSync(dir);
  const inner = SUBFOLDERS.filter((sub) => names.includes(sub)).flatMap((sub) => subfolderNames(dir, sub));
  return { names: [...names, ...inner], read: (n, maxBytes) => readFileBytes(join(dir, n), maxBytes), what: dir };
}

/** A folder, by the first folder format that recognises its files. */
function folderPlace(dir: string): PathPlace {
  const files = folderFiles(dir);
  return { kind: 'folder', format: folderFormat(files), files };
}

/** The place a path names, by its kind and name; a TF checkpoint prefix (or its .index) reads its folder. */
function placeOfPath(path: string): PathPlace {
  if (!existsSync(path) && existsSync(`${path}.index`)) return { kind: 'folder', format: WEIGHT_FORMATS['tf-folder'], files: folderFiles(dirname(path)), prefix: basename(path) };
  if (statSync(path).isDirectory()) return folderPlace(path);
  const format = formatOfName(path);
  if (format?.read.kind === 'folder') {
    // A file naming a folder format's model (a checkpoint's .index): its folder, by its prefix.
    const ext = format.extensions.find((e) => path.toLowerCase().endsWith(e)) ?? '';
    return { kind: 'folder', format, files: folderFiles(dirname(path)), prefix: basename(path).slice(0, basename(path).length - ext.length) };
  }
  if (format) return { kind: 'file', format };
  throw new Error(
    `${path}: unsupported weights format '${extname(path.toLowerCase()) || '(no extension)'}' (expected a file ending ${WEIGHT_EXTENSIONS.join(', ')}, ` +
      'a model.ckpt prefix, or a folder of .npy files or of a TF zoo model)',
  );
}

/** What a symbolic link at `path` that leads nowhere is, in words; undefined where `path` is no link. */
function brokenLink(path: string): string | undefined {
  try {
    if (!lstatSync(path).isSymbolicLink()) return undefined;
  } catch {
    return undefined;
  }
  try {
    statSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ELOOP') return 'a link that leads back to itself (ELOOP)';
  }
  return `a link to ${printableName(readlinkSync(path))}, which does not exist`;
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
    outputStride: entry.outputStride,
  };
}

/** What a loadModel argument is: bytes (their format from the bytes), a path, or a registry name (resolved, downloaded where allowed). */
export async function weightsSource(nameOrPath: string | Uint8Array | ArrayBuffer, opts: LoadOptions = {}): Promise<WeightsSource> {
  if (nameOrPath instanceof ArrayBuffer) nameOrPath = new Uint8Array(nameOrPath);
  if (nameOrPath instanceof Uint8Array) {
    const name = opts.name ?? 'weights';
    return { kind: 'bytes', bytes: nameOrPath, format: detectWeightFormat(nameOrPath, name, { page: true }), name, source: name, hints: {} };
  }
  if (typeof nameOrPath !== 'string' || nameOrPath === '') {
    throw new Error(`loadModel: weights must be a registry name, a path, or a weights file's bytes (a Uint8Array or ArrayBuffer), got ${describeValue(nameOrPath)}`);
  }
  if (pathExists(nameOrPath)) return atPath(nameOrPath, placeOfPath(nameOrPath));
  if (looksLikePath(nameOrPath)) {
    const broken = brokenLink(nameOrPath);
    if (broken !== undefined) throw new Error(`${nameOrPath}: ${broken}`);
    throw new Error(`weights file not found: ${printableName(nameOrPath)}`);
  }
  const entry = findModel(nameOrPath);
  const path = await resolveWeights(entry, { download: opts.download, onProgress: opts.onProgress, signal: opts.signal });
  opts.signal?.throwIfAborted();
  // A local copy may be a folder (the unpacked tarball, converted .npy tensors).
  const place: PathPlace = statSync(path).isDirectory() ? folderPlace(path) : { kind: 'file', format: WEIGHT_FORMATS[entry.format] };
  return atPath(path, place, entry);
}

function atPath(path: string, place: PathPlace, entry?: RegistryEntry): WeightsSource {
  const common = { format: place.format, name: entry?.name ?? basename(path), source: path, hints: entryHints(entry) };
  return place.kind === 'file' ? { ...common, kind: 'file', path } : { ...common, kind: 'folder', files: place.files, prefix: place.prefix };
}
