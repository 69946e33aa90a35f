// Weights from the bytes of one file (TF Lite, a torchvision or mmseg .pth, safetensors, a TF zoo
// tarball), on any platform: the parsing and the building of a LoadedWeights, with no file
// system. Node's loader (load-weights.ts) finds and reads files and folders; the browser entry
// fetches bytes.
import { type HostParams, checkParams } from '../../graph/params.js';
import { type DeepLabConfig, defaultConfig } from '../networks/config.js';
import { type ClassSet, defaultClassSet, validateClassSet } from '../voc.js';
import { readSafetensors } from '../weights/import/safetensors.js';
import type { HostTensor, TensorMap } from '../weights/import/tensor-map.js';
import { readTflite, tfliteTensorMap } from '../weights/import/tflite.js';
import { type Quantization, QUANTIZATIONS, paramsFromQuantized } from '../weights/quantize.js';
import { checkTfliteStructure } from '../weights/tflite-structure.js';
import { checkStateDictValues } from '../weights/weight-checks.js';
import { tfliteNames } from '../weights/tf-weights.js';
import { TORCHVISION_DEEPLAB_MARKER, torchvisionConfigFromState, torchvisionParams } from '../weights/torchvision.js';
import { isMmsegDeepLab } from '../weights/mmseg.js';
import { isLegacyTorchFile, readTorchCheckpoint } from '../weights/import/pth.js';
import { isGzip } from '../weights/import/tar.js';
import { tarballFiles, tfZooModel, zooVariables } from './tf-zoo-model.js';
import { mmsegModel } from './mmseg-model.js';
import { policySquare } from '../input-policy.js';
import type { InputPolicy, LoadOptions, SlideWindows } from './options.js';
import { type LoadedWeights, type WeightHints, graphFactory, scaledRates, tfMobilenetV2 } from './loaded-weights.js';
import type { WeightFormat } from './registry.js';

export { type LoadedWeights, type WeightHints, graphFactory, scaledRates, tfMobilenetV2 } from './loaded-weights.js';

/** The formats one file holds (a folder of .npy files is Node's alone). */
export type FileWeightFormat = Exclude<WeightFormat, 'npy-dir'>;

/**
 * The format of a weights file from its first bytes (TF Lite's 'TFL3' identifier, a zip for
 * .pth, safetensors' little-endian header length and JSON), else from its name's extension.
 */
export function detectWeightFormat(bytes: Uint8Array, name: string): FileWeightFormat {
  const ascii = (from: number, n: number) => String.fromCharCode(...bytes.subarray(from, from + n));
  if (bytes.length >= 8 && ascii(4, 4) === 'TFL3') return 'tflite';
  if (bytes.length >= 4 && ascii(0, 4) === 'PK\x03\x04') return 'pth';
  if (isLegacyTorchFile(bytes)) return 'pth';
  if (isGzip(bytes)) return 'tf-zoo';
  if (bytes.length >= 9 && bytes[8] === 0x7b /* '{' */) {
    const headerLength = new DataView(bytes.buffer, bytes.byteOffset, 8).getUint32(0, true);
    if (headerLength > 0 && headerLength <= bytes.length - 8) return 'safetensors';
  }
  const ext = /\.([a-z]+)$/i.exec(name)?.[1]?.toLowerCase();
  if (ext === 'tflite') return 'tflite';
  if (ext === 'pth' || ext === 'pt') return 'pth';
  if (ext === 'safetensors') return 'safetensors';
  throw new Error(`${name}: not a weights file we know (expected TF Lite, a PyTorch .pth, safetensors or a TF zoo .tar.gz; first bytes ${Array.from(bytes.subarray(0, 8), (b) => b.toString(16).padStart(2, '0')).join(' ')})`);
}

/**
 * Weights from the bytes of one file; `name` names the model, `source` the file in errors,
 * `hints` what a registry entry adds.
 */
export function weightsFromBytes(bytes: Uint8Array, format: FileWeightFormat, name: string, opts: LoadOptions = {}, source = name, hints: WeightHints = {}): LoadedWeights {
  try {
    return parseWeights(bytes, format, name, opts, source, hints);
  } catch (e) {
    // The readers see bytes only: name the file where they did not.
    const message = (e as Error).message;
    if (message.includes(source)) throw e;
    throw new Error(`${source}: ${message}`, { cause: e });
  }
}

function parseWeights(bytes: Uint8Array, format: FileWeightFormat, name: string, opts: LoadOptions, source: string, hints: WeightHints): LoadedWeights {
  switch (format) {
    case 'tflite': {
      const tfl = readTflite(bytes, source);
      const input = tfl.tensors[tfl.inputs[0]];
      if (!input || input.shape.length !== 4 || input.shape[3] !== 3) {
        throw new Error(`${source}: expected one NHWC RGB input, got ${input ? `[${input.shape.join(',')}]` : 'none'}`);
      }
      const loaded = tfMobilenetV2(name, [input.shape[1], input.shape[2]], tfliteTensorMap(tfl), tfliteNames, opts);
      // The file's own strides, pads, rates and resize options must be what we built.
      if (loaded.config.outputStride === 8) checkTfliteStructure(tfl, loaded.buildGraph({ height: input.shape[1], width: input.shape[2] }), source);
      return loaded;
    }
    case 'pth': {
      const checkpoint = readTorchCheckpoint(bytes, source);
      if (isMmsegDeepLab(checkpoint.tensors)) return mmsegModel(name, checkpoint, opts, source, hints);
      return torchvisionModel(name, checkpoint.tensors, opts);
    }
    case 'safetensors':
      return safetensorsModel(name, bytes, source, opts);
    case 'tf-zoo':
      return tfZooModel(name, zooVariables(tarballFiles(bytes, source)), opts, hints, hints.inputSize);
  }
}

/** torchvision's reference evaluation resizes the short side to 520 (LoadOptions.shortSide overrides). */
export const TORCHVISION_SHORT_SIDE = 520;








function torchvisionModel(name: string, state: TensorMap, opts: LoadOptions): LoadedWeights {
  const base = torchvisionConfigFromState(state, {}, name);
  const outputStride = opts.outputStride ?? base.outputStride;
  const config = torchvisionConfigFromState(
    state,
    { outputStride, asppRates: opts.asppRates ?? scaledRates(base.asppRates, base.outputStride, outputStride), aux: false },
    name,
  );
  const buildGraph = graphFactory(config);
  const params = torchvisionParams(state, config);
  checkParams(buildGraph({ height: 65, width: 65 }), params, name);
  const shortSide = opts.shortSide ?? TORCHVISION_SHORT_SIDE;
  return {
    name,
    config,
    depthMultiplier: 1,
    inputPolicy: { kind: 'short-side', size: shortSide },
    params,
    buildGraph,
    probeSize: [shortSide, shortSide],
    classes: defaultClassSet(config.numClasses),
  };
}


/** Marks a safetensors file as one of ours, with what is needed to rebuild the network. */
export const CHECKPOINT_FORMAT = 'deeplab-webgpu';
export const CHECKPOINT_VERSION = '1';


/** A metadata value parsed as JSON, which must be an object (not null, not an array). */
function metadataObject(metadata: Record<string, string>, key: string, path: string): Record<string, unknown> {
  const text = metadata[key];
  if (text === undefined) throw new Error(`${path}: corrupt checkpoint metadata: no ${key}`);
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new Error(`${path}: corrupt checkpoint metadata (${key}): ${(e as Error).message}`);
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) {
    throw new Error(`${path}: corrupt checkpoint metadata: ${key} is ${JSON.stringify(v)}, not a JSON object`);
  }
  return v as Record<string, unknown>;
}

const isPositiveInt = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) > 0;

/**
 * The saved config, input policy and width multiplier of one of our checkpoints, each checked for
 * the type the loader relies on (defaultConfig then checks the config's values). A damaged or
 * foreign metadata block is an error naming the file and the field, never a TypeError.
 */
function checkpointSettings(metadata: Record<string, string>, path: string): { saved: DeepLabConfig; inputPolicy: InputPolicy; depthMultiplier: number } {
  const config = metadataObject(metadata, 'config', path);
  if (typeof config.backbone !== 'string') throw new Error(`${path}: corrupt checkpoint metadata: config has no backbone`);
  if (!Array.isArray(config.asppRates) || !config.asppRates.every(isPositiveInt)) {
    throw new Error(`${path}: corrupt checkpoint metadata: config.asppRates is ${JSON.stringify(config.asppRates ?? null)}, not a list of positive integers`);
  }
  if (!isPositiveInt(config.outputStride)) {
    throw new Error(`${path}: corrupt checkpoint metadata: config.outputStride is ${JSON.stringify(config.outputStride ?? null)}, not a positive integer`);
  }
  const policy = metadataObject(metadata, 'inputPolicy', path);
  let inputPolicy: InputPolicy;
  if (policy.kind === 'fixed' && isPositiveInt(policy.height) && isPositiveInt(policy.width)) {
    inputPolicy = { kind: 'fixed', height: policy.height, width: policy.width };
  } else if (policy.kind === 'short-side' && isPositiveInt(policy.size)) {
    inputPolicy = { kind: 'short-side', size: policy.size };
  } else if (policy.kind === 'keep-ratio' && isPositiveInt(policy.long) && isPositiveInt(policy.short)) {
    inputPolicy = { kind: 'keep-ratio', long: policy.long, short: policy.short };
  } else {
    throw new Error(
      `${path}: corrupt checkpoint metadata: inputPolicy ${metadata.inputPolicy} is none of {kind: 'fixed', height, width}, {kind: 'short-side', size}, {kind: 'keep-ratio', long, short} with positive integers`,
    );
  }
  const depthMultiplier = Number(metadata.depthMultiplier ?? '1');
  if (!Number.isFinite(depthMultiplier) || depthMultiplier <= 0) {
    throw new Error(`${path}: corrupt checkpoint metadata: depthMultiplier ${JSON.stringify(metadata.depthMultiplier)} is not a positive number`);
  }
  return { saved: config as unknown as DeepLabConfig, inputPolicy, depthMultiplier };
}


function checkpointModel(name: string, path: string, file: ReturnType<typeof readSafetensors>, opts: LoadOptions): LoadedWeights {
  const { tensors, metadata } = file;
  if (metadata.format !== CHECKPOINT_FORMAT) {
    throw new Error(`${path}: neither a ${CHECKPOINT_FORMAT} checkpoint (its metadata has no format=${CHECKPOINT_FORMAT}) nor a torchvision DeepLabv3 state dict (no ${TORCHVISION_DEEPLAB_MARKER})`);
  }
  if (metadata.version !== CHECKPOINT_VERSION) {
    throw new Error(`${path}: checkpoint version ${metadata.version === undefined ? '(none)' : JSON.stringify(metadata.version)} is not supported (expected ${CHECKPOINT_VERSION})`);
  }
  const settings = checkpointSettings(metadata, path);
  const { saved, depthMultiplier } = settings;
  let inputPolicy = settings.inputPolicy;
  const outputStride = opts.outputStride ?? saved.outputStride;
  const config = defaultConfig(saved.backbone, {
    ...saved,
    outputStride,
    asppRates: opts.asppRates ?? scaledRates(saved.asppRates, saved.outputStride, outputStride),
  });
  const buildGraph = graphFactory(config, depthMultiplier);
  // Training state saved beside the weights (optimizer buffers, named '<param>#...') is not weights.
  const stored = new Map([...tensors].filter(([k]) => !k.includes('#')));
  const params: HostParams = quantizedParams(stored, metadata.quantization, path);
  if (inputPolicy.kind === 'short-side' && opts.shortSide) inputPolicy = { kind: 'short-side', size: opts.shortSide };
  if (inputPolicy.kind === 'keep-ratio' && opts.testScale) inputPolicy = { kind: 'keep-ratio', long: opts.testScale[0], short: opts.testScale[1] };
  const square = policySquare(inputPolicy);
  const slide = slideFromMetadata(metadata, path);
  const side = slide ? Math.min(slide.crop, square.width) : square.width;
  const probe: [number, number] = inputPolicy.kind === 'fixed' ? [square.width, square.height] : [side, side];
  checkParams(buildGraph({ height: probe[1], width: probe[0] }), params, path);
  const classes = classesFromMetadata(metadata, config.numClasses, path);
  return { name: metadata.name ?? name, config, depthMultiplier, inputPolicy, params, buildGraph, probeSize: probe, classes, ...(slide ? { slide } : {}) };
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
    throw new Error(`${path}: checkpoint quantization ${JSON.stringify(quantization)} is not one we read (${QUANTIZATIONS.join(', ')})`);
  }
  return paramsFromQuantized(tensors, quantization as Quantization, path);
}

/** The sliding windows a checkpoint's metadata records (mmseg models that slide), checked. */
function slideFromMetadata(metadata: Record<string, string>, path: string): SlideWindows | undefined {
  if (metadata.slide === undefined) return undefined;
  const slide = metadataObject(metadata, 'slide', path);
  if (!isPositiveInt(slide.crop) || !isPositiveInt(slide.stride)) {
    throw new Error(`${path}: corrupt checkpoint metadata: slide ${metadata.slide} is not {crop, stride} with positive integers`);
  }
  return { crop: slide.crop, stride: slide.stride };
}

/** The class names and colours a safetensors file carries, or the defaults. */
function classesFromMetadata(metadata: Record<string, string>, numClasses: number, path: string): ClassSet {
  if (metadata.classes === undefined) return defaultClassSet(numClasses);
  const classes = metadataObject(metadata, 'classes', path) as unknown as ClassSet;
  validateClassSet(classes, numClasses, path);
  return classes;
}


/** A safetensors file: one of our checkpoints, or a torchvision DeepLabv3 state dict (as we export). */
function safetensorsModel(name: string, bytes: Uint8Array, path: string, opts: LoadOptions): LoadedWeights {
  const { tensors, metadata } = readSafetensors(bytes, path);
  if (metadata.format !== CHECKPOINT_FORMAT && tensors.has(TORCHVISION_DEEPLAB_MARKER)) {
    const w = torchvisionModel(name, tensors, opts);
    return { ...w, classes: classesFromMetadata(metadata, w.config.numClasses, path) };
  }
  return checkpointModel(name, path, { tensors, metadata }, opts);
}
