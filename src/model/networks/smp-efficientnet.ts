// lukemelas' EfficientNet-PyTorch as segmentation_models_pytorch's `efficientnet-b0`..`b7`
// encoders (keys `_conv_stem`, `_bn0`, `_blocks.N._expand_conv/_bn0/_depthwise_conv/_bn1/
// _se_reduce/_se_expand/_project_conv/_bn2`; `_conv_head` and `_bn1` are never used), at smp's
// output stride. BN eps 1e-3 (momentum 0.01); blocks in src/model/networks/efficientnet.ts.
//
// Padding is TF's "same", but static: fixed at construction from the variant's nominal image size
// (224 for b0, 240 for b1, ...), divided with ceil by each stride on the way, never from the input.
// total = max((ceil(S / s) - 1) * s + k - S, 0), top/left total // 2, bottom/right the rest: b0's
// stride-2 convs pad (0, 1) for k3 and (1, 2) for k5 whatever the input, while b2's 65-pixel
// nominal map gives a k5 stride-2 conv (2, 2). Stride-1 convs pad (k - 1) / 2 each side.
//
// smp's surgery (get_stages, make_dilated): the /16 stage is blocks out[1]+1 .. out[2] and the /32
// stage every block after out[2] (out = smp's out_indexes, below); past the output stride every
// conv of a stage runs at stride 1 with rate stage stride / output stride, its static padding
// dropped for symmetric (k // 2) * rate. Features: the stem (/2), then after blocks out[0..3].
// Note b0's out[2] is 8, the first of the three 112-channel blocks: its /16 feature is taken
// mid-stage and blocks 9 and 10, at /16, are dilated too.
//
// Checked against smp's float64 logits for b0 at output stride 16 (test/model/smp.test.ts); the
// other variants and output stride 8 follow the same formulas, unchecked against smp itself
// beyond each variant's feature widths and block count, which equal smp's tables.
import type { GraphBuilder } from '../../graph/builder.js';
import type { Value } from '../../graph/ir.js';
import { type EfficientNetScale, type MbConvNames, efficientNetStages, mbConv } from './efficientnet.js';
import { convBnAct } from './layers.js';

interface LukemelasVariant extends EfficientNetScale {
  /** The nominal image size the static padding is computed from. */
  imageSize: number;
  /** smp's out_indexes: the blocks after which the /4, /8, /16 and /32 features are taken. */
  outIndexes: readonly [number, number, number, number];
}

const variant = (width: number, depth: number, imageSize: number, outIndexes: LukemelasVariant['outIndexes']): LukemelasVariant => ({ width, depth, imageSize, outIndexes });

/** lukemelas' efficientnet_params (width, depth, resolution) and smp's out_indexes, by smp's name. */
export const LUKEMELAS_EFFICIENTNETS = {
  'efficientnet-b0': variant(1.0, 1.0, 224, [2, 4, 8, 15]),
  'efficientnet-b1': variant(1.0, 1.1, 240, [4, 7, 15, 22]),
  'efficientnet-b2': variant(1.1, 1.2, 260, [4, 7, 15, 22]),
  'efficientnet-b3': variant(1.2, 1.4, 300, [4, 7, 17, 25]),
  'efficientnet-b4': variant(1.4, 1.8, 380, [5, 9, 21, 31]),
  'efficientnet-b5': variant(1.6, 2.2, 456, [7, 12, 26, 38]),
  'efficientnet-b6': variant(1.8, 2.6, 528, [8, 14, 30, 44]),
  'efficientnet-b7': variant(2.0, 3.1, 600, [10, 17, 37, 54]),
} as const satisfies Record<string, LukemelasVariant>;

export type LukemelasEfficientNetName = keyof typeof LUKEMELAS_EFFICIENTNETS;

const BN = { eps: 1e-3, momentum: 0.01 };

const NAMES: MbConvNames = {
  expand: ['_expand_conv', '_bn0'],
  depthwise: ['_depthwise_conv', '_bn1'],
  seReduce: '_se_reduce',
  seExpand: '_se_expand',
  project: ['_project_conv', '_bn2'],
};

/** Conv2dStaticSamePadding's [top, bottom, left, right] for a square map of nominal size `size`. */
export function staticSamePadding(size: number, kernel: number, stride: number): [number, number, number, number] {
  const total = Math.max((Math.ceil(size / stride) - 1) * stride + kernel - size, 0);
  const before = total >> 1;
  return [before, total - before, before, total - before];
}

export interface SmpEfficientNetOptions {
  name: LukemelasEfficientNetName;
  outputStride: number;
  /** Features built (smp's `encoder_depth`, 3..5). */
  depth: number;
  prefix: string;
}

/** The encoder on an NHWC image: its features at /2, /4, ... (smp's `features[1:]`). */
export function buildSmpEfficientNet(b: GraphBuilder, image: Value, o: SmpEfficientNetOptions): Value[] {
  const v = LUKEMELAS_EFFICIENTNETS[o.name];
  const [, toQuarter, toSixteenth] = v.outIndexes;
  const rateOf = (i: number) => {
    const stageStride = i > toSixteenth ? 32 : i > toQuarter ? 16 : 0;
    return stageStride > o.outputStride ? stageStride / o.outputStride : 1;
  };
  const blocks = efficientNetStages(v).flat();
  const last = v.outIndexes[o.depth - 2];
  let size = v.imageSize;
  let x = convBnAct(b, image, { name: `${o.prefix}._conv_stem`, bn: `${o.prefix}._bn0`, kernel: 3, cout: blocks[0].cin, stride: 2, padding: staticSamePadding(size, 3, 2), ...BN, activation: 'silu' });
  size = Math.ceil(size / 2);
  const features = [x];
  for (let i = 0; i <= last; i++) {
    const block = blocks[i];
    const rate = rateOf(i);
    const geometry =
      rate > 1
        ? { stride: 1, dilation: rate, padding: (block.kernel >> 1) * rate }
        : { stride: block.stride, dilation: 1, padding: staticSamePadding(size, block.kernel, block.stride) };
    size = Math.ceil(size / block.stride);
    x = mbConv(b, x, `${o.prefix}._blocks.${i}`, block, NAMES, geometry, BN);
    if (v.outIndexes.includes(i)) features.push(x);
  }
  return features;
}
