// `deeplab models`: the registry as a table, with where each model's weights would come from
// right now. Also the one place the other commands open a model, so every command reports a
// failed download or a bad weights file the same way.
import type { DatasetName } from '../../model/datasets.js';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ensureRuntimeDir } from '../../gpu/runtime-dir.js';
import { readFileBytes } from '../../io/file-bytes.js';
import { FILE_LIMITS } from '../../io/reader-rules.js';
import { type DeepLabModel, loadModel } from '../../model/model.js';
import { DEFAULT_MODEL, REGISTRY, type RegistryEntry, findModel } from '../../model/loading/registry.js';
import { weightFormat } from '../../model/loading/formats/registry.js';
import { looksLikePath, pathExists } from '../../model/loading/load-weights.js';
import type { DeviceChoice, Precision } from '../../model/loading/options.js';
import { TRANSFORMERS_JS_DTYPES, type TransformersJsDtype } from '../../model/loading/transformers-js-model.js';
import { cacheDirectory, resolveWeights } from '../../model/loading/weights-store.js';
import { type Command, type CommandSpec, type OptionSpec, UsageError } from '../args.js';
import type { TuneMode } from '../../gpu/tuning.js';
import { readFlag } from '../../util/flags.js';

const spec: CommandSpec = {
  name: 'models',
  summary: 'List the pretrained models deeplab knows, and whether their weights are available locally.',
  positionals: [],
  options: [],
  notes: [
    'Weights are looked up in $DEEPLAB_WEIGHTS_DIR, then in the cache folder ($DEEPLAB_CACHE_DIR, else\n' +
      '~/.cache/deeplab-webgpu on Linux, ~/Library/Caches/deeplab-webgpu on macOS, %LOCALAPPDATA%\\deeplab-webgpu\\Cache\n' +
      'on Windows); models with a download address are fetched into the cache on first use, and a download\n' +
      'that stalls for 30 s stops with an error naming its address.',
  ],
};

/** Where a registry model's weights would be read from, without reading (or hashing) them. */
export function weightsAvailability(entry: RegistryEntry): string {
  const local = readFlag('DEEPLAB_WEIGHTS_DIR');
  const names = [entry.fileName, ...(entry.localCopies ?? [])];
  if (local && names.some((n) => existsSync(join(local, n)))) return 'local (DEEPLAB_WEIGHTS_DIR)';
  if (names.some((n) => existsSync(join(cacheDirectory(), n)))) return 'cached';
  if (entry.url) return `download from ${new URL(entry.url).host}`;
  if (entry.files) return `download from ${new URL(entry.files[0].url).host}`;
  return 'not available (set DEEPLAB_WEIGHTS_DIR)';
}

function inputText(entry: RegistryEntry): string {
  if (entry.inputSize) return `${entry.inputSize[1]}x${entry.inputSize[0]}`;
  return weightFormat(entry.format).input ?? (entry.mmsegConfig ? 'keep-ratio' : 'any');
}

/** Left-aligned columns separated by two spaces. */
export function formatTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n') + '\n';
}

/** Headings of the groups `deeplab models` prints: the classes the models predict. */
const CLASS_SET_TITLES: Record<string, string> = {
  voc: 'PASCAL VOC classes (21: background + 20 objects)',
  cityscapes: 'Cityscapes classes (19: street scenes)',
  ade20k: 'ADE20K classes (150: indoor and outdoor scenes)',
  'ade20k-tf': "ADE20K classes as TF DeepLab trains them (151: 'other' and the 150)",
};

/** The registry grouped by the dataset whose classes the models predict, in the order each first appears. */
export function modelsByDataset(entries: readonly RegistryEntry[] = REGISTRY): Map<string, RegistryEntry[]> {
  const groups = new Map<string, RegistryEntry[]>();
  for (const e of entries) {
    const key = e.classSet ? CLASS_SET_TITLES[e.classSet] : e.dataset;
    groups.set(key, [...(groups.get(key) ?? []), e]);
  }
  return groups;
}

async function run(): Promise<number> {
  const header = ['NAME', 'BACKBONE', 'INPUT', 'OS', 'FORMAT', 'TRAINED ON', 'mIoU', 'WEIGHTS'];
  for (const [dataset, entries] of modelsByDataset()) {
    const rows = entries.map((e) => [
      e.name + (e.name === DEFAULT_MODEL ? ' *' : ''),
      e.backbone,
      inputText(e),
      String(e.outputStride),
      e.format,
      e.dataset,
      e.published ? e.published.mIoU.toFixed(2) : '-',
      weightsAvailability(e),
    ]);
    process.stdout.write(`${dataset}\n${formatTable(header, rows)}\n`);
  }
  process.stdout.write(
    `* default model. INPUT 'any' = the image's own size (torchvision's: short side resized to 520; VainF's: as it is); 'keep-ratio' = mmseg's test\n` +
      `resize (e.g. to fit 2048x1024 for Cityscapes); 'processor' = a hub model's own (shortest edge, centre crop).\n` +
      `OS = output stride. mIoU = the source's published score\n` +
      `(single scale unless its evaluation says otherwise; see the docs).\n` +
      `DEEPLAB_WEIGHTS_DIR=${readFlag('DEEPLAB_WEIGHTS_DIR') ?? '(unset)'}; cache: ${cacheDirectory()}\n`,
  );
  return 0;
}

export const modelsCommand: Command = { spec, run };

/** The option that gives a bare smp state dict (.pth) its config.json (commands that load `--model` take it). */
export const SMP_CONFIG_OPTION: OptionSpec = {
  name: 'smp-config',
  kind: 'value',
  valueName: 'FILE',
  description: "a bare segmentation_models_pytorch state dict (.pth): the model's config.json",
};

/** `--smp-config FILE` read as the smpConfig load option: a JSON object, or an error naming the file. */
export function readSmpConfigOption(path: string | undefined): Record<string, unknown> | undefined {
  if (path === undefined) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(readFileBytes(path, FILE_LIMITS.config)));
  } catch (e) {
    // The file reader's errors start with the path already.
    const message = (e as Error).message;
    throw new UsageError(`--smp-config ${message.startsWith(`${path}: `) ? message : `${path}: ${message}`}`);
  }
  if (!json || typeof json !== 'object' || Array.isArray(json)) throw new UsageError(`--smp-config ${path}: not a JSON object (smp's config.json)`);
  return json as Record<string, unknown>;
}

/** The option that chooses a transformers.js folder's ONNX file (commands that load `--model` take it). */
export const DTYPE_OPTION: OptionSpec = {
  name: 'dtype',
  kind: 'value',
  valueName: TRANSFORMERS_JS_DTYPES.join('|'),
  description: "a transformers.js folder: which ONNX file runs (onnx/model.onnx, model_fp16.onnx, model_quantized.onnx), as transformers.js' dtype",
  defaultText: 'fp32',
};

/** `--dtype` read as the dtype load option: one of the transformers.js dtypes, or a usage error naming them. */
export function parseDtypeOption(text: string | undefined): TransformersJsDtype | undefined {
  if (text === undefined) return undefined;
  if (!(TRANSFORMERS_JS_DTYPES as readonly string[]).includes(text)) throw new UsageError(`--dtype: '${text}' is not one of ${TRANSFORMERS_JS_DTYPES.join(', ')}`);
  return text as TransformersJsDtype;
}

export interface OpenModelOptions {
  /** Where the network runs (LoadOptions.device). */
  device?: DeviceChoice;
  outputStride?: number;
  /** A bare smp state dict's config.json (LoadOptions.smpConfig). */
  smpConfig?: Record<string, unknown>;
  precision?: Precision;
  tune?: TuneMode;
  /** Hub models: false segments the whole image rather than the processor's centre crop. */
  centerCrop?: boolean;
  /** TF zoo files: run the image at its own size (LoadOptions.ownSize). */
  ownSize?: boolean;
  /** The classes of a file that names none (LoadOptions.dataset). */
  dataset?: DatasetName;
  /** A transformers.js folder's ONNX file (LoadOptions.dtype). */
  dtype?: TransformersJsDtype;
  /** Loading messages (downloads, compilation). */
  onMessage?: (message: string) => void;
}

/** Whether `--model` names a registry entry rather than a file or folder. */
function isRegistryName(nameOrPath: string): boolean {
  return !pathExists(nameOrPath) && !looksLikePath(nameOrPath);
}

/**
 * Loads `--model` (a registry name or a weights path) for a command. Errors say which model
 * failed and, for a failed download, how to use files downloaded elsewhere.
 */
export async function openModel(nameOrPath: string, opts: OpenModelOptions = {}): Promise<DeepLabModel> {
  ensureRuntimeDir();
  if (isRegistryName(nameOrPath)) {
    let entry: RegistryEntry;
    try {
      entry = findModel(nameOrPath);
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
    // Resolve (and if needed download) first, so a download failure gets its own hint.
    let downloading = false;
    try {
      await resolveWeights(entry, {
        onProgress: (m) => {
          if (m.startsWith('downloading')) downloading = true;
          opts.onMessage?.(m);
        },
      });
    } catch (e) {
      if (!downloading) throw e;
      throw new Error(
        `model ${entry.name}: cannot download ${entry.fileName}: ${(e as Error).message}. ` +
          `If you have the file already, set DEEPLAB_WEIGHTS_DIR to the folder that holds it.`,
        { cause: e },
      );
    }
  }
  try {
    const { device, outputStride, precision, tune, centerCrop, ownSize, smpConfig, dataset, dtype } = opts;
    return await loadModel(nameOrPath, { device, outputStride, precision, tune, centerCrop, ownSize, dataset, ...(smpConfig ? { smpConfig } : {}), ...(dtype ? { dtype } : {}), onProgress: opts.onMessage });
  } catch (e) {
    const message = (e as Error).message;
    const text = message.includes(nameOrPath) ? `cannot load model: ${message}` : `cannot load model '${nameOrPath}': ${message}`;
    throw new Error(text, { cause: e });
  }
}
