// timm's EfficientNet (the class, built from smp's own architecture definitions) as
// segmentation_models_pytorch's `timm-efficientnet-b0`..`b8`, `timm-efficientnet-l2` and
// `timm-tf_efficientnet_lite0`..`lite4` encoders, at smp's output stride. Keys: `conv_stem`, `bn1`
// (BN + activation), `blocks.S.B.*` with S the stage (0..6): stage 0 is DepthwiseSeparableConv
// (`conv_dw`/`bn1`, `se.conv_reduce`/`se.conv_expand`, `conv_pw`/`bn2`), the others
// InvertedResidual (`conv_pw`/`bn1` expansion, `conv_dw`/`bn2`, `se.*`, `conv_pwl`/`bn3`);
// `conv_head` and `bn2` are never used. Blocks in src/model/networks/efficientnet.ts; BN eps 1e-5
// (momentum 0.1): smp passes timm no norm arguments.
//
// Padding is PyTorch's symmetric ((s - 1) + (k - 1)) // 2 = k // 2 for these odd kernels, the
// stem's 3x3 stride-2 conv included: smp builds timm's `EfficientNet` class with its default
// pad_type '' for every variant. The lite encoders too, despite the `tf_` in their names: timm's
// own `tf_efficientnet_lite*` models pass pad_type 'same' (TF padding computed from the input,
// asymmetric at stride 2) and BN eps 1e-3, but smp's gen_efficientnet_lite_kwargs passes neither,
// so its lite encoders run the TF-trained weights with static symmetric padding and eps 1e-5.
// Lite (smp's gen_efficientnet_lite_kwargs): no squeeze-excite, ReLU6, stem fixed at 32, first and
// last stages' repeats unscaled, head fixed at 1280 channels (unused here).
//
// smp's surgery (get_stages with stage_idxs 2, 3, 5): stages 3-4 are the /16 stage, 5-6 the /32
// one; past the output stride each of their convs runs at stride 1 with rate stage stride /
// output stride and padding (k // 2) * rate. Features: the stem (/2), after stages 1 (/4), 2 (/8),
// 4 (/16) and 6 (/32).
//
// Checked against smp's float64 logits for b0 at output stride 16 (test/model/smp.test.ts); b1..b8,
// l2, the lite variants and output stride 8 follow the same formulas, their feature widths equal to
// smp's table and their state to the module structure (test/model/efficientnet.test.ts).
import type { GraphBuilder } from '../../graph/builder.js';
import type { Value } from '../../graph/ir.js';
import { type EfficientNetScale, type MbConvNames, type MbConvStyle, efficientNetStages, mbConv } from './efficientnet.js';
import { convBnAct } from './layers.js';

/** smp's channel_multiplier and depth_multiplier (and which are Lite), by smp's name. */
export const TIMM_EFFICIENTNETS = {
  'timm-efficientnet-b0': { width: 1.0, depth: 1.0 },
  'timm-efficientnet-b1': { width: 1.0, depth: 1.1 },
  'timm-efficientnet-b2': { width: 1.1, depth: 1.2 },
  'timm-efficientnet-b3': { width: 1.2, depth: 1.4 },
  'timm-efficientnet-b4': { width: 1.4, depth: 1.8 },
  'timm-efficientnet-b5': { width: 1.6, depth: 2.2 },
  'timm-efficientnet-b6': { width: 1.8, depth: 2.6 },
  'timm-efficientnet-b7': { width: 2.0, depth: 3.1 },
  'timm-efficientnet-b8': { width: 2.2, depth: 3.6 },
  'timm-efficientnet-l2': { width: 4.3, depth: 5.3 },
  'timm-tf_efficientnet_lite0': { width: 1.0, depth: 1.0, lite: true },
  'timm-tf_efficientnet_lite1': { width: 1.0, depth: 1.1, lite: true },
  'timm-tf_efficientnet_lite2': { width: 1.1, depth: 1.2, lite: true },
  'timm-tf_efficientnet_lite3': { width: 1.2, depth: 1.4, lite: true },
  'timm-tf_efficientnet_lite4': { width: 1.4, depth: 1.8, lite: true },
} as const satisfies Record<string, EfficientNetScale>;

export type TimmEfficientNetName = keyof typeof TIMM_EFFICIENTNETS;

const BN = { eps: 1e-5, momentum: 0.1 };

const INVERTED_RESIDUAL: MbConvNames = {
  expand: ['conv_pw', 'bn1'],
  depthwise: ['conv_dw', 'bn2'],
  seReduce: 'se.conv_reduce',
  seExpand: 'se.conv_expand',
  project: ['conv_pwl', 'bn3'],
};

const DEPTHWISE_SEPARABLE: MbConvNames = {
  depthwise: ['conv_dw', 'bn1'],
  seReduce: 'se.conv_reduce',
  seExpand: 'se.conv_expand',
  project: ['conv_pw', 'bn2'],
};

/** The stages whose last block ends each feature after the stem's (/4, /8, /16, /32). */
const FEATURE_STAGES = [1, 2, 4, 6] as const;

/** The nominal stride of a stage's output under smp's get_stages: 16 for stages 3-4, 32 for 5-6. */
const stageStride = (s: number) => (s >= 5 ? 32 : s >= 3 ? 16 : 0);

export interface SmpTimmEfficientNetOptions {
  name: TimmEfficientNetName;
  outputStride: number;
  /** Features built (smp's `encoder_depth`, 3..5). */
  depth: number;
  prefix: string;
}

/** The encoder on an NHWC image: its features at /2, /4, ... (smp's `features[1:]`). */
export function buildSmpTimmEfficientNet(b: GraphBuilder, image: Value, o: SmpTimmEfficientNetOptions): Value[] {
  const scale: EfficientNetScale = TIMM_EFFICIENTNETS[o.name];
  const stages = efficientNetStages(scale);
  const style: MbConvStyle = scale.lite ? { ...BN, activation: 'relu6', squeezeExcite: false } : { ...BN, activation: 'silu', squeezeExcite: true };
  let x = convBnAct(b, image, { name: `${o.prefix}.conv_stem`, bn: `${o.prefix}.bn1`, kernel: 3, cout: stages[0][0].cin, stride: 2, padding: 1, ...BN, activation: style.activation });
  const features = [x];
  const lastStage = FEATURE_STAGES[o.depth - 2];
  for (let s = 0; s <= lastStage; s++) {
    const rate = stageStride(s) > o.outputStride ? stageStride(s) / o.outputStride : 1;
    stages[s].forEach((block, i) => {
      const geometry = { stride: rate > 1 ? 1 : block.stride, dilation: rate, padding: (block.kernel >> 1) * rate };
      const names = block.expand === 1 ? DEPTHWISE_SEPARABLE : INVERTED_RESIDUAL;
      x = mbConv(b, x, `${o.prefix}.blocks.${s}.${i}`, block, names, geometry, style);
    });
    if ((FEATURE_STAGES as readonly number[]).includes(s)) features.push(x);
  }
  return features;
}
