// A Hugging Face hub folder of a `transformers` DeepLabV3 (config.json,
// preprocessor_config.json, model.safetensors, or pytorch_model.bin where a repository has only
// that) as LoadedWeights. The backbone record whose `weights.transformers.modelType` is the
// config's model_type builds the network from the config's architectural values; the class
// names come from id2label, the input policy and normalisation from the processor's config.
// The processor's BGR flip is folded into the stem's weights (its input channels reversed), so
// the network takes RGB like every other model here.
import { checkParams } from '../../graph/params.js';
import type { HostParams } from '../../graph/params.js';
import type { Architecture } from '../backbones/backbone.js';
import { backboneRecords } from '../backbones/registry.js';
import { type DeepLabConfig, defaultConfig } from '../networks/config.js';
import { mobileVitConfigFromHub } from '../networks/mobilevit.js';
import { type ClassSet, defaultClassSet } from '../voc.js';
import { readTorchCheckpoint } from '../weights/import/pth.js';
import { readSafetensors } from '../weights/import/safetensors.js';
import type { TensorMap } from '../weights/import/tensor-map.js';
import { transformersParams } from '../weights/transformers.js';
import { mobilenetV2HubConfig, mobilenetV2HubParams } from '../weights/transformers-mobilenet-v2.js';
import type { FileSet } from './formats/format.js';
import { hubProcessor } from './hub-processor.js';
import { type LoadedWeights, loadedNetwork, scaledRates } from './loaded-weights.js';
import type { LoadOptions } from './options.js';

export const HUB_CONFIG = 'config.json';
export const HUB_PROCESSOR = 'preprocessor_config.json';
/** The weights files a hub folder may hold, preferred first. */
export const HUB_WEIGHTS = ['model.safetensors', 'pytorch_model.bin'] as const;

/** Whether a folder's names are a hub folder's: a config.json beside a weights file. */
export function isHubFolder(names: readonly string[]): boolean {
  return names.includes(HUB_CONFIG) && HUB_WEIGHTS.some((w) => names.includes(w));
}

function readJson(files: FileSet, name: string): unknown {
  if (!files.names.includes(name)) throw new Error(`${files.what}: no ${name} (a hub folder holds config.json, preprocessor_config.json and model.safetensors)`);
  try {
    return JSON.parse(new TextDecoder().decode(files.read(name)));
  } catch (e) {
    throw new Error(`${files.what}/${name}: not valid JSON (${(e as Error).message})`, { cause: e });
  }
}

/** The folder's tensors as the file stores them (transformers' names, PyTorch layouts). */
export function hubTensors(files: FileSet): TensorMap {
  const file = HUB_WEIGHTS.find((w) => files.names.includes(w));
  if (!file) throw new Error(`${files.what}: no ${HUB_WEIGHTS.join(' or ')}`);
  const source = `${files.what}/${file}`;
  return file === 'model.safetensors' ? readSafetensors(files.read(file), source).tensors : readTorchCheckpoint(files.read(file), source).tensors;
}

/** Class names from id2label: keys 0..n-1, each once. */
export function hubClasses(json: Record<string, unknown>, what: string): ClassSet {
  const id2label = json.id2label;
  if (typeof id2label !== 'object' || id2label === null || Array.isArray(id2label)) throw new Error(`${what}: id2label must be an object of class names by index, got ${JSON.stringify(id2label)}`);
  const entries = Object.entries(id2label as Record<string, unknown>);
  const names: string[] = [];
  for (const [key, label] of entries) {
    const i = Number(key);
    if (!Number.isInteger(i) || i < 0 || i >= entries.length || String(i) !== key) throw new Error(`${what}: id2label key '${key}' is not an index 0..${entries.length - 1}`);
    if (typeof label !== 'string') throw new Error(`${what}: id2label['${key}'] must be a string, got ${JSON.stringify(label)}`);
    names[i] = label;
  }
  return { names, colors: defaultClassSet(names.length).colors };
}

/** Reverses the input channels of an HWIO weight [kh, kw, cin, cout] (BGR input to RGB). */
function reverseInputChannels(w: { shape: number[]; data: Float32Array }): { shape: number[]; data: Float32Array } {
  const [kh, kw, cin, cout] = w.shape;
  const data = new Float32Array(w.data.length);
  for (let k = 0; k < kh * kw; k++) {
    for (let c = 0; c < cin; c++) data.set(w.data.subarray((k * cin + c) * cout, (k * cin + c + 1) * cout), (k * cin + (cin - 1 - c)) * cout);
  }
  return { shape: w.shape, data };
}

export function hubModel(name: string, files: FileSet, opts: LoadOptions = {}): LoadedWeights {
  const configWhat = `${files.what}/${HUB_CONFIG}`;
  const json = readJson(files, HUB_CONFIG);
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new Error(`${configWhat}: not a JSON object`);
  const j = json as Record<string, unknown>;
  const takers = backboneRecords().filter((r) => r.weights.transformers);
  const record = takers.find((r) => r.weights.transformers!.modelType === j.model_type);
  if (!record) throw new Error(`${configWhat}: model_type ${JSON.stringify(j.model_type)} is not a DeepLabV3 we load (expected ${takers.map((r) => `'${r.weights.transformers!.modelType}'`).join(' or ')})`);
  const architectures = j.architectures;
  if (Array.isArray(architectures) && !architectures.some((a) => typeof a === 'string' && a.endsWith('ForSemanticSegmentation'))) {
    throw new Error(`${configWhat}: architectures ${JSON.stringify(architectures)} has no semantic segmentation model (a classification checkpoint has no DeepLabV3 head)`);
  }
  const classes = hubClasses(j, configWhat);
  const processor = hubProcessor(readJson(files, HUB_PROCESSOR), `${files.what}/${HUB_PROCESSOR}`);
  const tensors = hubTensors(files);
  const weightsWhat = `${files.what}: ${HUB_WEIGHTS.find((w) => files.names.includes(w))}`;
  let config: DeepLabConfig;
  let params: HostParams;
  let architecture: Architecture;
  if (record.name === 'mobilevit') {
    const arch = mobileVitConfigFromHub(j, configWhat);
    if (classes.names.length !== arch.numLabels) throw new Error(`${configWhat}: ${classes.names.length} labels in id2label, num_labels ${arch.numLabels}`);
    const outputStride = opts.outputStride ?? arch.outputStride;
    config = defaultConfig(record.name, {
      numClasses: arch.numLabels,
      outputStride,
      asppRates: opts.asppRates ?? scaledRates([...arch.atrousRates], arch.outputStride, outputStride),
      asppChannels: arch.asppOutChannels,
      normalization: processor.normalization,
    });
    params = transformersParams(tensors);
    // The head's values live in the DeepLab config (they change with a fine-tune or another stride).
    const { numLabels: _n, outputStride: _s, atrousRates: _r, asppOutChannels: _c, ...sizes } = arch;
    architecture = record.architecture.fromJson(sizes, configWhat);
  } else {
    // TF DeepLab's MobileNetV2 in transformers' port: our TF network, no atrous branches, and
    // the logits resized as post_process_semantic_segmentation does (align_corners=False).
    const hub = mobilenetV2HubConfig(j, classes.names.length, configWhat);
    config = defaultConfig(record.name, {
      numClasses: hub.numLabels,
      outputStride: opts.outputStride ?? hub.outputStride,
      asppRates: opts.asppRates ?? [],
      resizeMode: 'half_pixel',
      normalization: processor.normalization,
    });
    params = mobilenetV2HubParams(tensors, hub, weightsWhat);
    architecture = record.architecture.fromJson(hub.depthMultiplier, configWhat);
  }
  if (processor.flipChannels) {
    const stem = record.weights.transformers!.stem;
    const w = params.get(stem);
    if (!w || w.shape.length !== 4 || w.shape[2] !== 3) throw new Error(`${files.what}: no 3-channel stem weight '${stem}' to take the processor's BGR flip`);
    params.set(stem, reverseInputChannels(w as { shape: number[]; data: Float32Array }));
  }
  const network = loadedNetwork(config, architecture);
  checkParams(network.buildGraph({ height: 65, width: 65 }), params, name);
  const policy = opts.centerCrop === false ? { ...processor.policy, crop: null } : processor.policy;
  const square = policy.crop ?? { height: policy.size, width: policy.size };
  return { name, config, ...network, inputPolicy: policy, params, probeSize: [square.width, square.height], classes };
}
