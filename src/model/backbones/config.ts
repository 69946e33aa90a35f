// A DeepLabv3 configuration's defaults and validation (the fields are
// src/model/networks/config-types.ts's): the reference configuration of each backbone and the
// options it takes come from its record, so nothing here names a backbone.
import { CONFIG_LIMITS, excerpt } from '../../io/reader-rules.js';
import { INPUT_NORMALIZATION_NAMES } from '../../io/input-normalization.js';
import { RESIZE_MODES } from '../../kernels/resize/resize.js';
import { BACKBONES, type BackboneName, type DeepLabConfig, DECODERS, HEAD_NAMES, type HeadName } from '../networks/config.js';
import { headRecord } from '../networks/heads.js';
import { backboneRecord, isBackboneName } from './registry.js';

/**
 * The configuration each backbone's reference model uses, with `overrides` applied and the
 * result validated: torchvision's (OS 8 as its ResNets' replace_stride_with_dilation [F,T,T],
 * rates [12,24,36]) with the record's own defaults over it (MobileNetV3-Large: OS 16, its
 * dilated=True; TF's MobileNetV2: no atrous branches, align_corners, inputs in [-1,1]).
 */
export function defaultConfig(backbone: BackboneName, overrides: Partial<DeepLabConfig> = {}): DeepLabConfig {
  const record = backboneRecord(backbone);
  const torchvision: DeepLabConfig = {
    backbone,
    numClasses: 21,
    outputStride: 8,
    asppRates: [12, 24, 36],
    imagePooling: true,
    asppChannels: 256,
    dilationConvention: 'torchvision',
    multiGrid: [1, 1, 1],
    blocks: 4,
    atrous: true,
    resizeMode: 'half_pixel',
    normalization: record.normalization,
    aux: false,
    decoder: 'none',
    stem: 'v1b',
    head: 'torchvision',
  };
  const base: DeepLabConfig = { ...torchvision, ...record.defaults };
  // An override given as undefined means "not given" (callers pass optional CLI values through).
  const given = Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined)) as Partial<DeepLabConfig>;
  const cfg: DeepLabConfig = { ...base, ...given, backbone };
  validateConfig(cfg);
  return cfg;
}

/** The stride of the backbone with no atrous convolution (its record's rule). */
export function naturalOutputStride(backbone: BackboneName, blocks: number): number {
  return backboneRecord(backbone).naturalOutputStride(blocks);
}

/** The output strides a backbone with `blocks` blocks can run at: 8, 16, ..., natural. */
export function allowedOutputStrides(backbone: BackboneName, blocks: number): number[] {
  const out: number[] = [];
  for (let s = 8; s <= naturalOutputStride(backbone, blocks); s *= 2) out.push(s);
  return out;
}

/** "8, 16 or 32". */
function orList(items: readonly number[]): string {
  return items.length === 1 ? String(items[0]) : `${items.slice(0, -1).join(', ')} or ${items[items.length - 1]}`;
}

/** A config value as a message shows it: strings as they are, anything else as JSON. */
function shown(v: unknown): string {
  return typeof v === 'string' ? excerpt(v).slice(1, -1) : excerpt(v);
}

function positiveInts(v: unknown): v is number[] {
  return Array.isArray(v) && v.every((x) => Number.isInteger(x) && x > 0);
}

/** The first of `values` above `max`, if any (the readers' bounds, src/io/reader-rules.ts). */
function aboveBound(values: readonly number[], max: number): number | undefined {
  return values.find((v) => v > max);
}

/** The head families a backbone takes (its record's `heads`, else torchvision's and, with `mmsegHead`, mmseg's). */
function backboneHeads(name: BackboneName): readonly HeadName[] {
  const record = backboneRecord(name);
  return record.heads ?? (record.mmsegHead ? ['torchvision', 'mmseg'] : ['torchvision']);
}

/** Throws an Error naming the first invalid field. */
export function validateConfig(cfg: DeepLabConfig): void {
  const bad = (field: string, why: string): never => {
    throw new Error(`DeepLab config (${shown(cfg.backbone)}): ${field} ${why}`);
  };
  if (!isBackboneName(cfg.backbone)) bad('backbone', `'${shown(cfg.backbone)}' is not one of ${BACKBONES.join(', ')}`);
  const record = backboneRecord(cfg.backbone);
  const cascading = BACKBONES.filter((n) => backboneRecord(n).cascadedBlocks);
  if (!Number.isInteger(cfg.numClasses) || cfg.numClasses < 1) bad('numClasses', `must be a positive integer, got ${shown(cfg.numClasses)}`);
  if (cfg.numClasses > CONFIG_LIMITS.classes) bad('numClasses', `must be at most ${CONFIG_LIMITS.classes} (labels are bytes), got ${cfg.numClasses}`);
  if (![4, 5, 6, 7].includes(cfg.blocks)) bad('blocks', `must be 4, 5, 6 or 7 (block4 plus cascaded replicas), got ${shown(cfg.blocks)}`);
  if (cfg.blocks !== 4 && !record.cascadedBlocks) {
    bad('blocks', `must be 4: cascaded blocks exist for ResNet backbones only (replicas of a bottleneck block4: ${cascading.join(', ')}), got ${shown(cfg.blocks)}`);
  }
  if (typeof cfg.atrous !== 'boolean') bad('atrous', `must be true or false, got ${shown(cfg.atrous)}`);
  const strides = allowedOutputStrides(cfg.backbone, cfg.blocks);
  if (!strides.includes(cfg.outputStride)) {
    const more = record.cascadedBlocks && cfg.blocks < 7 ? '; larger strides need cascaded blocks: blocks 5 reaches 64, 6 128, 7 256' : '';
    bad('outputStride', `must be ${orList(strides)}, got ${shown(cfg.outputStride)} (${cfg.backbone} with ${cfg.blocks} blocks${more})`);
  }
  const natural = record.naturalOutputStride(cfg.blocks);
  if (!cfg.atrous && cfg.outputStride !== natural) {
    bad('outputStride', `must be ${natural} without atrous convolution (${cfg.blocks} blocks, every stride kept), got ${shown(cfg.outputStride)}`);
  }
  if (!cfg.atrous && positiveInts(cfg.multiGrid) && cfg.multiGrid.some((r) => r !== 1)) {
    bad('multiGrid', `must be [1,1,1] without atrous convolution (unit rates are atrous rates), got ${excerpt(cfg.multiGrid)}`);
  }
  if (!positiveInts(cfg.asppRates)) bad('asppRates', `must be positive integers, got ${excerpt(cfg.asppRates)}`);
  const rate = aboveBound(cfg.asppRates, CONFIG_LIMITS.rate) ?? (positiveInts(cfg.multiGrid) ? aboveBound(cfg.multiGrid, CONFIG_LIMITS.rate) : undefined);
  if (rate !== undefined) bad(cfg.asppRates.includes(rate) ? 'asppRates' : 'multiGrid', `must be at most ${CONFIG_LIMITS.rate} (an atrous rate wider than any feature map), got ${rate}`);
  if (!Number.isInteger(cfg.asppChannels) || cfg.asppChannels < 1) bad('asppChannels', `must be a positive integer, got ${shown(cfg.asppChannels)}`);
  if (cfg.asppChannels > CONFIG_LIMITS.channels) bad('asppChannels', `must be at most ${CONFIG_LIMITS.channels}, got ${cfg.asppChannels}`);
  if (!['torchvision', 'paper', 'mmseg'].includes(cfg.dilationConvention)) {
    bad('dilationConvention', `must be 'torchvision', 'paper' or 'mmseg', got '${shown(cfg.dilationConvention)}'`);
  }
  if (!positiveInts(cfg.multiGrid) || cfg.multiGrid.length !== 3) {
    bad('multiGrid', `must be three positive integers (the units of block4 and later blocks), got ${excerpt(cfg.multiGrid)}`);
  }
  if (!record.multiGrid && cfg.multiGrid.some((r) => r !== 1)) {
    bad('multiGrid', `must be [1,1,1] on ${cfg.backbone} (its block4 has two units; no multi-grid), got ${excerpt(cfg.multiGrid)}`);
  }
  if (cfg.stem !== 'v1b' && cfg.stem !== 'v1c') bad('stem', `must be 'v1b' (7x7) or 'v1c' (three 3x3 convs), got '${shown(cfg.stem)}'`);
  if (!record.stems.includes(cfg.stem)) bad('stem', `'${cfg.stem}' is a ResNet stem, not one of ${cfg.backbone}`);
  if (!HEAD_NAMES.includes(cfg.head)) bad('head', `must be ${HEAD_NAMES.map((h) => `'${h}'`).join(', ')}, got '${shown(cfg.head)}'`);
  const heads = backboneHeads(cfg.backbone);
  if (!heads.includes(cfg.head)) {
    bad('head', `'${cfg.head}' heads are built on ${BACKBONES.filter((n) => backboneHeads(n).includes(cfg.head)).join(', ')}, not ${cfg.backbone} (which takes ${heads.join(', ')})`);
  }
  if (cfg.decoder !== 'none' && !headRecord(cfg.head).decoder) bad('decoder', `must be 'none' with ${headRecord(cfg.head).title}, got '${shown(cfg.decoder)}'`);
  if (cfg.aux && !headRecord(cfg.head).aux) bad('aux', `${headRecord(cfg.head).title} has no auxiliary head`);
  if (cfg.auxChannels !== undefined && !(Number.isInteger(cfg.auxChannels) && cfg.auxChannels > 0)) bad('auxChannels', `must be a positive integer, got ${shown(cfg.auxChannels)}`);
  if (cfg.auxChannels !== undefined && cfg.head !== 'mmseg') bad('auxChannels', `is mmseg's FCN head's, not ${headRecord(cfg.head).title}'s`);
  if (cfg.c1Channels !== undefined && !(Number.isInteger(cfg.c1Channels) && cfg.c1Channels > 0)) bad('c1Channels', `must be a positive integer, got ${shown(cfg.c1Channels)}`);
  if (cfg.c1Channels !== undefined && cfg.head !== 'mmseg') bad('c1Channels', `is mmseg's DeepLabv3+ head's, not ${headRecord(cfg.head).title}'s`);
  const inChannels = cfg.inChannels ?? 3;
  if (!Number.isInteger(inChannels) || inChannels < 1) bad('inChannels', `must be a positive integer, got ${shown(cfg.inChannels)}`);
  if (inChannels > CONFIG_LIMITS.channels) bad('inChannels', `must be at most ${CONFIG_LIMITS.channels}, got ${inChannels}`);
  if (inChannels !== 3 && record.inputChannels !== 'any') bad('inChannels', `must be 3 on ${record.title} (its stem takes RGB), got ${inChannels}`);
  if (cfg.asppDropout !== undefined && !(typeof cfg.asppDropout === 'number' && cfg.asppDropout >= 0 && cfg.asppDropout < 1)) bad('asppDropout', `must be a probability in [0, 1), got ${shown(cfg.asppDropout)}`);
  if (cfg.binary !== undefined && typeof cfg.binary !== 'boolean') bad('binary', `must be true or false, got ${shown(cfg.binary)}`);
  if (cfg.binary && cfg.numClasses !== 2) bad('numClasses', `must be 2 (background, foreground) for a binary model, got ${shown(cfg.numClasses)}`);
  if (cfg.binary && cfg.head !== 'smp') bad('binary', `is built by smp's head only, not ${headRecord(cfg.head).title}`);
  if (cfg.asppSeparable !== undefined && typeof cfg.asppSeparable !== 'boolean') bad('asppSeparable', `must be true or false, got ${shown(cfg.asppSeparable)}`);
  if (!RESIZE_MODES.includes(cfg.resizeMode)) bad('resizeMode', `'${shown(cfg.resizeMode)}' is not one of ${RESIZE_MODES.join(', ')}`);
  if (!INPUT_NORMALIZATION_NAMES.includes(cfg.normalization)) {
    bad('normalization', `must be ${INPUT_NORMALIZATION_NAMES.map((n) => `'${n}'`).join(' or ')}, got '${shown(cfg.normalization)}'`);
  }
  if (!DECODERS.includes(cfg.decoder)) bad('decoder', `'${shown(cfg.decoder)}' is not one of ${DECODERS.join(', ')}`);
  if (cfg.decoder !== 'none' && !record.decoder) bad('decoder', `'${cfg.decoder}' cannot sit on ${record.title}, whose head is its own (backbones with a decoder: ${BACKBONES.filter((n) => backboneRecord(n).decoder).join(', ')})`);
}
