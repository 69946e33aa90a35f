// TF slim's MobileNetV3 (tensorflow/models research/slim/nets/mobilenet: mobilenet_v3.py's
// V3_LARGE and V3_SMALL, conv_blocks.py's expanded_conv and squeeze_excite) as TF DeepLab builds
// its segmentation variants (core/feature_extractor.py's mobilenet_v3_{large,small}_seg): the last
// stage's filters halved (its expansions kept at 336/480/480 and 144/288/288), the network cut
// after the last 1x1 conv (layer_17 / layer_13), TF's names under `MobilenetV3/`, 'SAME' padding,
// batch norms (eps 1e-3, slim's default) kept as ops. Each block: `expand` (1x1, BN, the block's
// activation) where the expansion is wider than the input, `depthwise` (BN, activation),
// `squeeze_excite` (mean, `Conv` 1x1 + ReLU, `Conv_1` 1x1 + TF's hard sigmoid, a product) where
// the block has one, `project` (1x1, BN), and the input added back where stride 1 keeps the
// channels. Past the output stride, slim's rule: the stride becomes 1 and later depthwise convs
// dilate (src/model/networks/mobilenet-v2.ts's mobilenetV2Strides is the same bookkeeping).
import type { GraphBuilder } from '../../graph/builder.js';
import type { Value } from '../../graph/ir.js';
import type { Activation } from '../../kernels/activation/activation.js';
import { TF_NAMING, conv, convBnAct } from './layers.js';
import { makeDivisible } from './mobilenet-v3.js';

export type TfMobilenetV3Variant = 'large' | 'small';

/** The variable scope of both variants. */
export const TF_MOBILENET_V3_SCOPE = 'MobilenetV3';

/** Batch-norm eps of the backbone (slim.batch_norm's default: feature_extractor's arg scope sets none). */
export const TF_MOBILENET_V3_BN_EPS = 1e-3;

/**
 * slim's hard sigmoid, relu6(x + 3) * 0.16667 (mobilenet_v3.py's squeeze-excite gate and TF
 * DeepLab's q_sigmoid): ours, relu6(x + 3) / 6, times this.
 */
export const TF_HARD_SIGMOID_SCALE = 6 * 0.16667;

/** One expanded_conv: expansion channels, output channels, depthwise kernel, stride, activation, squeeze-excite. */
type Block = readonly [expansion: number, out: number, kernel: number, stride: number, act: 'RE' | 'HS', se: boolean];

/** (stem filters, blocks, last conv's filters) of each variant, the `_seg` halving applied (expansions as TF rounds them). */
const VARIANTS: Record<TfMobilenetV3Variant, { blocks: readonly Block[]; last: number; stride8Block: number }> = {
  large: {
    blocks: [
      [16, 16, 3, 1, 'RE', false],
      [64, 24, 3, 2, 'RE', false], [72, 24, 3, 1, 'RE', false],
      [72, 40, 5, 2, 'RE', true], [120, 40, 5, 1, 'RE', true], [120, 40, 5, 1, 'RE', true],
      [240, 80, 3, 2, 'HS', false], [200, 80, 3, 1, 'HS', false], [184, 80, 3, 1, 'HS', false], [184, 80, 3, 1, 'HS', false],
      [480, 112, 3, 1, 'HS', true], [672, 112, 3, 1, 'HS', true],
      [336, 80, 5, 2, 'HS', true], [480, 80, 5, 1, 'HS', true], [480, 80, 5, 1, 'HS', true],
    ],
    last: 480,
    // feature_extractor's DECODER_END_POINTS at 8: 'layer_7/depthwise_output' (layer_1 is the stem).
    stride8Block: 5,
  },
  small: {
    blocks: [
      [16, 16, 3, 2, 'RE', true],
      [72, 24, 3, 2, 'RE', false], [88, 24, 3, 1, 'RE', false],
      [96, 40, 5, 2, 'HS', true], [240, 40, 5, 1, 'HS', true], [240, 40, 5, 1, 'HS', true],
      [120, 48, 5, 1, 'HS', true], [144, 48, 5, 1, 'HS', true],
      [144, 48, 5, 2, 'HS', true], [288, 48, 5, 1, 'HS', true], [288, 48, 5, 1, 'HS', true],
    ],
    last: 288,
    // 'layer_4/depthwise_output'.
    stride8Block: 2,
  },
};

const STEM_FILTERS = 16;

/** TF's scope of block i: expanded_conv, expanded_conv_1, ... */
const blockScope = (i: number) => `${TF_MOBILENET_V3_SCOPE}/expanded_conv${i === 0 ? '' : `_${i}`}`;

/** Each block's stride and depthwise rate at an output stride (slim mobilenet_base's rule). */
export function tfMobilenetV3Strides(variant: TfMobilenetV3Variant, outputStride: number): { stride: number; rate: number }[] {
  if (![8, 16, 32].includes(outputStride)) throw new Error(`mobilenet_v3_${variant}_seg: output stride must be 8, 16 or 32, got ${outputStride}`);
  let current = 2; // the stem's
  let rate = 1;
  return VARIANTS[variant].blocks.map(([, , , s]) => {
    if (current === outputStride) {
      const layer = { stride: 1, rate };
      rate *= s;
      return layer;
    }
    current *= s;
    return { stride: s, rate: 1 };
  });
}

const activationOf = (act: 'RE' | 'HS'): Activation => (act === 'HS' ? 'hardswish' : 'relu');

/** slim's hard sigmoid gate on x: ours, scaled to TF's constant. */
export function tfHardSigmoid(b: GraphBuilder, name: string, x: Value): Value {
  return b.node(`${name}/gate`, { type: 'scale', input: x, attrs: { factor: TF_HARD_SIGMOID_SCALE } })[0];
}

/** conv_blocks.squeeze_excite with mobilenet_v3.py's settings: squeeze_factor 4, ReLU inside, the hard-sigmoid gate. */
function squeezeExcite(b: GraphBuilder, x: Value, scope: string): Value {
  const channels = x.shape[3];
  const pooled = b.globalAvgPool(`${scope}/mean`, x);
  const squeezed = conv(b, pooled, { name: `${scope}/Conv`, kernel: 1, cout: makeDivisible(channels / 4, 8), bias: true, activation: 'relu' }, TF_NAMING);
  const excite = tfHardSigmoid(b, `${scope}/Conv_1`, conv(b, squeezed, { name: `${scope}/Conv_1`, kernel: 1, cout: channels, bias: true, activation: 'hardsigmoid' }, TF_NAMING));
  return b.mulValues(`${scope}/mul`, x, excite);
}

export interface TfMobilenetV3Features {
  /** The last 1x1 conv's output (layer_17 / layer_13), at the output stride. */
  out: Value;
  /** The stride-8 end point TF DeepLab's decoder reads: a block's depthwise output (after BN and activation). */
  stride8: Value;
}

/** The backbone on `image` [N,H,W,3] in [-1, 1]. */
export function buildTfMobilenetV3(b: GraphBuilder, image: Value, variant: TfMobilenetV3Variant, outputStride: number): TfMobilenetV3Features {
  const spec = VARIANTS[variant];
  const plan = tfMobilenetV3Strides(variant, outputStride);
  const eps = TF_MOBILENET_V3_BN_EPS;
  const unit = (scope: string) => ({ name: scope, bn: `${scope}/BatchNorm`, eps, padding: 'same' as const });
  let x = convBnAct(b, image, { ...unit(`${TF_MOBILENET_V3_SCOPE}/Conv`), kernel: 3, cout: STEM_FILTERS, stride: 2, activation: 'hardswish' }, TF_NAMING);
  let stride8: Value | undefined;
  spec.blocks.forEach(([expansion, out, kernel, , act, se], i) => {
    const scope = blockScope(i);
    const { stride, rate } = plan[i];
    const activation = activationOf(act);
    const input = x;
    let h = input;
    // expanded_conv expands only when the expansion is wider than its input.
    if (expansion > input.shape[3]) h = convBnAct(b, h, { ...unit(`${scope}/expand`), kernel: 1, cout: expansion, activation }, TF_NAMING);
    h = convBnAct(b, h, { ...unit(`${scope}/depthwise`), kernel, cout: h.shape[3], groups: h.shape[3], stride, dilation: rate, activation }, TF_NAMING);
    if (i === spec.stride8Block) stride8 = h;
    if (se) h = squeezeExcite(b, h, `${scope}/squeeze_excite`);
    h = convBnAct(b, h, { ...unit(`${scope}/project`), kernel: 1, cout: out }, TF_NAMING);
    x = stride === 1 && input.shape[3] === out ? b.addValues(`${scope}/add`, h, input) : h;
  });
  x = convBnAct(b, x, { ...unit(`${TF_MOBILENET_V3_SCOPE}/Conv_1`), kernel: 1, cout: spec.last, activation: 'hardswish' }, TF_NAMING);
  return { out: x, stride8: stride8! };
}
