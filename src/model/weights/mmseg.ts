// mmsegmentation's DeepLabv3 and DeepLabv3+ checkpoints (configs/deeplabv3/*, configs/deeplabv3plus/*,
// configs/mobilenet_v2/deeplabv3*: ResNetV1c / V1b and MobileNetV2 backbones, ASPPHead or
// DepthwiseSeparableASPPHead, FCNHead): recognising their state dicts, the network they hold, their classes, and converting
// them into our parameters. The network is built by src/model/backbones/network.ts with the
// 'mmseg' head; what the state dict cannot tell (dilations, test pipeline) comes from
// mmseg-config.ts.
//
// The graph's params carry mmseg's keys unchanged, so converting is only a layout change: conv
// weights OIHW -> HWIO, BN vectors as they are, num_batches_tracked dropped.
import type { HostParams } from '../../graph/params.js';
import type { BackboneRecord } from '../backbones/backbone.js';
import { backboneRecords } from '../backbones/registry.js';
import { countIndexed } from '../backbones/state-keys.js';
import type { BackboneName, DeepLabConfig } from '../networks/config.js';
import type { DecoderName } from '../networks/config-types.js';
import { MMSEG_C1_CHANNELS } from '../networks/mmseg-heads.js';
import { defaultConfig } from '../backbones/config.js';
import { type ClassSet, validateClassSet } from '../voc.js';
import type { MmsegSettings } from './mmseg-config.js';
import { oihwToHwio } from './layouts.js';
import type { StateDict } from './torchvision.js';
import { checkStateDictValues } from './weight-checks.js';

/** The tensor whose presence marks an mmseg DeepLabv3 (ASPPHead's 1x1 branch). */
export const MMSEG_DEEPLAB_MARKER = 'decode_head.aspp_modules.0.conv.weight';

export function isMmsegDeepLab(state: StateDict): boolean {
  return state.has(MMSEG_DEEPLAB_MARKER) && [...state.keys()].some((k) => k.startsWith('backbone.'));
}

/** What the state dict itself says of the network. */
export interface MmsegNetwork {
  backbone: BackboneName;
  stem: DeepLabConfig['stem'];
  numClasses: number;
  /** The decode head's channels (512, or 128 on ResNet-18). */
  channels: number;
  /** ASPP branches besides the 1x1 one. */
  atrousBranches: number;
  /** Whether the file holds the auxiliary FCN head. */
  hasAux: boolean;
  /** The FCN head's channels where not its input's / 4 (MobileNetV2's 256 on 96). */
  auxChannels?: number;
  /** 'deeplabv3plus' for a DepthwiseSeparableASPPHead (its `c1_bottleneck`), else 'none' (ASPPHead). */
  decoder: DecoderName;
  /** Its c1_channels where not 48 (ResNet-18's 12). */
  c1Channels?: number;
}

function shapeOf(state: StateDict, key: string, rank: number, what: string): readonly number[] {
  const t = state.get(key);
  if (!t) throw new Error(`${what}: mmseg DeepLabv3 checkpoint without ${key}`);
  if (t.shape.length !== rank) throw new Error(`${what}: ${key} has shape [${t.shape.join(',')}], expected ${rank} dimensions`);
  return t.shape;
}

/** The backbone the state dict holds, or an error naming what it looks like and the backbones built. */
function mmsegBackbone(state: StateDict, what: string): BackboneRecord {
  const record = backboneRecords().find((r) => r.weights.mmseg?.holds(state));
  if (record) return record;
  const known = backboneRecords().filter((r) => r.weights.mmseg).map((r) => r.title);
  if (state.has('backbone.layer1.0.conv1.weight')) {
    const layer3 = countIndexed(state, 'backbone.layer3.');
    const bottleneck = state.has('backbone.layer1.0.conv3.weight');
    throw new Error(`${what}: ResNet with ${layer3} units in layer3 (${bottleneck ? 'bottleneck' : 'basic'} blocks) is none of ${known.join(', ')}`);
  }
  const first = [...state.keys()].find((k) => k.startsWith('backbone.'));
  throw new Error(`${what}: the mmseg backbone (first tensor ${first}) is none of those built: ${known.join(', ')}`);
}

/** The decode head: ASPPHead, or DepthwiseSeparableASPPHead with its c1 decoder (and its c1_channels where not 48). */
function mmsegDecoder(state: StateDict, what: string): { decoder: DecoderName; c1Channels?: number } {
  const c1 = 'decode_head.c1_bottleneck.conv.weight';
  if (!state.has(c1)) {
    if (state.has('decode_head.sep_bottleneck.0.depthwise_conv.conv.weight')) {
      throw new Error(`${what}: a DepthwiseSeparableASPPHead without c1_bottleneck (c1_in_channels 0) is not built; the heads built are mmseg's ASPPHead and DepthwiseSeparableASPPHead with its c1 decoder`);
    }
    return { decoder: 'none' };
  }
  const c1Channels = shapeOf(state, c1, 4, what)[0];
  return { decoder: 'deeplabv3plus', ...(c1Channels !== MMSEG_C1_CHANNELS ? { c1Channels } : {}) };
}

/** The network an mmseg DeepLabv3 (or DeepLabv3+) state dict holds, from its keys and shapes. */
export function mmsegNetwork(state: StateDict, what = 'checkpoint'): MmsegNetwork {
  if (!isMmsegDeepLab(state)) throw new Error(`${what}: not an mmseg DeepLabv3 checkpoint (no ${MMSEG_DEEPLAB_MARKER} or no backbone.* tensors)`);
  const record = mmsegBackbone(state, what);
  let stem: DeepLabConfig['stem'] = record.stems[0];
  if (record.stems.includes('v1c')) {
    const found = state.has('backbone.stem.0.weight') ? 'v1c' : state.has('backbone.conv1.weight') ? 'v1b' : undefined;
    if (!found) throw new Error(`${what}: mmseg ResNet with neither a deep stem (backbone.stem.0.weight) nor a 7x7 one (backbone.conv1.weight)`);
    stem = found;
  }
  const branches = countIndexed(state, 'decode_head.aspp_modules.');
  const seg = shapeOf(state, 'decode_head.conv_seg.weight', 4, what);
  const hasAux = state.has('auxiliary_head.conv_seg.weight');
  const auxConv = hasAux ? shapeOf(state, 'auxiliary_head.convs.0.conv.weight', 4, what) : undefined;
  return {
    backbone: record.name,
    stem,
    numClasses: seg[0],
    channels: seg[1],
    atrousBranches: branches - 1,
    hasAux,
    ...(auxConv && auxConv[0] !== Math.floor(auxConv[1] / 4) ? { auxChannels: auxConv[0] } : {}),
    ...mmsegDecoder(state, what),
  };
}

/** The config of an mmseg DeepLabv3: its network, the settings, then `overrides`. */
export function mmsegConfig(net: MmsegNetwork, settings: MmsegSettings, overrides: Partial<DeepLabConfig> = {}, what = 'checkpoint'): DeepLabConfig {
  if (settings.asppRates.length !== net.atrousBranches) {
    throw new Error(`${what}: the ASPP head has ${net.atrousBranches} dilated branches but the settings give ${settings.asppRates.length} rates (${settings.asppRates.join(', ')})`);
  }
  return defaultConfig(net.backbone, {
    numClasses: net.numClasses,
    outputStride: settings.outputStride,
    asppRates: settings.asppRates,
    asppChannels: net.channels,
    multiGrid: settings.multiGrid ?? [1, 1, 1],
    dilationConvention: 'mmseg',
    stem: net.stem,
    head: 'mmseg',
    resizeMode: settings.alignCorners ? 'align_corners' : 'half_pixel',
    normalization: 'imagenet',
    aux: false,
    decoder: net.decoder,
    auxChannels: net.auxChannels,
    c1Channels: net.c1Channels,
    ...overrides,
  });
}

/**
 * An mmseg DeepLabv3 state dict as our params (its values checked: float, finite, variances not
 * negative): conv weights to HWIO, num_batches_tracked
 * dropped, auxiliary_head.* dropped unless cfg.aux; every other tensor kept as it is, so
 * checkParams reports anything the model does not declare.
 */
export function mmsegParams(state: StateDict, cfg: DeepLabConfig, what = 'checkpoint'): HostParams {
  checkStateDictValues(state, what);
  const params: HostParams = new Map();
  for (const [name, t] of state) {
    if (name.endsWith('.num_batches_tracked')) continue;
    if (!cfg.aux && name.startsWith('auxiliary_head.')) continue;
    params.set(name, t.shape.length === 4 ? oihwToHwio(t.data, t.shape) : { shape: [...t.shape], data: t.data });
  }
  return params;
}

/** A value of an unpickled dict (a Map), by key. */
function entry(dict: unknown, key: string): unknown {
  return dict instanceof Map ? dict.get(key) : undefined;
}

/** The config text of a checkpoint's meta: 0.x `config`, 1.x `cfg`. */
export function mmsegConfigText(meta: unknown): string | undefined {
  for (const key of ['cfg', 'config']) {
    const v = entry(meta, key);
    if (typeof v === 'string') return v;
  }
  return undefined;
}

/** The experiment name a checkpoint's meta records (0.x `exp_name`, 1.x `experiment_name`). */
export function mmsegExperimentName(meta: unknown): string | undefined {
  for (const key of ['exp_name', 'experiment_name']) {
    const v = entry(meta, key);
    if (typeof v === 'string') return v;
  }
  return undefined;
}

/**
 * The class names and colours a checkpoint's meta gives: 1.x `dataset_meta: {classes, palette}`,
 * else 0.x `CLASSES` / `PALETTE` (as mmseg's init_model reads them). A palette may be missing
 * (colours then come from `fallback`); names of the wrong count are an error naming the file.
 */
export function mmsegClasses(meta: unknown, numClasses: number, fallback: ClassSet, what: string): ClassSet | undefined {
  const datasetMeta = entry(meta, 'dataset_meta');
  const names = entry(datasetMeta, 'classes') ?? entry(meta, 'CLASSES');
  const palette = entry(datasetMeta, 'palette') ?? entry(meta, 'PALETTE');
  if (names === undefined || names === null) return undefined;
  if (!Array.isArray(names) || !names.every((n) => typeof n === 'string')) throw new Error(`${what}: meta classes are not a list of names`);
  const colors =
    Array.isArray(palette) && palette.length === names.length
      ? palette.map((c) => (Array.isArray(c) ? ([...c] as [number, number, number]) : c))
      : fallback.colors.length === names.length
        ? fallback.colors
        : names.map((_, i) => fallback.colors[i % fallback.colors.length]);
  return validateClassSet({ names: names.map((n: string) => n.trim()), colors }, numClasses, `${what}: meta`);
}
