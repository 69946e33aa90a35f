// mmsegmentation's DeepLabv3 heads (mmseg/models/decode_heads/aspp_head.py and fcn_head.py), with
// its parameter names, so an mmseg state dict maps onto the graph by name.
//
// ASPPHead (`decode_head`): the image-level branch `image_pool` (global average pool, then a
// ConvModule 1x1: `image_pool.1.conv` + `image_pool.1.bn` + ReLU, broadcast back to the feature
// size) comes FIRST in the concat, then `aspp_modules.0..3` (a 1x1 ConvModule for dilation 1,
// else 3x3 with padding = dilation); the concat goes through `bottleneck`, a 3x3 ConvModule with
// padding 1 (no 1x1 projection as torchvision's), then Dropout2d(0.1) (training only) and
// `conv_seg`, a 1x1 conv with bias to the classes. Every ConvModule is conv (no bias) -> BN
// (eps 1e-5) -> ReLU, named `<module>.conv` / `<module>.bn`.
//
// DepthwiseSeparableASPPHead (DeepLabv3+, sep_aspp_head.py, `decode_head`): ASPPHead's image pool,
// 1x1 branch and 3x3 `bottleneck`, but each dilated branch a DepthwiseSeparableConvModule
// (`aspp_modules.i.depthwise_conv` 3x3 with padding = dilation, then `.pointwise_conv` 1x1, each
// conv -> BN -> ReLU); then the decoder: `c1_bottleneck` (1x1 ConvModule to c1_channels 48) on
// the backbone's first output (stride 4), the bottleneck's output resized to its size (bilinear,
// the head's align_corners) and concatenated before it, `sep_bottleneck.0` and `.1` (two 3x3
// DepthwiseSeparableConvModules to `channels`), Dropout2d(0.1), `conv_seg`.
//
// FCNHead (`auxiliary_head`, num_convs 1, concat_input False): `convs.0` (3x3 ConvModule to
// `channels`: 256 from ResNet-50/101's 1024, 64 from ResNet-18's 256, 256 from MobileNetV2's 96),
// Dropout2d(0.1), `conv_seg`. mmseg runs it in training only (loss weight 0.4).
//
// Training: each head's Dropout2d drops whole channels, as mmseg's does (channelwise dropout).
import type { GraphBuilder } from '../../graph/builder.js';
import type { Value } from '../../graph/ir.js';
import type { ResizeMode } from '../../kernels/resize/resize.js';
import { type AsppLayout, aspp } from './aspp.js';
import { type DecoderLayout, deepLabV3PlusDecoder } from './decoder.js';
import { TORCH_NAMING, conv, convBnAct } from './layers.js';

/** BN eps of every ConvModule (mmcv's BatchNorm2d / SyncBN default). */
export const MMSEG_BN_EPS = 1e-5;
/** Dropout before each head's conv_seg (mmseg's dropout_ratio). */
export const MMSEG_DROPOUT = 0.1;

/** mmseg's ASPPHead modules under `prefix` ('decode_head'), one atrous branch per rate. */
export function mmsegAsppLayout(prefix: string, numRates: number): AsppLayout {
  const module = (name: string) => ({ conv: `${prefix}.${name}.conv`, bn: `${prefix}.${name}.bn` });
  const atrous = Array.from({ length: numRates }, (_, i) => module(`aspp_modules.${i + 1}`));
  return {
    prefix,
    conv1x1: module('aspp_modules.0'),
    atrous,
    pooling: module('image_pool.1'),
    project: module('bottleneck'),
    poolingPosition: 'first',
  };
}

export interface MmsegHeadOptions {
  prefix: string;
  numClasses: number;
  /** The dilations of aspp_modules.1.. (mmseg's `dilations` less the leading 1): [12,24,36] at D8, [6,12,18] at D16. */
  rates: number[];
  /** `channels`: 512, or 128 on ResNet-18. */
  channels: number;
  /** Training: dropout before conv_seg. */
  dropout?: boolean;
}

/** DepthwiseSeparableASPPHead's ASPP: mmsegAsppLayout's, its dilated branches depthwise-separable. */
export function mmsegSepAsppLayout(prefix: string, numRates: number): AsppLayout {
  const layout = mmsegAsppLayout(prefix, numRates);
  const atrous = layout.atrous.map((_, i) => {
    const branch = `${prefix}.aspp_modules.${i + 1}`;
    return { conv: `${branch}.depthwise_conv.conv`, depthwiseBn: `${branch}.depthwise_conv.bn`, pointwise: `${branch}.pointwise_conv.conv`, bn: `${branch}.pointwise_conv.bn` };
  });
  return { ...layout, atrous };
}

/** DepthwiseSeparableASPPHead's decoder names: `c1_bottleneck`, then `sep_bottleneck.{0,1}.{depthwise,pointwise}_conv`. */
export function mmsegDecoderLayout(prefix: string): DecoderLayout {
  const module = (name: string) => ({ conv: `${name}.conv`, bn: `${name}.bn` });
  const sep = (i: number) => ({ depthwise: module(`${prefix}.sep_bottleneck.${i}.depthwise_conv`), pointwise: module(`${prefix}.sep_bottleneck.${i}.pointwise_conv`) });
  return { upsample: `${prefix}.c1_upsample`, concat: `${prefix}.c1_concat`, project: module(`${prefix}.c1_bottleneck`), refine: [sep(0), sep(1)], naming: TORCH_NAMING };
}

/** c1_channels of mmseg's DeepLabv3+ configs (its ResNet-18 ones: 12). */
export const MMSEG_C1_CHANNELS = 48;

/** ASPPHead on backbone features [N,H,W,Cin]: logits at the feature size. */
export function mmsegAsppHead(b: GraphBuilder, x: Value, opts: MmsegHeadOptions): Value {
  const { prefix, channels } = opts;
  let y = aspp(b, x, mmsegAsppLayout(prefix, opts.rates.length), {
    rates: opts.rates,
    imagePooling: true,
    channels,
    eps: MMSEG_BN_EPS,
    // From 1x1 every mode gives the same constant map.
    poolResizeMode: 'half_pixel',
    projectKernel: 3,
  });
  if (opts.dropout) y = b.dropout(`${prefix}.dropout`, y, MMSEG_DROPOUT, { channelwise: true });
  return conv(b, y, { name: `${prefix}.conv_seg`, kernel: 1, cout: opts.numClasses, bias: true });
}

/**
 * DepthwiseSeparableASPPHead on the backbone's output `x` and its stride-4 features `c1`: logits
 * at c1's size. `resizeMode` is the head's align_corners.
 */
export function mmsegSepAsppHead(b: GraphBuilder, x: Value, c1: Value, opts: MmsegHeadOptions & { resizeMode: ResizeMode; c1Channels?: number }): Value {
  const { prefix, channels } = opts;
  const encoder = aspp(b, x, mmsegSepAsppLayout(prefix, opts.rates.length), {
    rates: opts.rates,
    imagePooling: true,
    channels,
    eps: MMSEG_BN_EPS,
    poolResizeMode: 'half_pixel',
    projectKernel: 3,
  });
  let y = deepLabV3PlusDecoder(b, encoder, c1, mmsegDecoderLayout(prefix), { resizeMode: opts.resizeMode, eps: MMSEG_BN_EPS, lowLevelChannels: opts.c1Channels ?? MMSEG_C1_CHANNELS, channels });
  if (opts.dropout) y = b.dropout(`${prefix}.dropout`, y, MMSEG_DROPOUT, { channelwise: true });
  return conv(b, y, { name: `${prefix}.conv_seg`, kernel: 1, cout: opts.numClasses, bias: true });
}

/**
 * FCNHead (one 3x3 ConvModule to `channels`, by default in/4 as every ResNet config of mmseg's
 * zoo has it) under `prefix` ('auxiliary_head'): logits at the feature size.
 */
export function mmsegFcnHead(b: GraphBuilder, x: Value, opts: { prefix: string; numClasses: number; channels?: number; dropout?: boolean }): Value {
  const { prefix } = opts;
  const channels = opts.channels ?? Math.floor(x.shape[3] / 4);
  let y = convBnAct(b, x, { name: `${prefix}.convs.0.conv`, bn: `${prefix}.convs.0.bn`, kernel: 3, cout: channels, padding: 1, eps: MMSEG_BN_EPS, activation: 'relu' });
  if (opts.dropout) y = b.dropout(`${prefix}.dropout`, y, MMSEG_DROPOUT, { channelwise: true });
  return conv(b, y, { name: `${prefix}.conv_seg`, kernel: 1, cout: opts.numClasses, bias: true });
}
