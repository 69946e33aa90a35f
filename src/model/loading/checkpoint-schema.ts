// Our own checkpoint format: a safetensors file whose metadata names the format and its version
// and holds what rebuilds the network (the config, the backbone's architecture under its record's
// key, input policy, classes, sliding windows, how weights are quantized). This module reads that
// schema, checking every field the loader relies on; checkpoint-contents.ts writes it.
import { CONFIG_LIMITS, excerpt } from '../../io/reader-rules.js';
import type { HostParams } from '../../graph/params.js';
import type { Architecture } from '../backbones/backbone.js';
import { backboneRecord } from '../backbones/registry.js';
import { fixedInputSize, policySquare, policyWithOptions, readInputPolicy } from '../input-policy.js';
import type { DeepLabConfig } from '../networks/config.js';
import { defaultConfig } from '../backbones/config.js';
import { type ClassSet, defaultClassSet, validateClassSet } from '../voc.js';
import type { HostTensor, TensorMap } from '../weights/import/tensor-map.js';
import { type Quantization, QUANTIZATIONS, paramsFromQuantized } from '../weights/quantize.js';
import { checkStateDictValues } from '../weights/weight-checks.js';
import { TORCHVISION_DEEPLAB_MARKER } from '../weights/torchvision.js';
import { type LoadedWeights, checkedWeights, loadedNetwork, scaledRates } from './loaded-weights.js';
import type { InputPolicy, LoadOptions, SlideWindows } from './options.js';

/** Marks a safetensors file as one of ours, with what is needed to rebuild the network. */
export const CHECKPOINT_FORMAT = 'deeplab-webgpu';
export const CHECKPOINT_VERSION = '1';

/** A metadata value parsed as JSON. */
function metadataJson(metadata: Record<string, string>, key: string, path: string): unknown {
  const text = metadata[key];
  if (text === undefined) throw new Error(`${path}: corrupt checkpoint metadata: no ${key}`);
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new Error(`${path}: corrupt checkpoint metadata (${key}): ${(e as Error).message}`);
  }
}

/** A metadata value parsed as JSON, which must be an object (not null, not an array). */
function metadataObject(metadata: Record<string, string>, key: string, path: string): Record<string, unknown> {
  const v = metadataJson(metadata, key, path);
  if (v === null || typeof v !== 'object' || Array.isArray(v)) {
    throw new Error(`${path}: corrupt checkpoint metadata: ${key} is ${excerpt(v)}, not a JSON object`);
  }
  return v as Record<string, unknown>;
}

const isPositiveInt = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) > 0;

/**
 * The saved config and input policy of one of our checkpoints, each checked for the type the
 * loader relies on (defaultConfig then checks the config's values). A damaged or foreign
 * metadata block is an error naming the file and the field, never a TypeError.
 */
function checkpointSettings(metadata: Record<string, string>, path: string): { saved: DeepLabConfig; inputPolicy: InputPolicy } {
  const config = metadataObject(metadata, 'config', path);
  if (typeof config.backbone !== 'string') throw new Error(`${path}: corrupt checkpoint metadata: config has no backbone`);
  if (!Array.isArray(config.asppRates) || !config.asppRates.every(isPositiveInt)) {
    throw new Error(`${path}: corrupt checkpoint metadata: config.asppRates is ${excerpt(config.asppRates ?? null)}, not a list of positive integers`);
  }
  if (!isPositiveInt(config.outputStride)) {
    throw new Error(`${path}: corrupt checkpoint metadata: config.outputStride is ${excerpt(config.outputStride ?? null)}, not a positive integer`);
  }
  const inputPolicy = readInputPolicy(metadataObject(metadata, 'inputPolicy', path), `${path}: corrupt checkpoint metadata: inputPolicy ${excerpt(metadata.inputPolicy)}`);
  return { saved: config as unknown as DeepLabConfig, inputPolicy };
}

/** One of our checkpoints (a safetensors file's tensors and metadata) as LoadedWeights; `path` names it in errors. */
export function checkpointModel(name: string, path: string, file: { tensors: TensorMap; metadata: Record<string, string> }, opts: LoadOptions): LoadedWeights {
  const { tensors, metadata } = file;
  if (metadata.format !== CHECKPOINT_FORMAT) {
    throw new Error(`${path}: neither a ${CHECKPOINT_FORMAT} checkpoint (its metadata has no format=${CHECKPOINT_FORMAT}) nor a torchvision DeepLabv3 state dict (no ${TORCHVISION_DEEPLAB_MARKER})`);
  }
  if (metadata.version !== CHECKPOINT_VERSION) {
    throw new Error(`${path}: checkpoint version ${metadata.version === undefined ? '(none)' : excerpt(metadata.version)} is not supported (expected ${CHECKPOINT_VERSION})`);
  }
  const settings = checkpointSettings(metadata, path);
  const { saved } = settings;
  const outputStride = opts.outputStride ?? saved.outputStride;
  const config = defaultConfig(saved.backbone, {
    ...saved,
    outputStride,
    asppRates: opts.asppRates ?? scaledRates(saved.asppRates, saved.outputStride, outputStride),
  });
  const network = loadedNetwork(config, architectureFromMetadata(metadata, config.backbone, path));
  // Training state saved beside the weights (optimizer buffers, named '<param>#...') is not weights.
  const stored = new Map([...tensors].filter(([k]) => !k.includes('#')));
  const params: HostParams = quantizedParams(stored, metadata.quantization, path);
  const inputPolicy = policyWithOptions(settings.inputPolicy, opts);
  const square = policySquare(inputPolicy);
  const slide = slideFromMetadata(metadata, path);
  const side = slide ? Math.min(slide.crop, square.width) : square.width;
  const fixed = fixedInputSize(inputPolicy);
  const probe: [number, number] = fixed ? [fixed.width, fixed.height] : [side, side];
  const classes = classesFromMetadata(metadata, config.numClasses, path);
  return checkedWeights({ name: metadata.name ?? name, config, ...network, inputPolicy, params, probeSize: probe, classes, ...(slide ? { slide } : {}) }, path);
}

/**
 * The backbone's architecture, under its record's key (the record's default where the file has
 * none: a backbone its name fixes, or a file written before the weights gave its sizes).
 */
function architectureFromMetadata(metadata: Record<string, string>, backbone: string, path: string): Architecture {
  const { architecture } = backboneRecord(backbone);
  const key = architecture.metadataKey;
  if (key === undefined || metadata[key] === undefined) return architecture.default;
  return architecture.fromJson(metadataJson(metadata, key, path), `${path}: corrupt checkpoint metadata: ${key}`);
}

/**
 * The weights of a checkpoint, with those stored compactly (`quantization` int8 or f16 in its
 * metadata) kept compact, to be widened on the GPU.
 */
function quantizedParams(tensors: ReadonlyMap<string, HostTensor>, quantization: string | undefined, path: string): HostParams {
  if (quantization === undefined) {
    checkStateDictValues(tensors, path);
    return new Map([...tensors].map(([k, t]) => [k, { shape: t.shape, data: t.data }]));
  }
  if (!(QUANTIZATIONS as readonly string[]).includes(quantization)) {
    throw new Error(`${path}: checkpoint quantization ${excerpt(quantization)} is not one we read (${QUANTIZATIONS.join(', ')})`);
  }
  return paramsFromQuantized(tensors, quantization as Quantization, path);
}

/** The sliding windows a checkpoint's metadata records (mmseg models that slide), checked. */
function slideFromMetadata(metadata: Record<string, string>, path: string): SlideWindows | undefined {
  if (metadata.slide === undefined) return undefined;
  const slide = metadataObject(metadata, 'slide', path);
  if (!isPositiveInt(slide.crop) || !isPositiveInt(slide.stride) || slide.crop > CONFIG_LIMITS.rate || slide.stride > CONFIG_LIMITS.rate) {
    throw new Error(`${path}: corrupt checkpoint metadata: slide ${excerpt(metadata.slide)} is not {crop, stride} with positive integers`);
  }
  return { crop: slide.crop, stride: slide.stride };
}

/** The class names and colours a safetensors file carries, or the defaults. */
export function classesFromMetadata(metadata: Record<string, string>, numClasses: number, path: string): ClassSet {
  if (metadata.classes === undefined) return defaultClassSet(numClasses);
  const classes = metadataObject(metadata, 'classes', path) as unknown as ClassSet;
  validateClassSet(classes, numClasses, path);
  return classes;
}
