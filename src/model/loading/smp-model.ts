// A segmentation_models_pytorch folder (`model.save_pretrained(dir)`: config.json with the
// constructor's arguments and `_model_class`, model.safetensors) of a DeepLabV3 or DeepLabV3Plus
// as LoadedWeights: the smp backbone record (src/model/backbones/smp.ts) builds the encoder
// config.json names, the 'smp' head record its decoder. Every config field is read; a value we do
// not build is refused naming the field, the value and what is supported.
import { CONFIG_LIMITS, FILE_LIMITS, checkConfigInt, excerpt } from '../../io/reader-rules.js';
import type { Graph } from '../../graph/ir.js';
import { type HostParams, storedState } from '../../graph/params.js';
import { defaultConfig } from '../backbones/config.js';
import { backboneRecord } from '../backbones/registry.js';
import type { Architecture } from '../backbones/backbone.js';
import { smpArchitectureOf } from '../backbones/smp.js';
import { type SmpEncoder, smpEncoder } from '../backbones/smp-encoders.js';
import type { DeepLabConfig } from '../networks/config.js';
import { defaultClassSet } from '../voc.js';
import { readTorchCheckpoint } from '../weights/import/pth.js';
import { readSafetensors } from '../weights/import/safetensors.js';
import type { TensorMap } from '../weights/import/tensor-map.js';
import { smpFileFromParam, smpParamFromFile } from '../weights/smp-layout.js';
import { checkStateDictValues } from '../weights/weight-checks.js';
import { configObject, parseConfigJson, readConfigJson } from './config-json.js';
import type { FileSet } from './formats/format.js';
import { type LoadedWeights, checkedWeights, loadedNetwork } from './loaded-weights.js';
import type { LoadOptions } from './options.js';

export const SMP_CONFIG = 'config.json';
/** A binary model's two classes: the mask is the foreground. */
const BINARY_CLASSES = { names: ['background', 'foreground'], colors: [[0, 0, 0], [255, 255, 255]] as [number, number, number][] };
/** The weights files an smp folder may hold, preferred first. */
const SMP_WEIGHTS = ['model.safetensors', 'pytorch_model.bin'] as const;
const SMP_CLASSES = { DeepLabV3: 'none', DeepLabV3Plus: 'deeplabv3plus' } as const;
/** Keyword arguments forwarded to timm's create_model that act only in training. */
const TRAINING_ONLY = ['drop_path_rate', 'drop_rate', 'drop_block_rate'];
const KNOWN = new Set([
  '_model_class',
  'encoder_name',
  'encoder_depth',
  'encoder_weights',
  'encoder_output_stride',
  'decoder_channels',
  'decoder_atrous_rates',
  'decoder_aspp_separable',
  'decoder_aspp_dropout',
  'in_channels',
  'classes',
  'activation',
  'upsampling',
  'aux_params',
  ...TRAINING_ONLY,
]);

/**
 * config.json parsed, or undefined where it is missing or not a JSON object (a folder of another
 * format); a file that cannot be read (not a regular file, over the cap) is refused naming it.
 */
function configJsonOf(files: FileSet): Record<string, unknown> | undefined {
  if (!files.names.includes(SMP_CONFIG)) return undefined;
  const bytes = files.read(SMP_CONFIG, FILE_LIMITS.config);
  try {
    return configObject(parseConfigJson(bytes, SMP_CONFIG), SMP_CONFIG);
  } catch {
    return undefined;
  }
}

/**
 * Whether a folder is an smp model's: a config.json that names its `_model_class`, or that has
 * smp's `encoder_name` and no hub `model_type` (a damaged smp config, refused by smpConfig naming
 * the missing field). Without its weights file too: the load then refuses it naming that file.
 */
export function isSmpFolder(files: FileSet): boolean {
  const json = configJsonOf(files);
  return json !== undefined && ('_model_class' in json || ('encoder_name' in json && !('model_type' in json)));
}

/** The folder's tensors as the file stores them (smp's names, PyTorch layouts). */
export function smpTensors(files: FileSet): TensorMap {
  const file = SMP_WEIGHTS.find((w) => files.names.includes(w));
  if (!file) throw new Error(`${files.what}: no ${SMP_WEIGHTS.join(' or ')}`);
  const source = `${files.what}/${file}`;
  return file === 'model.safetensors' ? readSafetensors(files.read(file), source).tensors : readTorchCheckpoint(files.read(file), source).tensors;
}

/** smp's constructor arguments read as our config and the encoder's architecture, each field checked and bounded. */
export function smpConfig(json: Record<string, unknown>, what: string): { config: DeepLabConfig; architecture: Architecture } {
  const refuse = (field: string, supported: string): never => {
    throw new Error(`${what}: ${field} ${excerpt(json[field])} is not supported (${supported})`);
  };
  const cls = json._model_class;
  if (cls === undefined) throw new Error(`${what}: _model_class is missing (smp's save_pretrained writes it: 'DeepLabV3' or 'DeepLabV3Plus')`);
  if (cls !== 'DeepLabV3' && cls !== 'DeepLabV3Plus') refuse('_model_class', "expected 'DeepLabV3' or 'DeepLabV3Plus': other smp models are not DeepLabs");
  const unknown = Object.keys(json).filter((k) => !KNOWN.has(k));
  if (unknown.length) {
    const shown = unknown.slice(0, 5).map((k) => (/^\w{1,40}$/.test(k) ? k : excerpt(k, 40)));
    throw new Error(`${what}: unknown field${unknown.length > 1 ? 's' : ''} ${shown.join(', ')}${unknown.length > 5 ? ` and ${unknown.length - 5} more` : ''} (an encoder argument we do not build; known: ${[...KNOWN].join(', ')})`);
  }
  const plus = cls === 'DeepLabV3Plus';
  const depth = json.encoder_depth ?? 5;
  const architecture = backboneRecord('smp').weights.smp!.architecture(json.encoder_name, depth, json.activation ?? null, what);
  const os = json.encoder_output_stride ?? (plus ? 16 : 8);
  if (os !== 8 && os !== 16) refuse('encoder_output_stride', 'expected 8 or 16');
  const stride = Math.min(os as number, 2 ** (depth as number));
  // A positive integer, within its bound (a hostile value refused before anything is built of it).
  const bounded = (field: string, v: unknown, max: number, why: string): number => {
    if (!(Number.isSafeInteger(v) && (v as number) > 0)) refuse(field, 'expected a positive integer');
    return checkConfigInt(v, field, what, { min: 1, max, why });
  };
  const channels = bounded('decoder_channels', json.decoder_channels ?? 256, CONFIG_LIMITS.channels, 'channels of a layer');
  const rates = json.decoder_atrous_rates ?? [12, 24, 36];
  if (!Array.isArray(rates) || rates.length === 0 || rates.length > 8 || !rates.every((r) => Number.isSafeInteger(r) && r > 0)) refuse('decoder_atrous_rates', 'expected a list of positive integers');
  (rates as number[]).forEach((r, i) => checkConfigInt(r, `decoder_atrous_rates[${i}]`, what, { min: 1, max: CONFIG_LIMITS.rate, why: 'an atrous rate wider than any feature map' }));
  const separable = json.decoder_aspp_separable ?? plus;
  if (typeof separable !== 'boolean') refuse('decoder_aspp_separable', 'expected true or false');
  const dropout = json.decoder_aspp_dropout ?? 0.5;
  if (typeof dropout !== 'number' || !(dropout >= 0 && dropout < 1)) refuse('decoder_aspp_dropout', 'expected a probability in [0, 1)');
  const inChannels = bounded('in_channels', json.in_channels ?? 3, CONFIG_LIMITS.channels, 'input bands');
  const classes = bounded('classes', json.classes ?? 1, CONFIG_LIMITS.classes, 'the most classes a model may have: its labels are bytes');
  const upsampling = plus ? 4 : stride;
  if (json.upsampling !== undefined && json.upsampling !== null && json.upsampling !== upsampling) refuse('upsampling', `expected null or ${upsampling}: the head's logits reach the input's size only so`);
  if (json.aux_params !== undefined && json.aux_params !== null) refuse('aux_params', 'expected null: the classification head is not built');
  const config = defaultConfig('smp', {
    numClasses: classes === 1 ? 2 : classes,
    binary: classes === 1,
    outputStride: stride,
    asppRates: rates as number[],
    asppChannels: channels,
    asppSeparable: separable as boolean,
    decoder: SMP_CLASSES[cls as keyof typeof SMP_CLASSES],
    inChannels,
    asppDropout: dropout as number,
  });
  return { config, architecture };
}

/** smp's renames of keys written by older versions (DeepLabV3.load_state_dict). */
function currentKey(name: string): string {
  return name.replace(/^decoder\.0\./, 'decoder.aspp.').replace(/^decoder\.1\./, 'decoder.conv.').replace(/^decoder\.2\./, 'decoder.bn.');
}

/**
 * An smp state dict as our params (conv weights, and an encoder's Linear weights, to HWIO; the encoder's unused tensors dropped, old
 * keys renamed), and what no graph reads (num_batches_tracked, those unused tensors) as the file
 * stores it, kept apart for the smp export.
 */
export function smpParams(tensors: TensorMap, architecture: Architecture, what: string): { params: HostParams; unread: TensorMap } {
  checkStateDictValues(tensors, what);
  const encoder = smpEncoder(smpArchitectureOf(architecture).encoder, what);
  const params: HostParams = new Map();
  const unread: TensorMap = new Map();
  for (const [file, t] of tensors) {
    const name = encoder.fileKey?.(currentKey(file)) ?? currentKey(file);
    if (name.endsWith('.num_batches_tracked') || encoder.unused?.(name)) unread.set(name, t);
    else params.set(name, smpParamFromFile(encoder, name, t));
  }
  return { params, unread };
}

/**
 * An encoder built to encoder_depth < 5 stops before its deeper stages, whose weights smp keeps in
 * the file all the same: encoder tensors the network does not declare move to `unread` (written
 * back by the smp export); anything else undeclared stays, for checkParams to report.
 */
function keepDeeperStagesApart(graph: Graph, params: HostParams, unread: TensorMap, encoder: SmpEncoder): void {
  const declared = new Set(storedState(graph).map((v) => v.name));
  for (const [name, t] of params) {
    if (name.startsWith('encoder.') && !declared.has(name)) {
      const stored = smpFileFromParam(encoder, name, { shape: t.shape, data: Float32Array.from(t.data) });
      unread.set(name, { ...stored, sourceDType: 'f32' });
      params.delete(name);
    }
  }
}

export function smpModel(name: string, files: FileSet, opts: LoadOptions = {}): LoadedWeights {
  const configWhat = `${files.what}/${SMP_CONFIG}`;
  if (!files.names.includes(SMP_CONFIG)) throw new Error(`${configWhat}: missing (an smp folder holds config.json and model.safetensors)`);
  const json = configObject(readConfigJson(files, SMP_CONFIG), configWhat);
  const weightsWhat = `${files.what}: ${SMP_WEIGHTS.find((w) => files.names.includes(w))}`;
  return smpModelOf(name, { json, what: configWhat }, smpTensors(files), weightsWhat, opts);
}

/** Whether a state dict's keys are an smp model's: its encoder, decoder and segmentation head. */
export function isSmpStateDict(tensors: TensorMap): boolean {
  const names = [...tensors.keys()];
  return names.some((n) => n.startsWith('segmentation_head.')) && names.some((n) => n.startsWith('encoder.')) && names.some((n) => n.startsWith('decoder.'));
}

/** A bare smp state dict (a `.pth` of `model.state_dict()`) with its config.json given as the `smpConfig` load option. */
export function smpStateDictModel(name: string, tensors: TensorMap, source: string, opts: LoadOptions): LoadedWeights {
  const json = opts.smpConfig;
  if (!json || typeof json !== 'object' || Array.isArray(json)) {
    throw new Error(`${source}: an smp state dict (encoder.*, decoder.*, segmentation_head.*) holds no config: pass the model's config.json as the smpConfig load option (--smp-config FILE)`);
  }
  return smpModelOf(name, { json, what: `${source}: smpConfig` }, tensors, source, opts);
}

function smpModelOf(name: string, cfgJson: { json: Record<string, unknown>; what: string }, tensors: TensorMap, weightsWhat: string, opts: LoadOptions): LoadedWeights {
  const { config, architecture } = smpConfig(cfgJson.json, cfgJson.what);
  const { params, unread } = smpParams(tensors, architecture, weightsWhat);
  const multiple = config.outputStride;
  const cfg = opts.outputStride && opts.outputStride !== multiple ? defaultConfig('smp', { ...config, outputStride: opts.outputStride }) : config;
  const network = loadedNetwork(cfg, architecture);
  if (smpArchitectureOf(architecture).depth < 5) keepDeeperStagesApart(network.buildGraph({ height: multiple * 4, width: multiple * 4 }), params, unread, smpEncoder(smpArchitectureOf(architecture).encoder, name));
  return checkedWeights(
    {
      name,
      config: cfg,
      ...network,
      inputPolicy: { kind: 'stride-multiple', multiple: cfg.outputStride },
      params,
      probeSize: [cfg.outputStride * 4, cfg.outputStride * 4],
      classes: cfg.binary ? BINARY_CLASSES : defaultClassSet(cfg.numClasses),
      unread,
    },
    weightsWhat,
  );
}
