// EfficientNet's blocks as the two libraries smp wraps build them (lukemelas' EfficientNet-PyTorch
// and timm's EfficientNet): b0's stage table scaled by a width and a depth multiplier, and the
// MBConv block (inverted residual with a squeeze-excite gate) under either library's names.
//
// Scaling, the same in both libraries: channels c * width rounded to a multiple of 8, never more
// than 10 % down (lukemelas' round_filters, timm's round_channels; the stem's 32 too); a stage's
// repeats ceil(r * depth) (lukemelas' round_repeats; timm's _scale_stage_depth, which gives the
// same for a stage of one block string). Only a stage's first block has its stride and takes the
// previous stage's channels. The squeeze width is the block's INPUT channels / 4, not its expanded
// ones (lukemelas int(in * 0.25); timm round(mid * 0.25 / expand): equal, as every width is a
// multiple of 8). SiLU after the expansion and the depthwise conv and inside the gate, none after
// the projection; the identity is added when the block's nominal stride is 1 and in == out, as
// decided at construction, before smp's dilation surgery.
//
// EfficientNet-Lite (timm's _gen_efficientnet_lite arguments, as smp's timm-tf_efficientnet_lite*
// pass them): the same table without squeeze-excite, ReLU6 in place of SiLU, the stem fixed at 32
// channels (fix_stem) and the first and last stages' repeats unscaled (decode_arch_def's
// fix_first_last); every block's channels are still scaled.
import type { Activation } from '../../kernels/activation/activation.js';
import type { GraphBuilder } from '../../graph/builder.js';
import type { Value } from '../../graph/ir.js';
import { conv, convBnAct } from './layers.js';
import { makeDivisible } from './mobilenet-v3.js';

interface Stage {
  expand: number;
  kernel: number;
  stride: number;
  channels: number;
  repeats: number;
}

const stage = (expand: number, kernel: number, stride: number, channels: number, repeats: number): Stage => ({ expand, kernel, stride, channels, repeats });

/** b0 (both libraries' block strings, e.g. lukemelas' r2_k3_s22_e6_i16_o24_se0.25). */
const B0_STAGES: readonly Stage[] = [
  stage(1, 3, 1, 16, 1),
  stage(6, 3, 2, 24, 2),
  stage(6, 5, 2, 40, 2),
  stage(6, 3, 2, 80, 3),
  stage(6, 5, 1, 112, 3),
  stage(6, 5, 2, 192, 4),
  stage(6, 3, 1, 320, 1),
];

/** A width and depth multiplier pair (EfficientNet's compound scaling). */
export interface EfficientNetScale {
  width: number;
  depth: number;
  /** EfficientNet-Lite: stem fixed at 32, the first and last stages' repeats unscaled. */
  lite?: boolean;
}

/** One MBConv block as built: its channels, expansion, kernel and nominal stride. */
export interface MbConvBlock {
  cin: number;
  cout: number;
  expand: number;
  kernel: number;
  stride: number;
  /** The expanded width where it is not cin * expand (timm's make_divisible(cin * exp_ratio) for MobileNetV3's fractional ratios). */
  mid?: number;
  /** The squeeze width where it is not cin / 4 (MobileNetV3's, from the expanded width); 0: no squeeze-excite. */
  se?: number;
}

/** The stem's output channels. */
export function efficientNetStemChannels(s: EfficientNetScale): number {
  return s.lite ? 32 : makeDivisible(32 * s.width);
}

/** Every block, stage by stage (seven stages). */
export function efficientNetStages(s: EfficientNetScale): MbConvBlock[][] {
  let cin = efficientNetStemChannels(s);
  return B0_STAGES.map((st, i) => {
    const cout = makeDivisible(st.channels * s.width);
    const fixed = s.lite && (i === 0 || i === B0_STAGES.length - 1);
    const blocks = Array.from({ length: fixed ? st.repeats : Math.ceil(st.repeats * s.depth) }, (_, i): MbConvBlock => ({ cin: i === 0 ? cin : cout, cout, expand: st.expand, kernel: st.kernel, stride: i === 0 ? st.stride : 1 }));
    cin = cout;
    return blocks;
  });
}

/** A block's parameter names, relative to its prefix: [conv, bn] pairs and the gate's two convs. */
export interface MbConvNames {
  /** Absent for expansion 1 (the block starts at the depthwise conv). */
  expand?: [conv: string, bn: string];
  depthwise: [conv: string, bn: string];
  seReduce: string;
  seExpand: string;
  project: [conv: string, bn: string];
}

/** How the depthwise conv runs after smp's surgery: stride, rate and padding (explicit, maybe asymmetric). */
export interface DepthwiseGeometry {
  stride: number;
  dilation: number;
  padding: number | [number, number, number, number];
}

/** BN constants: lukemelas eps 1e-3 momentum 0.01; timm eps 1e-5 momentum 0.1. */
export interface BnConstants {
  eps: number;
  momentum: number;
}

/** BN constants and the block's style: SiLU with squeeze-excite (the default) or Lite's ReLU6 without. */
export interface MbConvStyle extends BnConstants {
  activation?: Extract<Activation, 'silu' | 'relu6' | 'relu' | 'hardswish'>;
  squeezeExcite?: boolean;
  /** The gate's inner activation where it is not the block's (MobileNetV3's ReLU) and its gate (sigmoid unless set: MobileNetV3's hard sigmoid). */
  seActivation?: Activation;
  seGate?: Activation;
}

/** One MBConv block on x, its parameters under `prefix` + names. */
export function mbConv(b: GraphBuilder, x: Value, prefix: string, block: MbConvBlock, names: MbConvNames, g: DepthwiseGeometry, style: MbConvStyle): Value {
  const hidden = block.mid ?? block.cin * block.expand;
  const p = (n: string) => `${prefix}.${n}`;
  const bn = { eps: style.eps, momentum: style.momentum };
  const activation = style.activation ?? 'silu';
  const act = { ...bn, activation };
  let y = x;
  if (hidden !== block.cin || block.expand !== 1) {
    if (!names.expand) throw new Error(`${prefix}: an expanding block needs the expansion's names`);
    y = convBnAct(b, y, { name: p(names.expand[0]), bn: p(names.expand[1]), kernel: 1, cout: hidden, padding: 0, ...act });
  }
  y = convBnAct(b, y, { name: p(names.depthwise[0]), bn: p(names.depthwise[1]), kernel: block.kernel, cout: hidden, groups: hidden, ...g, ...act });
  if ((style.squeezeExcite ?? true) && block.se !== 0) {
    // Squeeze-excite: global mean -> 1x1 (bias) + the block's activation -> 1x1 (bias) + sigmoid -> scale.
    const pooled = b.globalAvgPool(`${prefix}.se.pool`, y);
    const squeezed = conv(b, pooled, { name: p(names.seReduce), kernel: 1, cout: block.se ?? Math.max(1, Math.floor(block.cin / 4)), bias: true, activation: style.seActivation ?? activation });
    const gate = conv(b, squeezed, { name: p(names.seExpand), kernel: 1, cout: hidden, bias: true, activation: style.seGate ?? 'sigmoid' });
    y = b.mulValues(`${prefix}.se`, y, gate);
  }
  y = convBnAct(b, y, { name: p(names.project[0]), bn: p(names.project[1]), kernel: 1, cout: block.cout, padding: 0, ...bn });
  return block.stride === 1 && block.cin === block.cout ? b.addValues(prefix, y, x) : y;
}
