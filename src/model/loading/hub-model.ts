// A Hugging Face hub folder of a `transformers` DeepLabV3 (config.json,
// preprocessor_config.json, model.safetensors, or pytorch_model.bin where a repository has only
// that) as LoadedWeights. The backbone record whose `weights.transformers.modelType` is the
// config's model_type reads the config's architectural values and the weights (its
// `weights.transformers`); the class names come from id2label, the input policy and
// normalisation from the processor's config.
// The processor's BGR flip is folded into the stem's weights (its input channels reversed), so
// the network takes RGB like every other model here.
import { CONFIG_LIMITS, excerpt } from '../../io/reader-rules.js';
import { backboneRecords } from '../backbones/registry.js';
import { defaultConfig } from '../backbones/config.js';
import { type ClassSet, defaultClassSet } from '../voc.js';
import { readTorchCheckpoint } from '../weights/import/pth.js';
import { readSafetensors } from '../weights/import/safetensors.js';
import type { TensorMap } from '../weights/import/tensor-map.js';
import { reverseInputChannels } from '../weights/layouts.js';
import { readConfigJson } from './config-json.js';
import type { FileSet } from './formats/format.js';
import { hubProcessor } from './hub-processor.js';
import { policySquare, policyWithOptions } from '../input-policy.js';
import { type LoadedWeights, checkedWeights, loadedNetwork, scaledRates } from './loaded-weights.js';
import type { LoadOptions } from './options.js';

export const HUB_CONFIG = 'config.json';
export const HUB_PROCESSOR = 'preprocessor_config.json';
/** The weights files a hub folder may hold, preferred first. */
export const HUB_WEIGHTS = ['model.safetensors', 'pytorch_model.bin'] as const;

/** The config.json model_types our own networks build (the backbone records that read transformers' weights). */
export function hubModelTypes(): string[] {
  return backboneRecords().flatMap((r) => (r.weights.transformers ? [r.weights.transformers.modelType] : []));
}

/** Whether a folder's names are a hub folder's: a config.json beside a weights file. */
export function isHubFolder(names: readonly string[]): boolean {
  return names.includes(HUB_CONFIG) && HUB_WEIGHTS.some((w) => names.includes(w));
}

function readJson(files: FileSet, name: string): unknown {
  if (!files.names.includes(name)) throw new Error(`${files.what}: no ${name} (a hub folder holds config.json, preprocessor_config.json and model.safetensors)`);
  return readConfigJson(files, name);
}

/** The folder's tensors as the file stores them (transformers' names, PyTorch layouts). */
export function hubTensors(files: FileSet): TensorMap {
  const file = HUB_WEIGHTS.find((w) => files.names.includes(w));
  if (!file) throw new Error(`${files.what}: no ${HUB_WEIGHTS.join(' or ')}`);
  const source = `${files.what}/${file}`;
  return file === 'model.safetensors' ? readSafetensors(files.read(file), source).tensors : readTorchCheckpoint(files.read(file), source).tensors;
}

/**
 * config.json's `architectures`, where it is given: a list of model class names, one of them a
 * semantic segmentation model's (`lacks` says what another model's file would not give).
 */
export function checkArchitectures(json: Record<string, unknown>, what: string, lacks: string): void {
  const a = json.architectures;
  if (a === undefined || a === null) return;
  if (!Array.isArray(a) || !a.every((x) => typeof x === 'string')) throw new Error(`${what}: architectures must be a list of model class names, got ${excerpt(a)}`);
  if (!a.some((x: string) => x.endsWith('ForSemanticSegmentation'))) throw new Error(`${what}: architectures ${excerpt(a)} has no semantic segmentation model (${lacks})`);
}

/** Class names from id2label: keys 0..n-1, each once. */
export function hubClasses(json: Record<string, unknown>, what: string): ClassSet {
  const id2label = json.id2label;
  if (typeof id2label !== 'object' || id2label === null || Array.isArray(id2label)) throw new Error(`${what}: id2label must be an object of class names by index, got ${excerpt(id2label)}`);
  const entries = Object.entries(id2label as Record<string, unknown>);
  /** A key as the messages quote it, bounded. */
  const quoted = (key: string): string => `'${excerpt(key).slice(1, -1)}'`;
  if (entries.length > CONFIG_LIMITS.classes) throw new Error(`${what}: id2label names ${entries.length} classes, more than ${CONFIG_LIMITS.classes} (labels are bytes)`);
  const names: string[] = [];
  for (const [key, label] of entries) {
    const i = Number(key);
    if (!Number.isInteger(i) || i < 0 || i >= entries.length || String(i) !== key) throw new Error(`${what}: id2label key ${quoted(key)} is not an index 0..${entries.length - 1}`);
    if (typeof label !== 'string') throw new Error(`${what}: id2label[${quoted(key)}] must be a string, got ${excerpt(label)}`);
    names[i] = label;
  }
  return { names, colors: defaultClassSet(names.length).colors };
}

export function hubModel(name: string, files: FileSet, opts: LoadOptions = {}): LoadedWeights {
  const configWhat = `${files.what}/${HUB_CONFIG}`;
  const json = readJson(files, HUB_CONFIG);
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new Error(`${configWhat}: not a JSON object`);
  const j = json as Record<string, unknown>;
  const takers = backboneRecords().filter((r) => r.weights.transformers);
  const record = takers.find((r) => r.weights.transformers!.modelType === j.model_type);
  const expected = takers.map((r) => `'${r.weights.transformers!.modelType}'`).join(' or ');
  if (j.model_type === undefined) throw new Error(`${configWhat}: model_type is missing (a hub config.json names it: ${expected}; an smp folder's names its _model_class)`);
  if (!record) throw new Error(`${configWhat}: model_type ${excerpt(j.model_type)} is not a DeepLabV3 we load (expected ${expected})`);
  checkArchitectures(j, configWhat, 'a classification checkpoint has no DeepLabV3 head');
  const classes = hubClasses(j, configWhat);
  const processor = hubProcessor(readJson(files, HUB_PROCESSOR), `${files.what}/${HUB_PROCESSOR}`, { json: j, what: configWhat });
  const tensors = hubTensors(files);
  const weightsWhat = `${files.what}: ${HUB_WEIGHTS.find((w) => files.names.includes(w))}`;
  const source = record.weights.transformers!;
  const hub = source.read(j, tensors, { numLabels: classes.names.length, what: configWhat, weightsWhat });
  const outputStride = opts.outputStride ?? hub.config.outputStride;
  const config = defaultConfig(record.name, {
    ...hub.config,
    numClasses: classes.names.length,
    outputStride,
    asppRates: opts.asppRates ?? scaledRates(hub.config.asppRates, hub.config.outputStride, outputStride),
    normalization: processor.normalization,
  });
  const params = hub.params;
  if (processor.flipChannels) {
    const w = params.get(source.stem);
    if (!w || w.shape.length !== 4 || w.shape[2] !== 3) throw new Error(`${files.what}: no 3-channel stem weight '${source.stem}' to take the processor's BGR flip`);
    params.set(source.stem, reverseInputChannels(w as { shape: number[]; data: Float32Array }));
  }
  const policy = policyWithOptions(processor.policy, opts);
  const square = policySquare(policy);
  return checkedWeights({ name, config, ...loadedNetwork(config, hub.architecture), inputPolicy: policy, params, probeSize: [square.width, square.height], classes }, weightsWhat);
}
