// TF DeepLab's MobileNetV3 segmentation models (the zoo's mobilenetv3_{large,small}_cityscapes_
// trainfine): slim's MobileNetV3 `_seg` variants (src/model/networks/tf-mobilenet-v3.ts) with the
// head model.py builds from the zoo's flags for them (src/model/networks/tf-mnv3-head.ts), a whole
// network as TF's MobileNetV2 DeepLab is: inputs in [-1, 1], resizes with aligned corners, TF's
// names, batch norms kept as ops (the checkpoints' variables load as they are; compile folds them).
// Its architecture is the image-pooling crop (image_pooling_crop_size), which sets the pooling
// windows; the zoo's models take 769x769.
import { excerpt } from '../../io/reader-rules.js';
import type { GraphBuilder } from '../../graph/builder.js';
import type { Value } from '../../graph/ir.js';
import type { DeepLabConfig } from '../networks/config-types.js';
import { tfMnv3Head } from '../networks/tf-mnv3-head.js';
import { TF_HARD_SIGMOID_SCALE, TF_MOBILENET_V3_SCOPE, type TfMobilenetV3Variant, buildTfMobilenetV3 } from '../networks/tf-mobilenet-v3.js';
import { type BackboneArchitecture, type BackboneBuildOptions, type BackboneRecord, architectureCasts } from './backbone.js';

interface TfMobilenetV3Architecture {
  /** image_pooling_crop_size [height, width]. */
  imagePoolingCrop: [number, number];
}

const arch = architectureCasts<TfMobilenetV3Architecture>();

/** The zoo's flags (model_zoo.md): --image_pooling_crop_size=769,769 --image_pooling_stride=4,5. */
const ZOO_POOLING_CROP: [number, number] = [769, 769];
const ZOO_POOLING_STRIDE: [number, number] = [4, 5];

const ARCHITECTURE: BackboneArchitecture = {
  default: arch.wrap({ imagePoolingCrop: ZOO_POOLING_CROP }),
  metadataKey: 'imagePoolingCrop',
  toJson: (a) => arch.unwrap(a).imagePoolingCrop,
  fromJson(v, what) {
    if (!Array.isArray(v) || v.length !== 2 || !v.every((d) => Number.isInteger(d) && d > 0)) throw new Error(`${what}: the image-pooling crop ${excerpt(v)} is not [height, width] of positive integers`);
    return arch.wrap({ imagePoolingCrop: [v[0], v[1]] });
  },
};

/**
 * The image-pooling crop of a frozen graph's AvgPool: model.py's window is
 * scale_dimension(crop, 1 / output stride), and the smallest crop of that window, (window - 1)
 * x stride + 1, gives it at the graph's stride (769 for the zoo's 25x25 at 32). Its strides must
 * be the zoo's, which the network is built with.
 */
function poolingArchitecture(pooling: { window: [number, number]; strides: [number, number] }, outputStride: number, what: string) {
  if (pooling.strides.join() !== ZOO_POOLING_STRIDE.join()) {
    throw new Error(`${what}: the image pooling's strides are ${pooling.strides.join(', ')}; TF DeepLab's MobileNetV3 models are built with the zoo's ${ZOO_POOLING_STRIDE.join(', ')} (image_pooling_stride)`);
  }
  return arch.wrap({ imagePoolingCrop: [(pooling.window[0] - 1) * outputStride + 1, (pooling.window[1] - 1) * outputStride + 1] });
}

/** What its graph computes with: slim's hard-swish, x relu6(x + 3) (1/6), and the hard sigmoid of the squeeze-excites and the image pooling, relu6(x + 3) 0.16667. */
const ARITHMETIC = { values: [3, 1 / 6, TF_HARD_SIGMOID_SCALE / 6], words: "hard-swish's 3 and 1/6 or the hard sigmoid's 3 and 0.16667" };

function buildWhole(variant: TfMobilenetV3Variant) {
  return (b: GraphBuilder, image: Value, cfg: DeepLabConfig, opts: BackboneBuildOptions): Value => {
    const { out, stride8 } = buildTfMobilenetV3(b, image, variant, cfg.outputStride);
    const logits = tfMnv3Head(b, out, stride8, {
      numClasses: cfg.numClasses,
      outputStride: cfg.outputStride,
      channels: cfg.asppChannels,
      imagePoolingCrop: arch.unwrap(opts.architecture).imagePoolingCrop,
      imagePoolingStride: ZOO_POOLING_STRIDE,
      resizeMode: cfg.resizeMode,
    });
    return b.resize('logits/resize', logits, image.shape[1], image.shape[2], cfg.resizeMode);
  };
}

function record(variant: TfMobilenetV3Variant, stem: string): BackboneRecord {
  const name = variant === 'large' ? 'mobilenet_v3_large_seg' : 'mobilenet_v3_small_seg';
  return {
    name,
    title: `TF DeepLab's MobileNetV3-${variant === 'large' ? 'Large' : 'Small'} (${name})`,
    network: { kind: 'whole', build: buildWhole(variant) },
    architecture: ARCHITECTURE,
    naturalOutputStride: () => 32,
    cascadedBlocks: false,
    multiGrid: true,
    stems: ['v1b'],
    mmsegHead: false,
    decoder: false,
    separableDecoder: false,
    normalization: 'minus_one_one',
    // The zoo's evaluation: output stride 32, 128 filters (aspp_convs_filters), no atrous branches.
    defaults: { outputStride: 32, asppRates: [], asppChannels: 128, dilationConvention: 'paper', resizeMode: 'align_corners' },
    ownsParam: (p) => p.startsWith(`${TF_MOBILENET_V3_SCOPE}/`),
    weights: {
      // Both variants are MobilenetV3/*: the stem is a scope only this one holds.
      tf: { scope: TF_MOBILENET_V3_SCOPE, stem, architecture: () => ARCHITECTURE.default, batchNorms: 'kept', arithmetic: ARITHMETIC, poolingArchitecture },
    },
    export: { torchvision: false, why: `TF DeepLab's ${name} has no torchvision counterpart; only torchvision's ResNet and MobileNetV3 DeepLabv3 export to its state dict` },
    describeGroups: [[/^MobilenetV3\//, () => 'backbone']],
  };
}

// Large has 15 blocks (expanded_conv_14); Small's first block has a squeeze-excite, Large's none.
export const TF_MOBILENET_V3_LARGE_SEG = record('large', `${TF_MOBILENET_V3_SCOPE}/expanded_conv_14/project`);
export const TF_MOBILENET_V3_SMALL_SEG = record('small', `${TF_MOBILENET_V3_SCOPE}/expanded_conv/squeeze_excite/Conv`);
