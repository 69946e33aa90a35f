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
// FCNHead (`auxiliary_head`, num_convs 1, concat_input False): `convs.0` (3x3 ConvModule to
// in/4 channels: 256 from ResNet-50/101's 1024, 64 from ResNet-18's 256), Dropout2d(0.1),
// `conv_seg`. mmseg runs it in training only (loss weight 0.4).
//
// Training: each head's Dropout2d drops whole channels, as mmseg's does (channelwise dropout).
import type { GraphBuilder } from '../../graph/builder.js';
import type { Value } from '../../graph/ir.js';
import { type AsppLayout, aspp } from './aspp.js';
import { conv, convBnAct } from './layers.js';

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

/** FCNHead (one 3x3 ConvModule to in/4 channels) under `prefix` ('auxiliary_head'): logits at the feature size. */
export function mmsegFcnHead(b: GraphBuilder, x: Value, opts: { prefix: string; numClasses: number; dropout?: boolean }): Value {
  const { prefix } = opts;
  const channels = Math.floor(x.shape[3] / 4);
  let y = convBnAct(b, x, { name: `${prefix}.convs.0.conv`, bn: `${prefix}.convs.0.bn`, kernel: 3, cout: channels, padding: 1, eps: MMSEG_BN_EPS, activation: 'relu' });
  if (opts.dropout) y = b.dropout(`${prefix}.dropout`, y, MMSEG_DROPOUT, { channelwise: true });
  return conv(b, y, { name: `${prefix}.conv_seg`, kernel: 1, cout: opts.numClasses, bias: true });
}
