// What a DeepLabv3 model is made of: backbone, output stride, ASPP rates and the conventions in
// which reference implementations differ (dilation bookkeeping, resize mode, input scaling).
// The graph builders read only this object, so one set of weights can be run at several output
// strides or head variants by changing the config, never the weights. The types alone, below
// the backbone records that build from them; defaults and validation are
// src/model/backbones/config.ts's.
import type { InputNormalizationName } from '../../io/input-normalization.js';
import type { ResizeMode } from '../../kernels/resize/resize.js';
import type { BackboneName } from './backbone-names.js';

export type { BackboneName } from './backbone-names.js';

/**
 * The ResNet stem: 'v1b' = one 7x7 conv of stride 2 (torchvision's, mmseg's `ResNet`), 'v1c' =
 * the "deep stem" of three 3x3 convs, the first of stride 2 (mmseg's `ResNetV1c`). Both are
 * followed by a 3x3 max pool of stride 2.
 */
export type StemName = 'v1b' | 'v1c';

/**
 * The head family, which fixes the head's layers and its parameter names:
 *  - 'torchvision': DeepLabHead (ASPP with a 1x1 projection, a 3x3 conv, the classifier) and
 *    FCNHead as auxiliary head, under `classifier.*` / `aux_classifier.*`;
 *  - 'mmseg': mmsegmentation's ASPPHead (image pool first in the concat, no projection, a 3x3
 *    `bottleneck`, `conv_seg`) and FCNHead, under `decode_head.*` / `auxiliary_head.*`
 *    (src/model/networks/mmseg-heads.ts);
 *  - 'smp': segmentation_models_pytorch's DeepLabV3 / DeepLabV3Plus decoders and segmentation
 *    head, under `decoder.*` / `segmentation_head.*` (src/model/networks/smp-heads.ts);
 *  - 'vainf': VainF/DeepLabV3Plus-Pytorch's DeepLabHead / DeepLabHeadV3Plus, under
 *    `classifier.*` (src/model/networks/vainf-heads.ts).
 *  - 'tf': TF DeepLab's ASPP (separable atrous branches, image pooling first), its DeepLabv3+
 *    decoder and `logits/semantic`, under TF's variable names (src/model/networks/tf-head.ts).
 */
export type HeadName = 'torchvision' | 'mmseg' | 'smp' | 'vainf' | 'tf';

/** The head families (src/model/networks/heads.ts keeps a record of each). */
export const HEAD_NAMES: readonly HeadName[] = ['torchvision', 'mmseg', 'smp', 'vainf', 'tf'];

/**
 * What follows ASPP: 'none' = DeepLabv3 (the logits at the output stride, upsampled); 'deeplabv3plus'
 * = DeepLabv3+'s decoder (Chen et al. 2018), which refines the ASPP output with the backbone's
 * stride-4 features before the logits (src/model/networks/decoder.ts).
 */
export type DecoderName = 'none' | 'deeplabv3plus';

export const DECODERS: readonly DecoderName[] = ['none', 'deeplabv3plus'];

export interface DeepLabConfig {
  backbone: BackboneName;
  /** Output classes (21 for PASCAL VOC: 20 objects + background). */
  numClasses: number;
  /**
   * Input size / backbone feature size, a power of two from 8 up to the backbone's natural
   * stride (32 for four ResNet blocks, doubling with each cascaded block: 256 with `blocks` 7).
   * The same weights run at any of them.
   */
  outputStride: number;
  /**
   * ResNet blocks (stages): 4 = the standard network; 5..7 append block5..block7, replicas of
   * block4 (three bottleneck units, planes 512, 2048 out), in cascade (paper Sec. 3.2, Fig. 3).
   * MobileNets have no cascaded variant: 4 only.
   */
  blocks: 4 | 5 | 6 | 7;
  /**
   * Whether strides past `outputStride` are replaced by atrous rates (true: the paper's
   * DeepLab) or kept (false: every block past block4 halves the map again, the paper's
   * Table 1 without atrous convolution). With false, `outputStride` must equal the backbone's
   * natural stride (`naturalOutputStride`): 32 with four blocks, 64 .. 256 with 5 .. 7.
   */
  atrous: boolean;
  /**
   * Rates of ASPP's 3x3 atrous branches. torchvision uses [12,24,36] whatever the stride (its
   * builder hard-codes them); the paper uses [6,12,18] at OS 16 and doubles them at OS 8.
   * Empty = no atrous branches (TF's MobileNetV2 DeepLab).
   */
  asppRates: number[];
  /** ASPP's image-level branch (global average pool -> 1x1 conv -> upsample). */
  imagePooling: boolean;
  /** Filters of every ASPP branch and of the projection (256; mmseg's heads: 512, 128 on ResNet-18). */
  asppChannels: number;
  /**
   * How a ResNet stage turned atrous sets its rates:
   *  - 'torchvision': the stage's FIRST block keeps the previous dilation, later blocks use the
   *    new one (torchvision's _make_layer bookkeeping);
   *  - 'paper': every block of the stage uses the new rate (TF / the paper);
   *  - 'mmseg': as 'torchvision' (mmseg's contract_dilation halves the first block's rate, which
   *    is the previous one), but a multi-grid other than all ones gives block4's dilations
   *    themselves, not multiples of the block's rate (mmseg's ResLayer: D16 with multi-grid
   *    (1,2,4) runs block4 at 1, 2, 4).
   * MobileNetV3 ignores it: torchvision dilates every block of its dilated stage.
   */
  dilationConvention: 'torchvision' | 'paper' | 'mmseg';
  /**
   * Unit rates of the units of block4 and of every cascaded block after it, multiplied by the
   * block's rate (paper Sec. 3.2: OS 16 with (1,2,4) gives block4 rates 2,4,8); the rates
   * themselves under the 'mmseg' convention. Three values (ResNet-18's block4 has two units: it
   * takes [1,1,1], no multi-grid).
   */
  multiGrid: number[];
  /** ResNet stem (ignored by MobileNets). */
  stem: StemName;
  /** The head family and its parameter names. */
  head: HeadName;
  /** Mode of the final upsampling to the input size (torchvision: 'half_pixel' = align_corners false). */
  resizeMode: ResizeMode;
  /** Input scaling the weights expect; the graph's 'image' input is already normalised. */
  normalization: InputNormalizationName;
  /** Build the auxiliary FCN head (training aid; off by default at inference). */
  aux: boolean;
  /** mmseg's FCN head's channels where not its input's / 4 (the MobileNetV2 configs: 256 from 96). */
  auxChannels?: number;
  /** mmseg's DeepLabv3+ `c1_channels`, the stride-4 features' reduction, where not 48 (the ResNet-18 configs: 12). */
  c1Channels?: number;
  /** The decoder after ASPP ('none' unless a checkpoint or `train --decoder` says otherwise). */
  decoder: DecoderName;
  /**
   * Channels of the network's input (default 3, RGB): 1 for grayscale, 4 or more for RGB+NIR or
   * multispectral bands. Only backbones whose stem takes any count accept another.
   */
  inChannels?: number;
  /** ASPP's dropout after its projection in training, where the head family takes it from the file (smp's `decoder_aspp_dropout`; default 0.5). */
  asppDropout?: number;
  /**
   * ASPP's atrous branches as depthwise + pointwise convs (smp's `decoder_aspp_separable`; default
   * false); VainF's head: every conv of kernel > 1 of the head (its `--separable_conv`).
   */
  asppSeparable?: boolean;
  /**
   * A binary model (smp's `classes: 1`): the head has one output z, and the network's logits are
   * the two classes [0, z] (background, foreground), so softmax gives [1 - sigmoid(z), sigmoid(z)]
   * and argmax is sigmoid(z) > 0.5. `numClasses` is then 2.
   */
  binary?: boolean;
}
