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
// Every upsampling is smp's UpsamplingBilinear2d (align_corners true) by a scale factor; smp takes
// only inputs whose sides are multiples of the output stride, where that is a resize to the
// input's size, so a size that is not is refused here as smp refuses it.
import type { GraphBuilder } from '../../graph/builder.js';
import type { Value } from '../../graph/ir.js';
import { shapeString } from '../../gpu/tensor.js';
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

/** UpsamplingBilinear2d(scale) as a resize to the size it gives; a size it does not give exactly is smp's refusal. */
function upsampleBy(b: GraphBuilder, name: string, x: Value, scale: number, to: { height: number; width: number }): Value {
  const [, h, w] = x.shape;
  if (h * scale !== to.height || w * scale !== to.width) {
    throw new Error(`${name}: ${shapeString(x.shape)} upsampled x${scale} is ${h * scale}x${w * scale}, not ${to.height}x${to.width}: smp's DeepLabs take sides that are multiples of the output stride (pad the input)`);
  }
  return b.resize(name, x, to.height, to.width, 'align_corners');
}

/** The decoder and head of an smp DeepLabV3 or DeepLabV3Plus on `features`: logits [N,H,W,classes] at the input's size. */
export function smpHeads(b: GraphBuilder, features: BackboneFeatures, cfg: DeepLabConfig, size: { height: number; width: number }, opts: { dropout?: boolean }): Value {
  const C = cfg.asppChannels;
  // The encoder's output stride (smp's `encoder.output_stride`: min(encoder_output_stride, 2^depth)).
  const stride = cfg.outputStride;
  if (size.height % stride !== 0 || size.width % stride !== 0) {
    throw new Error(`smp DeepLab: input ${size.height}x${size.width} has a side that is not a multiple of the output stride ${stride}, which smp refuses (pad the input)`);
  }
  const plus = cfg.decoder === 'deeplabv3plus';
  const asppOpts = {
    rates: cfg.asppRates,
    imagePooling: true,
    channels: C,
    eps: SMP_BN_EPS,
    poolResizeMode: 'half_pixel' as const,
    dropout: opts.dropout ? SMP_ASPP_DROPOUT : 0,
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
    y = upsampleBy(b, 'decoder.up', y, stride / 4, { height: h4, width: w4 });
    const low = convBnAct(b, features.lowLevel, { name: 'decoder.block1.0', bn: 'decoder.block1.1', kernel: 1, cout: SMP_LOW_LEVEL_CHANNELS, eps: SMP_BN_EPS, activation: 'relu' });
    y = b.concat('decoder.concat', [y, low]);
    y = separableConvBnRelu(b, y, { depthwise: 'decoder.block2.0.0', pointwise: 'decoder.block2.0.1', bn: 'decoder.block2.1' }, C);
  }
  const logits = conv(b, y, { name: 'segmentation_head.0', kernel: 1, cout: cfg.numClasses, bias: true });
  return upsampleBy(b, 'segmentation_head.1', logits, plus ? 4 : stride, size);
}
