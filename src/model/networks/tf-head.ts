// TF DeepLab's head (tensorflow/models research/deeplab model.py) as its zoo's Xception models
// hold it: ASPP with the image-level branch first (`image_pooling`), the 1x1 branch (`aspp0`) and
// one branch per atrous rate, separable (`aspp_with_separable_conv`: `aspp{i}_depthwise` 3x3 + BN +
// ReLU, `aspp{i}_pointwise` 1x1 + BN + ReLU), concatenated in that order and projected
// (`concat_projection`); with DeepLabv3+, the decoder on the stride-4 features (decoder.ts's TF
// layout: separable convs, `decoder_use_separable_conv`); then `logits/semantic` (1x1 with bias).
// Every batch norm has eps 1e-5 (model.py's batch_norm_params); every resize aligns corners.
import type { GraphBuilder } from '../../graph/builder.js';
import type { Value } from '../../graph/ir.js';
import { type AsppLayout, aspp } from './aspp.js';
import type { DeepLabConfig } from './config-types.js';
import type { BackboneFeatures } from './deeplab-types.js';
import { deepLabV3PlusDecoder, tfDecoderLayout } from './decoder.js';
import { TF_NAMING, conv } from './layers.js';

/** Batch-norm eps of TF DeepLab's ASPP and decoder. */
export const TF_HEAD_BN_EPS = 1e-5;
/** TF DeepLab's dropout after the concat projection in training (keep_prob 0.9). */
const TF_HEAD_DROPOUT = 0.1;

/** TF's ASPP names: `image_pooling`, `aspp0`, `aspp{i}_depthwise` / `aspp{i}_pointwise`, `concat_projection`. */
export function tfAsppLayout(numRates: number): AsppLayout {
  const pair = (scope: string) => ({ conv: scope, bn: `${scope}/BatchNorm` });
  const atrous = Array.from({ length: numRates }, (_, i) => ({
    conv: `aspp${i + 1}_depthwise`,
    depthwiseBn: `aspp${i + 1}_depthwise/BatchNorm`,
    pointwise: `aspp${i + 1}_pointwise`,
    bn: `aspp${i + 1}_pointwise/BatchNorm`,
  }));
  return { prefix: 'aspp', conv1x1: pair('aspp0'), atrous, pooling: pair('image_pooling'), project: pair('concat_projection'), poolingPosition: 'first' };
}

/** The head on a backbone's features: logits [N,h,w,classes] at the decoder's stride (4) or the output stride. */
export function tfDeepLabHead(b: GraphBuilder, features: BackboneFeatures, cfg: DeepLabConfig, opts: { dropout?: boolean }): Value {
  let y = aspp(b, features.out, tfAsppLayout(cfg.asppRates.length), {
    rates: cfg.asppRates,
    imagePooling: cfg.imagePooling,
    channels: cfg.asppChannels,
    eps: TF_HEAD_BN_EPS,
    poolResizeMode: cfg.resizeMode,
    naming: TF_NAMING,
    dropout: opts.dropout ? TF_HEAD_DROPOUT : 0,
  });
  if (cfg.decoder === 'deeplabv3plus') y = deepLabV3PlusDecoder(b, y, features.lowLevel, tfDecoderLayout(), { resizeMode: cfg.resizeMode, eps: TF_HEAD_BN_EPS });
  return conv(b, y, { name: 'logits/semantic', kernel: 1, cout: cfg.numClasses, bias: true }, TF_NAMING);
}
