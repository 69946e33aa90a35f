// What a DeepLabv3 model is made of: backbone, output stride, ASPP rates and the conventions in
// which reference implementations differ (dilation bookkeeping, resize mode, input scaling).
// The graph builders read only this object, so one set of weights can be run at several output
// strides or head variants by changing the config, never the weights.
import { type ResizeMode, RESIZE_MODES } from '../kernels/resize.js';

export type BackboneName = 'resnet50' | 'resnet101' | 'mobilenet_v2' | 'mobilenet_v3_large';

export const BACKBONES: readonly BackboneName[] = ['resnet50', 'resnet101', 'mobilenet_v2', 'mobilenet_v3_large'];

export interface DeepLabConfig {
  backbone: BackboneName;
  /** Output classes (21 for PASCAL VOC: 20 objects + background). */
  numClasses: number;
  /** Input size / backbone feature size: 8, 16 or 32. The same weights run at any of them. */
  outputStride: number;
  /**
   * Rates of ASPP's 3x3 atrous branches. torchvision uses [12,24,36] whatever the stride (its
   * builder hard-codes them); the paper uses [6,12,18] at OS 16 and doubles them at OS 8.
   * Empty = no atrous branches (TF's MobileNetV2 DeepLab).
   */
  asppRates: number[];
  /** ASPP's image-level branch (global average pool -> 1x1 conv -> upsample). */
  imagePooling: boolean;
  /** Filters of every ASPP branch and of the projection (256). */
  asppChannels: number;
  /**
   * How a ResNet stage turned atrous sets its rates:
   *  - 'torchvision': the stage's FIRST block keeps the previous dilation, later blocks use the
   *    new one (torchvision's _make_layer bookkeeping);
   *  - 'paper': every block of the stage uses the new rate (TF / the paper).
   * MobileNetV3 ignores it: torchvision dilates every block of its dilated stage.
   */
  dilationConvention: 'torchvision' | 'paper';
  /** Unit rates of block4's three units, multiplied by the block's rate (paper Sec. 3.2). */
  multiGrid: number[];
  /** Mode of the final upsampling to the input size (torchvision: 'half_pixel' = align_corners false). */
  resizeMode: ResizeMode;
  /** Input scaling the weights expect; the graph's 'image' input is already normalised. */
  normalization: 'imagenet' | 'minus_one_one';
  /** Build the auxiliary FCN head (training aid; off by default at inference). */
  aux: boolean;
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
    resizeMode: 'half_pixel',
    normalization: 'imagenet',
    aux: false,
  };
  const base: DeepLabConfig =
    backbone === 'mobilenet_v2'
      ? { ...torchvision, asppRates: [], dilationConvention: 'paper', resizeMode: 'align_corners', normalization: 'minus_one_one' }
      : torchvision;
  const cfg: DeepLabConfig = { ...base, ...overrides, backbone };
  validateConfig(cfg);
  return cfg;
}

function positiveInts(v: unknown): v is number[] {
  return Array.isArray(v) && v.every((x) => Number.isInteger(x) && x > 0);
}

/** Throws an Error naming the first invalid field. */
export function validateConfig(cfg: DeepLabConfig): void {
  const bad = (field: string, why: string): never => {
    throw new Error(`DeepLab config (${cfg.backbone}): ${field} ${why}`);
  };
  if (!BACKBONES.includes(cfg.backbone)) bad('backbone', `'${String(cfg.backbone)}' is not one of ${BACKBONES.join(', ')}`);
  if (!Number.isInteger(cfg.numClasses) || cfg.numClasses < 1) bad('numClasses', `must be a positive integer, got ${cfg.numClasses}`);
  if (![8, 16, 32].includes(cfg.outputStride)) bad('outputStride', `must be 8, 16 or 32, got ${cfg.outputStride}`);
  if (!positiveInts(cfg.asppRates)) bad('asppRates', `must be positive integers, got ${JSON.stringify(cfg.asppRates)}`);
  if (!Number.isInteger(cfg.asppChannels) || cfg.asppChannels < 1) bad('asppChannels', `must be a positive integer, got ${cfg.asppChannels}`);
  if (cfg.dilationConvention !== 'torchvision' && cfg.dilationConvention !== 'paper') {
    bad('dilationConvention', `must be 'torchvision' or 'paper', got '${String(cfg.dilationConvention)}'`);
  }
  if (!positiveInts(cfg.multiGrid) || cfg.multiGrid.length !== 3) {
    bad('multiGrid', `must be three positive integers (block4's units), got ${JSON.stringify(cfg.multiGrid)}`);
  }
  if (!RESIZE_MODES.includes(cfg.resizeMode)) bad('resizeMode', `'${String(cfg.resizeMode)}' is not one of ${RESIZE_MODES.join(', ')}`);
  if (cfg.normalization !== 'imagenet' && cfg.normalization !== 'minus_one_one') {
    bad('normalization', `must be 'imagenet' or 'minus_one_one', got '${String(cfg.normalization)}'`);
  }
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
