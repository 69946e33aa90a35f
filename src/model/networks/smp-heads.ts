// segmentation_models_pytorch's DeepLab decoders and segmentation head
// (segmentation_models_pytorch/decoders/deeplabv3/decoder.py and base/heads.py), with smp's
// parameter names, so an smp state dict maps onto the graph by name.
//
// ASPP is torchvision's (1x1, three 3x3 atrous branches, image pooling last, a 1x1 projection,
// Dropout after it in training), each atrous branch optionally separable (`.convs.i.0.0` depthwise
// + `.convs.i.0.1` pointwise, `.convs.i.1` BN: config `asppSeparable`).
//  - DeepLabV3 (`decoder: 'none'`): `decoder.aspp`, then a 3x3 conv `decoder.conv` + `decoder.bn`
//    + ReLU; the head is a 1x1 conv `segmentation_head.0` upsampled by the output stride.
//  - DeepLabV3Plus (`decoder: 'deeplabv3plus'`): `decoder.aspp.0` (ASPP), a separable 3x3
//    (`decoder.aspp.1.{0,1}`) + `decoder.aspp.2` BN + ReLU, upsampled x4 (x2 at OS 8) to the
//    stride-4 features; those reduced to 48 channels (`decoder.block1.{0,1}`), concatenated after
//    the ASPP's, a separable 3x3 (`decoder.block2.0.{0,1}`) + `decoder.block2.1` BN + ReLU; the
//    head is a 1x1 conv upsampled x4.
// Every upsampling is smp's UpsamplingBilinear2d (align_corners true) by a scale factor. smp takes
// only inputs whose sides are multiples of the output stride, where that is an align-corners resize
// to the size of the map it meets (the stride-4 features, the input); the graph resizes to those
// sizes at any input size, and the smp input policy ('stride-multiple') keeps the input's sides
// multiples of the stride, where the two agree.
import type { GraphBuilder } from '../../graph/builder.js';
import type { Value } from '../../graph/ir.js';
import { type AsppLayout, type AtrousNames, aspp } from './aspp.js';
import type { DeepLabConfig } from './config-types.js';
import type { BackboneFeatures } from './deeplab-types.js';
import { conv, convBnAct } from './layers.js';

/** BN eps of smp's decoders (plain nn.BatchNorm2d). */
const SMP_BN_EPS = 1e-5;
/** Channels the stride-4 features are reduced to (smp's `highres_out_channels`). */
const SMP_LOW_LEVEL_CHANNELS = 48;
/** smp's `decoder_aspp_dropout` default, used in training. */
export const SMP_ASPP_DROPOUT = 0.5;

/** smp's ASPP module names under `prefix`, its atrous branches plain or separable. */
export function smpAsppLayout(prefix: string, numRates: number, separable: boolean): AsppLayout {
  const atrous: AtrousNames[] = [];
  for (let i = 1; i <= numRates; i++) {
    atrous.push(separable ? { conv: `${prefix}.convs.${i}.0.0`, pointwise: `${prefix}.convs.${i}.0.1`, bn: `${prefix}.convs.${i}.1` } : { conv: `${prefix}.convs.${i}.0`, bn: `${prefix}.convs.${i}.1` });
  }
  const p = numRates + 1;
  return {
    prefix,
    conv1x1: { conv: `${prefix}.convs.0.0`, bn: `${prefix}.convs.0.1` },
    atrous,
    pooling: { conv: `${prefix}.convs.${p}.1`, bn: `${prefix}.convs.${p}.2` },
    project: { conv: `${prefix}.project.0`, bn: `${prefix}.project.1` },
    poolingPosition: 'last',
  };
}

/** smp's SeparableConv2d (depthwise 3x3 `.0`, pointwise 1x1 `.1`, no bias) -> BN -> ReLU. */
function separableConvBnRelu(b: GraphBuilder, x: Value, names: { depthwise: string; pointwise: string; bn: string }, cout: number): Value {
  const cin = x.shape[3];
  const d = conv(b, x, { name: names.depthwise, kernel: 3, cout: cin, groups: cin });
  return convBnAct(b, d, { name: names.pointwise, bn: names.bn, kernel: 1, cout, eps: SMP_BN_EPS, activation: 'relu' });
}

/** UpsamplingBilinear2d to the size of the map it meets: its scale factor's result where the input's sides are multiples of the stride. */
function upsampleTo(b: GraphBuilder, name: string, x: Value, to: { height: number; width: number }): Value {
  return b.resize(name, x, to.height, to.width, 'align_corners');
}

/** The decoder and head of an smp DeepLabV3 or DeepLabV3Plus on `features`: logits [N,H,W,classes] at the input's size. */
export function smpHeads(b: GraphBuilder, features: BackboneFeatures, cfg: DeepLabConfig, size: { height: number; width: number }, opts: { dropout?: boolean }): Value {
  const C = cfg.asppChannels;
  const plus = cfg.decoder === 'deeplabv3plus';
  const asppOpts = {
    rates: cfg.asppRates,
    imagePooling: true,
    channels: C,
    eps: SMP_BN_EPS,
    poolResizeMode: 'half_pixel' as const,
    dropout: opts.dropout ? (cfg.asppDropout ?? SMP_ASPP_DROPOUT) : 0,
  };
  const separable = cfg.asppSeparable ?? false;
  let y: Value;
  if (!plus) {
    y = aspp(b, features.out, smpAsppLayout('decoder.aspp', cfg.asppRates.length, separable), asppOpts);
    y = convBnAct(b, y, { name: 'decoder.conv', bn: 'decoder.bn', kernel: 3, cout: C, eps: SMP_BN_EPS, activation: 'relu' });
  } else {
    y = aspp(b, features.out, smpAsppLayout('decoder.aspp.0', cfg.asppRates.length, separable), asppOpts);
    y = separableConvBnRelu(b, y, { depthwise: 'decoder.aspp.1.0', pointwise: 'decoder.aspp.1.1', bn: 'decoder.aspp.2' }, C);
    const [, h4, w4] = features.lowLevel.shape;
    y = upsampleTo(b, 'decoder.up', y, { height: h4, width: w4 });
    const low = convBnAct(b, features.lowLevel, { name: 'decoder.block1.0', bn: 'decoder.block1.1', kernel: 1, cout: SMP_LOW_LEVEL_CHANNELS, eps: SMP_BN_EPS, activation: 'relu' });
    y = b.concat('decoder.concat', [y, low]);
    y = separableConvBnRelu(b, y, { depthwise: 'decoder.block2.0.0', pointwise: 'decoder.block2.0.1', bn: 'decoder.block2.1' }, C);
  }
  const logits = conv(b, y, { name: 'segmentation_head.0', kernel: 1, cout: cfg.binary ? 1 : cfg.numClasses, bias: true });
  const full = upsampleTo(b, 'segmentation_head.1', logits, size);
  return cfg.binary ? backgroundAndForeground(b, full) : full;
}

/** A binary model's one logit z [N,H,W,1] as two classes [0, z]: a zero channel padded before it. */
function backgroundAndForeground(b: GraphBuilder, z: Value): Value {
  const [n, h, w] = z.shape;
  const column = b.reshape('binary.column', z, [n, h * w, 1, 1]);
  const pair = b.pad('binary.background', column, { top: 0, bottom: 0, left: 1, right: 0 });
  return b.reshape('binary.classes', pair, [n, h, w, 2]);
}
