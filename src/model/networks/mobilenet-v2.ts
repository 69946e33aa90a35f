// TF DeepLab's MobileNetV2 DeepLabv3 (the official 257 TFLite model and the 513 checkpoint).
//
// The backbone is MobileNetV2 with depth multiplier 1; past the requested output stride each
// stride-2 layer runs at stride 1 and later layers are dilated, with TF slim's bookkeeping: the
// layer whose stride is removed keeps the current rate and the rate is multiplied for the layers
// after it. Batch norm is already folded into the conv biases in both released files, so every
// conv there has a bias and no BN op; `transformers`' port keeps its batch norms (and trains
// them), so with `batchNorms` every conv but the logits' is conv -> BN (TF's `BatchNorm` scopes),
// which compile folds for inference. The head is the ASPP variant TF ships for MobileNetV2:
// image pooling and a 1x1 branch (`aspp0`), concatenated in that order, a 1x1 projection and
// the 1x1 logits layer, all TF 'SAME' padding; resizes use align_corners = true. With the
// DeepLabv3+ decoder (config `decoder`), TF's decoder sits between the projection and the logits:
// the only batch norms of this network, in TF's names (src/model/networks/decoder.ts).
import type { GraphBuilder } from '../../graph/builder.js';
import type { Value } from '../../graph/ir.js';
import type { Activation } from '../../kernels/activation/activation.js';
import type { ResizeMode } from '../../kernels/resize/resize.js';
import type { DecoderName } from './config-types.js';
import { deepLabV3PlusDecoder, tfDecoderLayout } from './decoder.js';
import { TF_NAMING, conv as convLayer, convBnAct } from './layers.js';

/** Batch norms kept after the convolutions (transformers' port), rather than folded into them. */
export interface MobilenetV2BatchNorms {
  /** The backbone's eps. */
  eps: number;
  /** The head's eps (image pooling, aspp0, concat_projection). */
  headEps: number;
  /** PyTorch's momentum: the weight of a batch's statistics in the running ones. */
  momentum: number;
}

export interface TfMobilenetV2Options {
  outputStride: number;
  numClasses: number;
  /** ASPP image-level branch (present in both released files). */
  imagePooling: boolean;
  /** Extra 3x3 atrous ASPP branches (none in the released files). */
  asppRates: number[];
  /** Upsampling convention; the released models use 'align_corners'. */
  resizeMode: ResizeMode;
  /** Training: TF DeepLab's dropout (keep 0.9) after the concat projection. */
  dropout?: boolean;
  /** Width multiplier of the backbone (the official 257 TFLite model uses 0.5, the 513 one 1). */
  depthMultiplier: number;
  /** DeepLabv3+'s decoder between the projection and the logits (default 'none'). */
  decoder?: DecoderName;
  /** Batch norms as their own ops (transformers' port); none: folded into the conv biases (TF's files). */
  batchNorms?: MobilenetV2BatchNorms;
}

/** Batch-norm eps of TF DeepLab's decoder (its batch_norm_params). */
const TF_DECODER_BN_EPS = 1e-5;

/** Channels of a layer under a width multiplier (TF DeepLab's MobileNetV2 keeps at least 8). */
export function scaledChannels(c: number, multiplier: number): number {
  return Math.max(8, Math.round(c * multiplier));
}

/** (expansion t, output channels c, stride s) of expanded_conv, expanded_conv_1 ... _16. */
const INVERTED_RESIDUALS: readonly [number, number, number][] = [
  [1, 16, 1],
  [6, 24, 2], [6, 24, 1],
  [6, 32, 2], [6, 32, 1], [6, 32, 1],
  [6, 64, 2], [6, 64, 1], [6, 64, 1], [6, 64, 1],
  [6, 96, 1], [6, 96, 1], [6, 96, 1],
  [6, 160, 2], [6, 160, 1], [6, 160, 1],
  [6, 320, 1],
];

/** How many inverted-residual blocks the network has (expanded_conv ... expanded_conv_16). */
export const MOBILENET_V2_LAYER_COUNT = INVERTED_RESIDUALS.length;

/** TF name of inverted-residual block i: expanded_conv, expanded_conv_1, ... */
export function expandedConvScope(i: number): string {
  return i === 0 ? 'MobilenetV2/expanded_conv' : `MobilenetV2/expanded_conv_${i}`;
}

/**
 * A conv with bias as TF folds it (params `${scope}/weights` HWIO and `${scope}/biases`), or with
 * `bn` a conv without bias and its batch norm (`${scope}/BatchNorm/{gamma,beta,moving_mean,moving_variance}`).
 */
function conv(
  g: GraphBuilder,
  scope: string,
  x: Value,
  kernel: number,
  cout: number,
  opts: { stride?: number; dilation?: number; depthwise?: boolean; activation?: Activation; bn?: { eps: number; momentum: number } },
): Value {
  const cin = x.shape[3];
  const spec = {
    name: scope,
    kernel,
    cout: opts.depthwise ? cin : cout,
    stride: opts.stride ?? 1,
    dilation: opts.dilation ?? 1,
    groups: opts.depthwise ? cin : 1,
    padding: 'same' as const,
    activation: opts.activation,
  };
  if (opts.bn) return convBnAct(g, x, { ...spec, bn: `${scope}/BatchNorm`, ...opts.bn }, TF_NAMING);
  return convLayer(g, x, { ...spec, bias: true }, TF_NAMING);
}

/** The stride and rate of each layer for an output stride (TF slim's rule). */
export function mobilenetV2Strides(outputStride: number): { stem: number; layers: { stride: number; rate: number }[] } {
  if (![8, 16, 32].includes(outputStride)) {
    throw new Error(`mobilenet_v2: output stride must be 8, 16 or 32, got ${outputStride}`);
  }
  let current = 2; // after the stem
  let rate = 1;
  const layers = INVERTED_RESIDUALS.map(([, , s]) => {
    if (current === outputStride) {
      const layer = { stride: 1, rate };
      rate *= s;
      return layer;
    }
    current *= s;
    return { stride: s, rate: 1 };
  });
  return { stem: 2, layers };
}

/** Index of the last inverted-residual block whose output is at stride 4 (2: expanded_conv_2, TF's layer_4). */
export function mobilenetV2LowLevelBlock(): number {
  let stride = 2; // the stem's
  let last = -1;
  INVERTED_RESIDUALS.forEach(([, , s], i) => {
    stride *= s;
    if (stride === 4) last = i;
  });
  return last;
}

export interface MobilenetV2Features {
  /** The last block's output, at the output stride. */
  out: Value;
  /**
   * DeepLabv3+'s stride-4 features: TF DeepLab's decoder end point 'layer_4/depthwise_output',
   * the depthwise output (after ReLU6) of expanded_conv_2: 144 channels at width 1.
   */
  lowLevel: Value;
}

/** Backbone features at the output stride, and the stride-4 features the decoder reads. */
export function buildMobilenetV2Backbone(g: GraphBuilder, image: Value, outputStride: number, depthMultiplier = 1, batchNorms?: MobilenetV2BatchNorms): MobilenetV2Features {
  const plan = mobilenetV2Strides(outputStride);
  const bn = batchNorms && { eps: batchNorms.eps, momentum: batchNorms.momentum };
  const lowLevelBlock = mobilenetV2LowLevelBlock();
  let lowLevel: Value | undefined;
  let x = conv(g, 'MobilenetV2/Conv', image, 3, scaledChannels(32, depthMultiplier), { stride: plan.stem, activation: 'relu6', bn });
  INVERTED_RESIDUALS.forEach(([t, c], i) => {
    const { stride, rate } = plan.layers[i];
    const scope = expandedConvScope(i);
    const input = x;
    let h = input;
    if (t !== 1) h = conv(g, `${scope}/expand`, h, 1, input.shape[3] * t, { activation: 'relu6', bn });
    h = conv(g, `${scope}/depthwise`, h, 3, h.shape[3], { stride, dilation: rate, depthwise: true, activation: 'relu6', bn });
    if (i === lowLevelBlock) lowLevel = h;
    const cout = scaledChannels(c, depthMultiplier);
    h = conv(g, `${scope}/project`, h, 1, cout, { bn });
    x = stride === 1 && input.shape[3] === cout ? g.addValues(`${scope}/add`, h, input) : h;
  });
  return { out: x, lowLevel: lowLevel! };
}

/** The whole network: input 'image' [1,H,W,3] in [-1, 1], output 'logits' [1,H,W,classes]. */
export function buildTfMobilenetV2DeepLab(g: GraphBuilder, image: Value, o: TfMobilenetV2Options): Value {
  const backbone = buildMobilenetV2Backbone(g, image, o.outputStride, o.depthMultiplier, o.batchNorms);
  const features = backbone.out;
  const bn = o.batchNorms && { eps: o.batchNorms.headEps, momentum: o.batchNorms.momentum };
  const [, fh, fw] = features.shape;
  const branches: Value[] = [];
  if (o.imagePooling) {
    const pooled = g.globalAvgPool('image_pooling/pool', features);
    const p = conv(g, 'image_pooling', pooled, 1, 256, { activation: 'relu', bn });
    branches.push(g.resize('image_pooling/resize', p, fh, fw, o.resizeMode));
  }
  branches.push(conv(g, 'aspp0', features, 1, 256, { activation: 'relu', bn }));
  o.asppRates.forEach((r, i) => branches.push(conv(g, `aspp${i + 1}`, features, 3, 256, { dilation: r, activation: 'relu', bn })));
  const concat = branches.length > 1 ? g.concat('concat', branches) : branches[0];
  let projected = conv(g, 'concat_projection', concat, 1, 256, { activation: 'relu', bn });
  if (o.dropout) projected = g.dropout('concat_projection_dropout', projected, 0.1);
  // DeepLabv3+: the decoder refines the projection at stride 4 (separable convs with batch norm,
  // as TF DeepLab trains it, whether or not the backbone's are folded).
  if (o.decoder === 'deeplabv3plus') {
    projected = deepLabV3PlusDecoder(g, projected, backbone.lowLevel, tfDecoderLayout(), { resizeMode: o.resizeMode, eps: TF_DECODER_BN_EPS });
  }
  const logits = conv(g, 'logits/semantic', projected, 1, o.numClasses, {});
  return g.resize('logits/resize', logits, image.shape[1], image.shape[2], o.resizeMode);
}
