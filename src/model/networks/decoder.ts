// DeepLabv3+'s decoder (L.-C. Chen et al., "Encoder-Decoder with Atrous Separable Convolution
// for Semantic Image Segmentation", 2018, Sec. 3.1 and Fig. 2).
//
// The encoder's output (ASPP after its 1x1 projection, at the output stride) is bilinearly
// upsampled to the size of the backbone's stride-4 features; those are first reduced to 48
// channels by a 1x1 conv + BN + ReLU, so they do not outweigh the encoder's 256 (the paper's
// Table 1). The two are concatenated (encoder first, as TF DeepLab does) and refined by two 3x3
// convs of 256 + BN + ReLU; the logits conv and the final upsampling follow, as without a decoder.
// On MobileNet backbones each 3x3 conv is depthwise-separable, as TF DeepLab builds its
// MobileNet decoders (decoder_use_separable_conv): depthwise 3x3 + BN + ReLU, then pointwise
// 1x1 + BN + ReLU.
//
// Parameter names follow each family's checkpoints (see the two layouts below). The low-level
// tap of each backbone is chosen by its builder: ResNet's layer1 output (256 channels), and on
// MobileNets the depthwise output of the last block at stride 4 (TF DeepLab's decoder end point
// 'layer_4/depthwise_output' for both MobileNetV2 and MobileNetV3-Large).
import type { GraphBuilder } from '../../graph/builder.js';
import type { Value } from '../../graph/ir.js';
import { shapeString } from '../../gpu/tensor.js';
import type { ResizeMode } from '../../kernels/resize/resize.js';
import { type ConvBnNames, type DeepLabHeadOptions, TORCH_HEAD_BN_EPS, torchvisionAspp } from './aspp.js';
import { type ParamNaming, TF_NAMING, TORCH_NAMING, conv, convBnAct } from './layers.js';

/** Channels the stride-4 features are reduced to (the paper's choice, Table 1). */
export const DECODER_LOW_LEVEL_CHANNELS = 48;
/** Filters of the two 3x3 refining convs (the paper's choice, Table 2). */
export const DECODER_CHANNELS = 256;

/** One refining conv: a plain 3x3 conv + BN, or a depthwise 3x3 + BN and a pointwise 1x1 + BN. */
export type RefineNames = { plain: ConvBnNames } | { depthwise: ConvBnNames; pointwise: ConvBnNames };

export interface DecoderLayout {
  /** Names of the layers that own no parameters: the encoder's upsampling and the concat. */
  upsample: string;
  concat: string;
  /** The 1x1 reduction of the low-level features. */
  project: ConvBnNames;
  /** The two refining convs, in order. */
  refine: [RefineNames, RefineNames];
  naming: ParamNaming;
}

/**
 * Our names for the torchvision-style models (ResNet, MobileNetV3-Large), which torchvision has
 * no DeepLabv3+ for: a `decoder` module beside `classifier`, each conv -> BN pair numbered as
 * torchvision's Conv2dNormActivation (`.0` conv, `.1` BN): `decoder.project.{0,1}`, then
 * `decoder.refine.{0,1}.{0,1}`, or with separable convs `decoder.refine.{0,1}.depthwise.{0,1}`
 * and `decoder.refine.{0,1}.pointwise.{0,1}`.
 */
export function torchvisionDecoderLayout(separable: boolean, prefix = 'decoder'): DecoderLayout {
  const pair = (p: string): ConvBnNames => ({ conv: `${p}.0`, bn: `${p}.1` });
  const refine = (i: number): RefineNames =>
    separable ? { depthwise: pair(`${prefix}.refine.${i}.depthwise`), pointwise: pair(`${prefix}.refine.${i}.pointwise`) } : { plain: pair(`${prefix}.refine.${i}`) };
  return { upsample: `${prefix}.upsample`, concat: `${prefix}.concat`, project: pair(`${prefix}.project`), refine: [refine(0), refine(1)], naming: TORCH_NAMING };
}

/**
 * TF DeepLab's variable names (model.py's refine_by_decoder, one decoder stage, separable convs):
 * `decoder/feature_projection0`, `decoder/decoder_conv{0,1}_depthwise` and
 * `decoder/decoder_conv{0,1}_pointwise`, each with `weights` and `BatchNorm/*`.
 */
export function tfDecoderLayout(prefix = 'decoder'): DecoderLayout {
  const pair = (p: string): ConvBnNames => ({ conv: `${prefix}/${p}`, bn: `${prefix}/${p}/BatchNorm` });
  const refine = (i: number): RefineNames => ({ depthwise: pair(`decoder_conv${i}_depthwise`), pointwise: pair(`decoder_conv${i}_pointwise`) });
  return { upsample: `${prefix}/upsample`, concat: `${prefix}/concat`, project: pair('feature_projection0'), refine: [refine(0), refine(1)], naming: TF_NAMING };
}

export interface DecoderOptions {
  /** Mode of the encoder's upsampling (the model's own: torchvision half-pixel, TF align-corners). */
  resizeMode: ResizeMode;
  /** Batch-norm eps of every decoder BN. */
  eps: number;
  /** Channels of the reduced low-level features (default 48). */
  lowLevelChannels?: number;
  /** Filters of the refining convs (default 256). */
  channels?: number;
}

function refineConv(b: GraphBuilder, x: Value, names: RefineNames, cout: number, eps: number, naming: ParamNaming): Value {
  if ('plain' in names) return convBnAct(b, x, { name: names.plain.conv, bn: names.plain.bn, kernel: 3, cout, eps, activation: 'relu' }, naming);
  const cin = x.shape[3];
  const d = convBnAct(b, x, { name: names.depthwise.conv, bn: names.depthwise.bn, kernel: 3, cout: cin, groups: cin, eps, activation: 'relu' }, naming);
  return convBnAct(b, d, { name: names.pointwise.conv, bn: names.pointwise.bn, kernel: 1, cout, eps, activation: 'relu' }, naming);
}

/**
 * The decoder on `encoder` [N,h,w,C] (ASPP's output) and `lowLevel` [N,H4,W4,Cl] (the backbone's
 * stride-4 features): returns the refined features [N,H4,W4,channels], before the logits conv.
 */
export function deepLabV3PlusDecoder(b: GraphBuilder, encoder: Value, lowLevel: Value, layout: DecoderLayout, opts: DecoderOptions): Value {
  const { naming } = layout;
  const { eps } = opts;
  const channels = opts.channels ?? DECODER_CHANNELS;
  if (encoder.shape.length !== 4 || lowLevel.shape.length !== 4 || encoder.shape[0] !== lowLevel.shape[0]) {
    throw new Error(`${layout.concat}: the encoder output ${shapeString(encoder.shape)} and the low-level features ${shapeString(lowLevel.shape)} must be NHWC of one batch`);
  }
  const [, h, w] = lowLevel.shape;
  const low = convBnAct(b, lowLevel, { name: layout.project.conv, bn: layout.project.bn, kernel: 1, cout: opts.lowLevelChannels ?? DECODER_LOW_LEVEL_CHANNELS, eps, activation: 'relu' }, naming);
  const up = b.resize(layout.upsample, encoder, h, w, opts.resizeMode);
  let y = b.concat(layout.concat, [up, low]);
  for (const names of layout.refine) y = refineConv(b, y, names, channels, eps, naming);
  return y;
}

/**
 * The torchvision-style head with the decoder, under `prefix` ('classifier'): ASPP (.0, as in
 * DeepLabHead, so a DeepLabv3 checkpoint's ASPP loads into it), the decoder (`decoder.*`), and
 * the 1x1 logits conv (.4, with bias). Returns logits at the low-level features' size (stride 4).
 */
export function deepLabV3PlusHead(b: GraphBuilder, x: Value, lowLevel: Value, opts: DeepLabHeadOptions & { separable: boolean; resizeMode: ResizeMode }): Value {
  const encoder = torchvisionAspp(b, x, opts);
  const y = deepLabV3PlusDecoder(b, encoder, lowLevel, torchvisionDecoderLayout(opts.separable), { resizeMode: opts.resizeMode, eps: TORCH_HEAD_BN_EPS });
  return conv(b, y, { name: `${opts.prefix}.4`, kernel: 1, cout: opts.numClasses, bias: true });
}
