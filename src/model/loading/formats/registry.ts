// Every weights format's record by name (format.ts says what a record holds); a name of
// WEIGHT_FORMAT_NAMES without a record is a compile error. Detecting a format from a file's
// bytes or a path's name, the one list of file-name endings, and the one refusal of an unknown
// format live here.
import type { FileSet, WeightFormatRecord } from './format.js';
import type { LoadOptions } from '../options.js';
import { type WeightFormatName, WEIGHT_FORMAT_NAMES } from './names.js';
import { HF_HUB } from './hf-hub.js';
import { NPY_DIR } from './npy-dir.js';
import { ONNX } from './onnx.js';
import { PTH } from './pth.js';
import { SAFETENSORS } from './safetensors.js';
import { SMP_FOLDER } from './smp.js';
import { TF_FOLDER, TF_GRAPH, TF_ZOO } from './tf-zoo.js';
import { TRANSFORMERS_JS } from './transformers-js.js';
import { TFLITE } from './tflite.js';

export const WEIGHT_FORMATS: Readonly<Record<WeightFormatName, WeightFormatRecord>> = {
  tflite: TFLITE,
  pth: PTH,
  'tf-zoo': TF_ZOO,
  safetensors: SAFETENSORS,
  onnx: ONNX,
  'npy-dir': NPY_DIR,
  'tf-graph': TF_GRAPH,
  'tf-folder': TF_FOLDER,
  'hf-hub': HF_HUB,
  smp: SMP_FOLDER,
  'transformers-js': TRANSFORMERS_JS,
};

/** The records in WEIGHT_FORMAT_NAMES' order (the order first bytes are tried in). */
export function weightFormats(): WeightFormatRecord[] {
  return WEIGHT_FORMAT_NAMES.map((n) => WEIGHT_FORMATS[n]);
}

/** The record of a format; an unknown name is an error naming the known ones. */
export function weightFormat(name: string, what = 'weights format'): WeightFormatRecord {
  if (!(WEIGHT_FORMAT_NAMES as readonly string[]).includes(name)) {
    throw new Error(`${what}: unknown weights format '${name}' (expected one of ${WEIGHT_FORMAT_NAMES.join(', ')})`);
  }
  return WEIGHT_FORMATS[name as WeightFormatName];
}

/** The formats a registry entry may name. */
export const REGISTRY_FORMATS: readonly WeightFormatName[] = weightFormats()
  .filter((f) => f.registry)
  .map((f) => f.name);

/** Every file-name ending a format takes, in the formats' order. */
export const WEIGHT_EXTENSIONS: readonly string[] = weightFormats().flatMap((f) => f.extensions);

/** The format a file name's ending says (the longest ending that matches), or undefined. */
export function formatOfName(name: string, formats: readonly WeightFormatRecord[] = weightFormats()): WeightFormatRecord | undefined {
  const lower = name.toLowerCase();
  let best: WeightFormatRecord | undefined;
  let bestLength = 0;
  for (const f of formats) {
    for (const ext of f.extensions) {
      if (lower.endsWith(ext) && ext.length > bestLength) [best, bestLength] = [f, ext.length];
    }
  }
  return best;
}

/** Whether a name stands for a weights file or folder by its form: a path, a format's ending or a prefix. */
export function looksLikeWeightsPath(name: string): boolean {
  return /[/\\]/.test(name) || formatOfName(name) !== undefined || weightFormats().some((f) => f.prefixNames?.test(name));
}

/** The folder format of a folder's files (the first record, in order, that recognises them; among the page's, with `page`). */
export function folderFormat(files: FileSet, o: { page?: boolean } = {}): WeightFormatRecord {
  const candidates = weightFormats().filter((f) => f.read.kind === 'folder' && (!o.page || f.page));
  const found = candidates.find((f) => f.read.kind === 'folder' && f.read.recognise(files));
  if (!found) throw new Error(`${files.what}: a folder of no weights format we know${o.page ? ` (the page reads ${orTitles(candidates)})` : ''}`);
  return found;
}

/** "TF Lite, PyTorch .pth, TF zoo .tar.gz or safetensors". */
function orTitles(formats: readonly WeightFormatRecord[]): string {
  const titles = formats.map((f) => f.title);
  return titles.length === 1 ? titles[0] : `${titles.slice(0, -1).join(', ')} or ${titles[titles.length - 1]}`;
}

/**
 * The format of one weights file from its first bytes, else from its name's ending, among the
 * file formats (those the page has, with `page`).
 */
export function detectWeightFormat(bytes: Uint8Array, name: string, o: { page?: boolean } = {}): WeightFormatRecord {
  const files = weightFormats().filter((f) => f.read.kind === 'file' && (!o.page || f.page));
  const sniffed = files.find((f) => f.read.kind === 'file' && f.read.sniff?.(bytes));
  if (sniffed) return sniffed;
  const named = formatOfName(name, files);
  if (named) return named;
  const first = Array.from(bytes.subarray(0, 8), (b) => b.toString(16).padStart(2, '0')).join(' ');
  throw new Error(`${name}: not a weights file we know (expected ${orTitles(files.filter((f) => f.read.kind === 'file' && f.read.sniff))}; first bytes ${first})`);
}

/** Refuses the options a format does not read: `dtype`, which only a transformers.js folder has. */
export function checkFormatOptions(format: WeightFormatRecord, opts: LoadOptions, source: string): void {
  if (opts.dtype !== undefined && !format.dtype) {
    const takers = orTitles(weightFormats().filter((f) => f.dtype));
    throw new Error(`${source}: dtype (which of a ${takers}'s ONNX files runs) does not apply to ${format.title} weights`);
  }
}
