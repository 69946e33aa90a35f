// TF DeepLab's head on its MobileNetV3 models (tensorflow/models research/deeplab model.py:
// extract_features and refine_by_decoder with the zoo's flags for them, model_zoo.md:
// aspp_with_squeeze_and_excitation, image_se_uses_qsigmoid, aspp_convs_filters 128, no concat
// projection, decoder_use_sum_merge, decoder_output_is_logits, decoder_output_stride 8):
//   image_pooling: an average pool of the features over windows the image-pooling crop gives
//     (scale_dimension(crop, 1 / output stride)), at image_pooling_stride, 'VALID'; a 1x1 conv with
//     bias and q_sigmoid (TF's hard sigmoid); resized back to the features (aligned corners);
//   aspp0: 1x1 conv, BN (eps 1e-5), ReLU, times the image-pooling gate;
//   decoder: that resized (aligned corners) to the stride-8 end point's size and a 1x1 conv with
//     bias (`decoder/decoder_conv0`), plus the end point through a 1x1 conv with bias
//     (`decoder/feature_projection0`): the sum is the logits, at stride 8.
import type { GraphBuilder } from '../../graph/builder.js';
import type { Value } from '../../graph/ir.js';
import type { ResizeMode } from '../../kernels/resize/resize.js';
import { TF_NAMING, conv, convBnAct } from './layers.js';
import { tfHardSigmoid } from './tf-mobilenet-v3.js';

/** Batch-norm eps of TF DeepLab's ASPP (model.py's batch_norm_params). */
const TF_ASPP_BN_EPS = 1e-5;

export interface TfMnv3HeadOptions {
  numClasses: number;
  outputStride: number;
  /** aspp_convs_filters (128 in the zoo's models). */
  channels: number;
  /** image_pooling_crop_size [height, width] (769, 769 in the zoo's models). */
  imagePoolingCrop: readonly [number, number];
  /** image_pooling_stride [height, width] (4, 5 in the zoo's models). */
  imagePoolingStride: readonly [number, number];
  resizeMode: ResizeMode;
}

/** TF DeepLab's scale_dimension: int((dim - 1) * scale + 1). */
const scaleDimension = (dim: number, scale: number) => Math.floor((dim - 1) * scale + 1);

/** The logits [N, h8, w8, classes] at the stride-8 end point's size. */
export function tfMnv3Head(b: GraphBuilder, features: Value, stride8: Value, o: TfMnv3HeadOptions): Value {
  const [, fh, fw] = features.shape;
  // TF's graph refuses an input whose features are smaller than the window (under the crop);
  // here the window is then the whole map, as image pooling without a crop is.
  const [kh, kw] = o.imagePoolingCrop.map((d, i) => Math.min(scaleDimension(d, 1 / o.outputStride), features.shape[i + 1]));
  const [sh, sw] = o.imagePoolingStride;
  const pooled = b.pool2d('image_pooling/pool', features, { kind: 'avg', kernelH: kh, kernelW: kw, strideH: sh, strideW: sw, padTop: 0, padBottom: 0, padLeft: 0, padRight: 0, countIncludePad: false });
  const gate = tfHardSigmoid(b, 'image_pooling', conv(b, pooled, { name: 'image_pooling', kernel: 1, cout: o.channels, bias: true, activation: 'hardsigmoid' }, TF_NAMING));
  // TF resizes to scale_dimension(crop, 1 / output stride): the features' size under 'SAME' padding.
  const gateUp = b.resize('image_pooling/resize', gate, fh, fw, o.resizeMode);
  const aspp0 = convBnAct(b, features, { name: 'aspp0', bn: 'aspp0/BatchNorm', kernel: 1, cout: o.channels, eps: TF_ASPP_BN_EPS, activation: 'relu' }, TF_NAMING);
  const gated = b.mulValues('aspp0/gated', aspp0, gateUp);
  const [, h8, w8] = stride8.shape;
  const projection = conv(b, stride8, { name: 'decoder/feature_projection0', kernel: 1, cout: o.numClasses, bias: true }, TF_NAMING);
  const upsampled = b.resize('decoder/resize', gated, h8, w8, o.resizeMode);
  const merged = conv(b, upsampled, { name: 'decoder/decoder_conv0', kernel: 1, cout: o.numClasses, bias: true }, TF_NAMING);
  return b.addValues('decoder/sum', merged, projection);
}
