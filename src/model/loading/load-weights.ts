// Turns a model name or a weights path into everything a DeepLabModel needs: the config, a
// graph builder for any input size, and host params in our layouts, checked against the graph.
import { existsSync, statSync } from 'node:fs';
import { basename, extname } from 'node:path';
import type { Graph } from '../../graph/ir.js';
import { type HostParams, checkParams } from '../../graph/params.js';
import { type DeepLabConfig, defaultConfig } from '../networks/config.js';
import { readNpyDir } from '../weights/import/npy.js';
import { readPth } from '../weights/import/pth.js';
import { readSafetensors, writeSafetensors } from '../weights/import/safetensors.js';
import { readTflite, tfliteTensorMap } from '../weights/import/tflite.js';
import type { InputPolicy, LoadOptions } from './options.js';
import { type NetworkSize, buildDeepLab } from '../networks/deeplab.js';
import { type RegistryEntry, type WeightFormat, findModel } from './registry.js';
import { checkTfliteStructure } from '../weights/tflite-structure.js';
import { npyNames, tfMobilenetV2Params, tfliteNames } from '../weights/tf-weights.js';
import { TORCHVISION_DEEPLAB_MARKER, torchvisionConfigFromState, torchvisionParams } from '../weights/torchvision.js';
import { resolveWeights } from './weights-store.js';
import { type ClassSet, defaultClassSet, validateClassSet } from '../voc.js';

export interface LoadedWeights {
  name: string;
  config: DeepLabConfig;
  inputPolicy: InputPolicy;
  /** MobileNetV2's width multiplier (1 for other backbones). */
  depthMultiplier: number;
  /** Unfolded params in our layouts (BN statistics kept; folding is a graph pass). */
  params: HostParams;
  /**
   * The canonical network for one batch and input size: input 'image' [N,H,W,3] normalised,
   * output 'logits'; `training` adds what only training has (dropout).
   */
  buildGraph(size: NetworkSize, opts?: { training?: boolean }): Graph;
  /** An input size to build at load time (width, height), to check the weights early. */
  probeSize: [number, number];
  /** Class names and colours (VOC's unless the checkpoint names its own). */
  classes: ClassSet;
}

/** torchvision's reference evaluation resizes the short side to 520 (LoadOptions.shortSide overrides). */
const TORCHVISION_SHORT_SIDE = 520;

function formatOfPath(path: string): WeightFormat {
  if (statSync(path).isDirectory()) return 'npy-dir';
  const ext = extname(path).toLowerCase();
  if (ext === '.tflite') return 'tflite';
  if (ext === '.pth' || ext === '.pt') return 'pth';
  if (ext === '.safetensors') return 'safetensors';
  throw new Error(`${path}: unsupported weights format '${ext || '(no extension)'}' (expected .tflite, .pth, .safetensors or a folder of .npy files)`);
}

/** ASPP rates follow the output stride (6/12/18 at 16 become 12/24/36 at 8) unless given. */
export function scaledRates(rates: number[], fromStride: number, toStride: number): number[] {
  return rates.map((r) => Math.max(1, Math.round((r * fromStride) / toStride)));
}

/** The network of a config for any batch and input size. */
function graphFactory(config: DeepLabConfig, depthMultiplier = 1): LoadedWeights['buildGraph'] {
  return (size, opts) => buildDeepLab(config, size, { depthMultiplier, dropout: opts?.training });
}

function tfMobilenetV2(name: string, size: [number, number], source: Parameters<typeof tfMobilenetV2Params>[1], resolver: typeof npyNames, opts: LoadOptions): LoadedWeights {
  // The first conv has 32 x multiplier filters; its weight is OHWI in both TF sources.
  const stem = source.get(resolver('MobilenetV2/Conv', 'weights', false)[0]);
  if (!stem) throw new Error(`${name}: no MobilenetV2/Conv weights: not a TF DeepLab MobileNetV2 file`);
  const depthMultiplier = stem.shape[0] / 32;
  const config = defaultConfig('mobilenet_v2', {
    outputStride: opts.outputStride ?? 8,
    asppRates: opts.asppRates ?? [],
  });
  const buildGraph = graphFactory(config, depthMultiplier);
  const probe = buildGraph({ height: size[0], width: size[1] });
  const params = tfMobilenetV2Params(probe, source, resolver, name);
  return {
    name,
    config,
    depthMultiplier,
    inputPolicy: { kind: 'fixed', height: size[0], width: size[1] },
    params,
    buildGraph,
    probeSize: [size[1], size[0]],
    classes: defaultClassSet(config.numClasses),
  };
}

function torchvisionModel(name: string, state: ReturnType<typeof readPth>, opts: LoadOptions): LoadedWeights {
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

export async function loadWeights(nameOrPath: string, opts: LoadOptions = {}): Promise<LoadedWeights> {
  let path: string;
  let format: WeightFormat;
  let entry: RegistryEntry | undefined;
  if (existsSync(nameOrPath)) {
    path = nameOrPath;
    format = formatOfPath(path);
  } else {
    if (/[/\\]|\.(tflite|pth|pt|safetensors)$/i.test(nameOrPath)) throw new Error(`weights file not found: ${nameOrPath}`);
    entry = findModel(nameOrPath);
    path = await resolveWeights(entry, { download: opts.download, onProgress: opts.onProgress });
    format = entry.format;
  }
  const name = entry?.name ?? basename(path);
  switch (format) {
    case 'tflite': {
      const tfl = readTflite(path);
      const input = tfl.tensors[tfl.inputs[0]];
      if (!input || input.shape.length !== 4 || input.shape[3] !== 3) {
        throw new Error(`${path}: expected one NHWC RGB input, got ${input ? `[${input.shape.join(',')}]` : 'none'}`);
      }
      const loaded = tfMobilenetV2(name, [input.shape[1], input.shape[2]], tfliteTensorMap(tfl), tfliteNames, opts);
      // The file's own strides, pads, rates and resize options must be what we built.
      if (loaded.config.outputStride === 8) checkTfliteStructure(tfl, loaded.buildGraph({ height: input.shape[1], width: input.shape[2] }), path);
      return loaded;
    }
    case 'npy-dir':
      return tfMobilenetV2(name, entry?.inputSize ?? [513, 513], readNpyDir(path), npyNames, opts);
    case 'pth':
      return torchvisionModel(name, readPth(path), opts);
    case 'safetensors':
      return safetensorsModel(name, path, opts);
  }
}

/** Marks a safetensors file as one of ours, with what is needed to rebuild the network. */
const CHECKPOINT_FORMAT = 'deeplab-webgpu';
const CHECKPOINT_VERSION = '1';

/**
 * Writes weights in our own checkpoint format: safetensors with our layouts (HWIO convs, BN
 * statistics unfolded) and the config, width multiplier and input policy in the metadata.
 * Written to a temporary file and renamed, so nothing is half-written.
 */
export function saveCheckpoint(
  path: string,
  w: LoadedWeights,
  params: HostParams = w.params,
  extra: { tensors?: HostParams; metadata?: Record<string, string> } = {},
): void {
  const all = [...params, ...(extra.tensors ?? [])];
  const tensors = new Map(all.map(([k, t]) => [k, { shape: t.shape, data: t.data, sourceDType: 'f32' as const }]));
  writeSafetensors(path, tensors, {
    format: CHECKPOINT_FORMAT,
    version: CHECKPOINT_VERSION,
    name: w.name,
    config: JSON.stringify(w.config),
    depthMultiplier: String(w.depthMultiplier),
    inputPolicy: JSON.stringify(w.inputPolicy),
    classes: JSON.stringify(w.classes),
    ...extra.metadata,
  });
}

function checkpointModel(name: string, path: string, file: ReturnType<typeof readSafetensors>, opts: LoadOptions): LoadedWeights {
  const { tensors, metadata } = file;
  if (metadata.format !== CHECKPOINT_FORMAT) {
    throw new Error(`${path}: neither a ${CHECKPOINT_FORMAT} checkpoint (its metadata has no format=${CHECKPOINT_FORMAT}) nor a torchvision DeepLabv3 state dict (no ${TORCHVISION_DEEPLAB_MARKER})`);
  }
  if (metadata.version !== CHECKPOINT_VERSION) throw new Error(`${path}: checkpoint version ${metadata.version} is not supported (expected ${CHECKPOINT_VERSION})`);
  let saved: DeepLabConfig;
  let inputPolicy: InputPolicy;
  try {
    saved = JSON.parse(metadata.config) as DeepLabConfig;
    inputPolicy = JSON.parse(metadata.inputPolicy) as InputPolicy;
  } catch (e) {
    throw new Error(`${path}: corrupt checkpoint metadata: ${(e as Error).message}`);
  }
  const outputStride = opts.outputStride ?? saved.outputStride;
  const config = defaultConfig(saved.backbone, {
    ...saved,
    outputStride,
    asppRates: opts.asppRates ?? scaledRates(saved.asppRates, saved.outputStride, outputStride),
  });
  const depthMultiplier = Number(metadata.depthMultiplier ?? '1');
  const buildGraph = graphFactory(config, depthMultiplier);
  // Training state saved beside the weights (optimizer buffers, named '<param>#...') is not weights.
  const params: HostParams = new Map([...tensors].filter(([k]) => !k.includes('#')).map(([k, t]) => [k, { shape: t.shape, data: t.data }]));
  if (inputPolicy.kind === 'short-side' && opts.shortSide) inputPolicy = { kind: 'short-side', size: opts.shortSide };
  const probe: [number, number] = inputPolicy.kind === 'fixed' ? [inputPolicy.width, inputPolicy.height] : [inputPolicy.size, inputPolicy.size];
  checkParams(buildGraph({ height: probe[1], width: probe[0] }), params, path);
  const classes = classesFromMetadata(metadata, config.numClasses, path);
  return { name: metadata.name ?? name, config, depthMultiplier, inputPolicy, params, buildGraph, probeSize: probe, classes };
}

/** The class names and colours a safetensors file carries, or the defaults. */
function classesFromMetadata(metadata: Record<string, string>, numClasses: number, path: string): ClassSet {
  if (metadata.classes === undefined) return defaultClassSet(numClasses);
  let classes: ClassSet;
  try {
    classes = JSON.parse(metadata.classes) as ClassSet;
  } catch (e) {
    throw new Error(`${path}: corrupt checkpoint metadata (classes): ${(e as Error).message}`);
  }
  validateClassSet(classes, numClasses, path);
  return classes;
}

/** A safetensors file: one of our checkpoints, or a torchvision DeepLabv3 state dict (as we export). */
function safetensorsModel(name: string, path: string, opts: LoadOptions): LoadedWeights {
  const { tensors, metadata } = readSafetensors(path);
  if (metadata.format !== CHECKPOINT_FORMAT && tensors.has(TORCHVISION_DEEPLAB_MARKER)) {
    const w = torchvisionModel(name, tensors, opts);
    return { ...w, classes: classesFromMetadata(metadata, w.config.numClasses, path) };
  }
  return checkpointModel(name, path, { tensors, metadata }, opts);
}
