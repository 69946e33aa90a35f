// What a DeepLabv3 model is made of: backbone, output stride, ASPP rates and the conventions in
// which reference implementations differ (dilation bookkeeping, resize mode, input scaling).
// The graph builders read only this object, so one set of weights can be run at several output
// strides or head variants by changing the config, never the weights.
import { type ResizeMode, RESIZE_MODES } from '../../kernels/resize/resize.js';

export type BackboneName = 'resnet18' | 'resnet50' | 'resnet101' | 'mobilenet_v2' | 'mobilenet_v3_large';

export const BACKBONES: readonly BackboneName[] = ['resnet18', 'resnet50', 'resnet101', 'mobilenet_v2', 'mobilenet_v3_large'];

/**
 * The ResNet stem: 'v1b' = one 7x7 conv of stride 2 (torchvision's, mmseg's `ResNet`), 'v1c' =
 * the "deep stem" of three 3x3 convs, the first of stride 2 (mmseg's `ResNetV1c`). Both are
 * followed by a 3x3 max pool of stride 2.
 */
export type StemName = 'v1b' | 'v1c';

/**
 * The head family, which fixes the head's layers and its parameter names:
 *  - 'torchvision': DeepLabHead (ASPP with a 1x1 projection, a 3x3 conv, the classifier) and
 *    FCNHead as auxiliary head, under `classifier.*` / `aux_classifier.*`;
 *  - 'mmseg': mmsegmentation's ASPPHead (image pool first in the concat, no projection, a 3x3
 *    `bottleneck`, `conv_seg`) and FCNHead, under `decode_head.*` / `auxiliary_head.*`
 *    (src/model/networks/mmseg-heads.ts).
 */
export type HeadName = 'torchvision' | 'mmseg';

/**
 * What follows ASPP: 'none' = DeepLabv3 (the logits at the output stride, upsampled); 'deeplabv3plus'
 * = DeepLabv3+'s decoder (Chen et al. 2018), which refines the ASPP output with the backbone's
 * stride-4 features before the logits (src/model/networks/decoder.ts).
 */
export type DecoderName = 'none' | 'deeplabv3plus';

export const DECODERS: readonly DecoderName[] = ['none', 'deeplabv3plus'];

export interface DeepLabConfig {
  backbone: BackboneName;
  /** Output classes (21 for PASCAL VOC: 20 objects + background). */
  numClasses: number;
  /**
   * Input size / backbone feature size, a power of two from 8 up to the backbone's natural
   * stride (32 for four ResNet blocks, doubling with each cascaded block: 256 with `blocks` 7).
   * The same weights run at any of them.
   */
  outputStride: number;
  /**
   * ResNet blocks (stages): 4 = the standard network; 5..7 append block5..block7, replicas of
   * block4 (three bottleneck units, planes 512, 2048 out), in cascade (paper Sec. 3.2, Fig. 3).
   * MobileNets have no cascaded variant: 4 only.
   */
  blocks: 4 | 5 | 6 | 7;
  /**
   * Whether strides past `outputStride` are replaced by atrous rates (true: the paper's
   * DeepLab) or kept (false: every block past block4 halves the map again, the paper's
   * Table 1 without atrous convolution). With false, `outputStride` must equal the backbone's
   * natural stride (`naturalOutputStride`): 32 with four blocks, 64 .. 256 with 5 .. 7.
   */
  atrous: boolean;
  /**
   * Rates of ASPP's 3x3 atrous branches. torchvision uses [12,24,36] whatever the stride (its
   * builder hard-codes them); the paper uses [6,12,18] at OS 16 and doubles them at OS 8.
   * Empty = no atrous branches (TF's MobileNetV2 DeepLab).
   */
  asppRates: number[];
  /** ASPP's image-level branch (global average pool -> 1x1 conv -> upsample). */
  imagePooling: boolean;
  /** Filters of every ASPP branch and of the projection (256; mmseg's heads: 512, 128 on ResNet-18). */
  asppChannels: number;
  /**
   * How a ResNet stage turned atrous sets its rates:
   *  - 'torchvision': the stage's FIRST block keeps the previous dilation, later blocks use the
   *    new one (torchvision's _make_layer bookkeeping);
   *  - 'paper': every block of the stage uses the new rate (TF / the paper);
   *  - 'mmseg': as 'torchvision' (mmseg's contract_dilation halves the first block's rate, which
   *    is the previous one), but a multi-grid other than all ones gives block4's dilations
   *    themselves, not multiples of the block's rate (mmseg's ResLayer: D16 with multi-grid
   *    (1,2,4) runs block4 at 1, 2, 4).
   * MobileNetV3 ignores it: torchvision dilates every block of its dilated stage.
   */
  dilationConvention: 'torchvision' | 'paper' | 'mmseg';
  /**
   * Unit rates of the units of block4 and of every cascaded block after it, multiplied by the
   * block's rate (paper Sec. 3.2: OS 16 with (1,2,4) gives block4 rates 2,4,8); the rates
   * themselves under the 'mmseg' convention. Three values (ResNet-18's block4 has two units: it
   * takes [1,1,1], no multi-grid).
   */
  multiGrid: number[];
  /** ResNet stem (ignored by MobileNets). */
  stem: StemName;
  /** The head family and its parameter names. */
  head: HeadName;
  /** Mode of the final upsampling to the input size (torchvision: 'half_pixel' = align_corners false). */
  resizeMode: ResizeMode;
  /** Input scaling the weights expect; the graph's 'image' input is already normalised. */
  normalization: 'imagenet' | 'minus_one_one';
  /** Build the auxiliary FCN head (training aid; off by default at inference). */
  aux: boolean;
  /** The decoder after ASPP ('none' unless a checkpoint or `train --decoder` says otherwise). */
  decoder: DecoderName;
}

/**
 * The configuration each backbone's reference model uses, with `overrides` applied and the
 * result validated. torchvision models: OS 8 for ResNets (replace_stride_with_dilation
 * [F,T,T]), OS 16 for MobileNetV3-Large (its dilated=True), rates [12,24,36].
 * mobilenet_v2 describes TF's DeepLab MobileNetV2 (OS 8, no atrous branches, align_corners,
 * inputs in [-1,1]); the TF model builder may override it.
 */
export function defaultConfig(backbone: BackboneName, overrides: Partial<DeepLabConfig> = {}): DeepLabConfig {
  if (!BACKBONES.includes(backbone)) {
    throw new Error(`unknown backbone '${String(backbone)}' (expected one of ${BACKBONES.join(', ')})`);
  }
  const torchvision: DeepLabConfig = {
    backbone,
    numClasses: 21,
    outputStride: backbone === 'mobilenet_v3_large' ? 16 : 8,
    asppRates: [12, 24, 36],
    imagePooling: true,
    asppChannels: 256,
    dilationConvention: 'torchvision',
    multiGrid: [1, 1, 1],
    blocks: 4,
    atrous: true,
    resizeMode: 'half_pixel',
    normalization: 'imagenet',
    aux: false,
    decoder: 'none',
    stem: 'v1b',
    head: 'torchvision',
  };
  const base: DeepLabConfig =
    backbone === 'mobilenet_v2'
      ? { ...torchvision, asppRates: [], dilationConvention: 'paper', resizeMode: 'align_corners', normalization: 'minus_one_one' }
      : torchvision;
  // An override given as undefined means "not given" (callers pass optional CLI values through).
  const given = Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined)) as Partial<DeepLabConfig>;
  const cfg: DeepLabConfig = { ...base, ...given, backbone };
  validateConfig(cfg);
  return cfg;
}

const RESNETS: readonly BackboneName[] = ['resnet18', 'resnet50', 'resnet101'];

/**
 * The stride of the backbone with no atrous convolution: the stem reaches 4, block2..block4
 * each halve the map (32), and every cascaded block halves it again (64, 128, 256).
 */
export function naturalOutputStride(backbone: BackboneName, blocks: number): number {
  return RESNETS.includes(backbone) ? 2 ** (blocks + 1) : 32;
}

/** The output strides a backbone with `blocks` blocks can run at: 8, 16, ..., natural. */
export function allowedOutputStrides(backbone: BackboneName, blocks: number): number[] {
  const out: number[] = [];
  for (let s = 8; s <= naturalOutputStride(backbone, blocks); s *= 2) out.push(s);
  return out;
}

/** The paper's ASPP rates: (6,12,18) at OS 16, scaled by 16/OS (doubled at OS 8), at least 1. */
export const PAPER_ASPP_RATES_OS16: readonly number[] = [6, 12, 18];

/** Rates chosen for one output stride, rescaled to another (the rule load-weights also applies). */
export function scaleAsppRates(rates: readonly number[], fromStride: number, toStride: number): number[] {
  return rates.map((r) => Math.max(1, Math.round((r * fromStride) / toStride)));
}

export function paperAsppRates(outputStride: number): number[] {
  return scaleAsppRates(PAPER_ASPP_RATES_OS16, 16, outputStride);
}

/** "8, 16 or 32". */
function orList(items: readonly number[]): string {
  return items.length === 1 ? String(items[0]) : `${items.slice(0, -1).join(', ')} or ${items[items.length - 1]}`;
}

/** A config value as a message shows it: strings as they are, anything else as JSON. */
function shown(v: unknown): string {
  return typeof v === 'string' ? v : (JSON.stringify(v) ?? String(v));
}

function positiveInts(v: unknown): v is number[] {
  return Array.isArray(v) && v.every((x) => Number.isInteger(x) && x > 0);
}

/** Throws an Error naming the first invalid field. */
export function validateConfig(cfg: DeepLabConfig): void {
  const bad = (field: string, why: string): never => {
    throw new Error(`DeepLab config (${shown(cfg.backbone)}): ${field} ${why}`);
  };
  if (!BACKBONES.includes(cfg.backbone)) bad('backbone', `'${shown(cfg.backbone)}' is not one of ${BACKBONES.join(', ')}`);
  if (!Number.isInteger(cfg.numClasses) || cfg.numClasses < 1) bad('numClasses', `must be a positive integer, got ${shown(cfg.numClasses)}`);
  if (![4, 5, 6, 7].includes(cfg.blocks)) bad('blocks', `must be 4, 5, 6 or 7 (block4 plus cascaded replicas), got ${shown(cfg.blocks)}`);
  if (cfg.blocks !== 4 && !RESNETS.includes(cfg.backbone)) bad('blocks', `must be 4: cascaded blocks exist for ResNet backbones only, got ${shown(cfg.blocks)}`);
  if (typeof cfg.atrous !== 'boolean') bad('atrous', `must be true or false, got ${shown(cfg.atrous)}`);
  const strides = allowedOutputStrides(cfg.backbone, cfg.blocks);
  if (!strides.includes(cfg.outputStride)) {
    const more = RESNETS.includes(cfg.backbone) && cfg.blocks < 7 ? '; larger strides need cascaded blocks: blocks 5 reaches 64, 6 128, 7 256' : '';
    bad('outputStride', `must be ${orList(strides)}, got ${shown(cfg.outputStride)} (${cfg.backbone} with ${cfg.blocks} blocks${more})`);
  }
  const natural = naturalOutputStride(cfg.backbone, cfg.blocks);
  if (!cfg.atrous && cfg.outputStride !== natural) {
    bad('outputStride', `must be ${natural} without atrous convolution (${cfg.blocks} blocks, every stride kept), got ${shown(cfg.outputStride)}`);
  }
  if (!cfg.atrous && positiveInts(cfg.multiGrid) && cfg.multiGrid.some((r) => r !== 1)) {
    bad('multiGrid', `must be [1,1,1] without atrous convolution (unit rates are atrous rates), got ${JSON.stringify(cfg.multiGrid)}`);
  }
  if (!positiveInts(cfg.asppRates)) bad('asppRates', `must be positive integers, got ${JSON.stringify(cfg.asppRates)}`);
  if (!Number.isInteger(cfg.asppChannels) || cfg.asppChannels < 1) bad('asppChannels', `must be a positive integer, got ${shown(cfg.asppChannels)}`);
  if (!['torchvision', 'paper', 'mmseg'].includes(cfg.dilationConvention)) {
    bad('dilationConvention', `must be 'torchvision', 'paper' or 'mmseg', got '${shown(cfg.dilationConvention)}'`);
  }
  if (!positiveInts(cfg.multiGrid) || cfg.multiGrid.length !== 3) {
    bad('multiGrid', `must be three positive integers (the units of block4 and later blocks), got ${JSON.stringify(cfg.multiGrid)}`);
  }
  if (cfg.backbone === 'resnet18' && cfg.multiGrid.some((r) => r !== 1)) {
    bad('multiGrid', `must be [1,1,1] on resnet18 (its block4 has two units; no multi-grid), got ${JSON.stringify(cfg.multiGrid)}`);
  }
  if (cfg.backbone === 'resnet18' && cfg.blocks !== 4) bad('blocks', `must be 4 on resnet18 (cascaded blocks are bottleneck replicas), got ${shown(cfg.blocks)}`);
  if (cfg.stem !== 'v1b' && cfg.stem !== 'v1c') bad('stem', `must be 'v1b' (7x7) or 'v1c' (three 3x3 convs), got '${shown(cfg.stem)}'`);
  if (cfg.stem === 'v1c' && !RESNETS.includes(cfg.backbone)) bad('stem', `'v1c' is a ResNet stem, not one of ${cfg.backbone}`);
  if (cfg.head !== 'torchvision' && cfg.head !== 'mmseg') bad('head', `must be 'torchvision' or 'mmseg', got '${shown(cfg.head)}'`);
  if (cfg.head === 'mmseg' && !RESNETS.includes(cfg.backbone)) bad('head', `'mmseg' heads are built on ResNet backbones (${RESNETS.join(', ')}), not ${cfg.backbone}`);
  if (cfg.head === 'mmseg' && cfg.decoder !== 'none') bad('decoder', `must be 'none' with mmseg's ASPP head, got '${shown(cfg.decoder)}'`);
  if (!RESIZE_MODES.includes(cfg.resizeMode)) bad('resizeMode', `'${shown(cfg.resizeMode)}' is not one of ${RESIZE_MODES.join(', ')}`);
  if (cfg.normalization !== 'imagenet' && cfg.normalization !== 'minus_one_one') {
    bad('normalization', `must be 'imagenet' or 'minus_one_one', got '${shown(cfg.normalization)}'`);
  }
  if (!DECODERS.includes(cfg.decoder)) bad('decoder', `'${shown(cfg.decoder)}' is not one of ${DECODERS.join(', ')}`);
}

/**
 * Per-channel (RGB) mean and std to apply to pixels scaled to [0,1]: (x - mean) / std.
 * 'minus_one_one' is TF's x / 127.5 - 1, i.e. mean = std = 0.5 on [0,1].
 */
export function normalizationConstants(n: DeepLabConfig['normalization']): { mean: [number, number, number]; std: [number, number, number] } {
  switch (n) {
    case 'imagenet':
      return { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] };
    case 'minus_one_one':
      return { mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] };
  }
}
