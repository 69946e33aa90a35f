// Loading a model in the browser: the bytes of a TF Lite, torchvision .pth, safetensors or ONNX file
// from a URL, a File / Blob, or an ArrayBuffer, or a Hugging Face hub folder's files (dropped,
// by name, or from a URL ending in '/'), parsed by the same readers as in Node.
import type { LoadOptions } from '../model/loading/options.js';
import { checkFormatOptions, folderFormat } from '../model/loading/formats/registry.js';
import { type LoadedWeights, detectWeightFormat, weightsFromBytes } from '../model/loading/weights-from-bytes.js';
import { type HubFiles, fetchHubFolder, hubFileSet, isFolderUrl, isHubFiles } from './hub-files.js';
import { DeepLabModel } from '../model/model.js';
import { hasCpuRuntime, startCpuRuntime } from '../model/devices/cpu/cpu-runtime.js';
import { checkSignal } from '../util/option-keys.js';
import { checkOptionNames } from '../model/input-check.js';

/** One weights file (a URL, a File or Blob, bytes), or a hub folder: its files, or its URL ending in '/'. */
export type WeightsSource = string | URL | Blob | ArrayBuffer | Uint8Array | HubFiles;

export interface BrowserLoadOptions
  extends Pick<
    LoadOptions,
    'device' | 'outputStride' | 'asppRates' | 'shortSide' | 'centerCrop' | 'ownSize' | 'dataset' | 'ctx' | 'onProgress' | 'precision' | 'tune' | 'tuneBudgetMs' | 'memoryBudget' | 'deviceLoss' | 'onDeviceLost' | 'signal' | 'inputSize' | 'mean' | 'std' | 'output' | 'dtype'
  > {
  /** The model's name (default: the file's name). */
  name?: string;
}

const BROWSER_LOAD_OPTION_NAMES: readonly (keyof BrowserLoadOptions)[] = [
  'device', 'outputStride', 'asppRates', 'shortSide', 'centerCrop', 'ownSize', 'dataset', 'ctx', 'onProgress', 'precision', 'tune', 'tuneBudgetMs', 'memoryBudget', 'name', 'deviceLoss', 'onDeviceLost', 'signal',
  // ONNX files (docs/models.md#onnx-files).
  'inputSize', 'mean', 'std', 'output',
  // transformers.js folders (docs/models.md#transformersjs-folders).
  'dtype',
];

/** The bytes and a name of a weights source. */
async function readSource(source: WeightsSource, signal?: AbortSignal): Promise<{ bytes: Uint8Array; name: string }> {
  if (typeof source === 'string' || source instanceof URL) {
    const url = String(source);
    let response: Response;
    try {
      response = await fetch(url, { signal });
    } catch (e) {
      if (signal?.aborted) throw signal.reason;
      throw new Error(`${url}: the weights could not be fetched (${(e as Error).message})`);
    }
    if (!response.ok) throw new Error(`${url}: the weights could not be fetched (HTTP ${response.status} ${response.statusText})`);
    const name = decodeURIComponent(new URL(url, globalThis.location?.href).pathname.split('/').pop() || url);
    return { bytes: new Uint8Array(await response.arrayBuffer()), name };
  }
  if (source instanceof Blob) {
    const name = 'name' in source && typeof source.name === 'string' ? source.name : 'weights';
    return { bytes: new Uint8Array(await source.arrayBuffer()), name };
  }
  if (source instanceof ArrayBuffer) return { bytes: new Uint8Array(source), name: 'weights' };
  if (source instanceof Uint8Array) return { bytes: source, name: 'weights' };
  throw new Error('loadModel: weights must be a URL, a File or Blob, an ArrayBuffer or a Uint8Array');
}

/**
 * How long a load with `tune: 'full'` may take in the page by default (parsing, compiling and
 * tuning: the budget is a deadline on the whole load, src/model/load-deadline.ts), and the
 * tuner's patience per layer.
 */
const PAGE_TUNE_BUDGET_MS = 10_000;
const PAGE_TUNE_PATIENCE = 2;

/** The weights of a source: one file (its format told by its first bytes), or a hub folder. */
async function sourceWeights(source: WeightsSource, opts: BrowserLoadOptions): Promise<LoadedWeights> {
  if (isHubFiles(source) || isFolderUrl(source)) {
    const files = isHubFiles(source) ? await hubFileSet(source) : await fetchHubFolder(source, fetch, opts.dtype);
    opts.onProgress?.(`parsing ${files.what}`);
    const format = folderFormat(files, { page: true });
    if (format.read.kind !== 'folder') throw new Error(`${files.what}: not a folder format`);
    checkFormatOptions(format, opts, files.what);
    return format.read.load(files, { name: opts.name ?? files.what, source: files.what, opts, hints: {} });
  }
  const { bytes, name } = await readSource(source, opts.signal);
  opts.onProgress?.(`parsing ${name} (${(bytes.length / 2 ** 20).toFixed(1)} MiB)`);
  return weightsFromBytes(bytes, detectWeightFormat(bytes, name), opts.name ?? name, opts, name);
}

/** A model from one weights file or a hub folder. */
export async function loadModel(source: WeightsSource, opts: BrowserLoadOptions = {}): Promise<DeepLabModel> {
  const start = performance.now();
  checkOptionNames(opts, BROWSER_LOAD_OPTION_NAMES, 'loadModel');
  const signal = checkSignal('loadModel', opts.signal);
  signal?.throwIfAborted();
  // A model bound for the CPU (asked for, or 'auto' where the browser has no WebGPU): its
  // runtime starts while the weights download and parse.
  if (opts.device === 'cpu' || ((opts.device ?? 'auto') === 'auto' && !('gpu' in navigator) && hasCpuRuntime())) startCpuRuntime();
  const weights = await sourceWeights(source, opts);
  signal?.throwIfAborted();
  // Tuning in the page: the whole load within the budget, counted from this call (the layers
  // with most work first, each stopping after two candidates no faster than its best), once,
  // stored in IndexedDB for the next load.
  const tuneBudgetMs = opts.tune === 'full' ? (opts.tuneBudgetMs ?? PAGE_TUNE_BUDGET_MS) : opts.tuneBudgetMs;
  const full = opts.tune === 'full';
  const quickTuning = full ? { patience: PAGE_TUNE_PATIENCE } : undefined;
  const loadDeadline = full ? start + tuneBudgetMs! : undefined;
  return DeepLabModel.fromWeights(weights, { device: opts.device, ctx: opts.ctx, onProgress: opts.onProgress, precision: opts.precision, tune: opts.tune, tuneBudgetMs, quickTuning, loadDeadline, memoryBudget: opts.memoryBudget, deviceLoss: opts.deviceLoss, onDeviceLost: opts.onDeviceLost, signal, paramsChecked: true });
}
