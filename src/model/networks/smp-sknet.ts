// The Selective Kernel encoders of segmentation_models_pytorch (encoders/timm_sknet.py):
// timm-skresnet18, timm-skresnet34 (SelectiveKernelBasic) and timm-skresnext50_32x4d
// (SelectiveKernelBottleneck, 32 groups of width 4): timm's ResNet built with timm's SK blocks
// and smp's own arguments, `fc` and `global_pool` deleted.
//
// What differs from torchvision's ResNet (resnet.ts), from timm's sknet.py and
// layers/selective_kernel.py:
//  - the 3x3 conv that takes the block's stride (a BasicBlock's conv1, a Bottleneck's conv2) is a
//    SelectiveKernel: two paths (kernel_size [3, 5] with keep_3x3: a 3x3 and a 3x3 of dilation 2,
//    padding = dilation, both strided), each conv -> BN -> ReLU (`paths.{0,1}.conv`, `.bn`);
//    with split_input the first half of the input channels feeds path 0 and the second half
//    path 1, each path writing every output channel (groups: min(out, cardinality));
//  - attention (`attn`): mean over the map of path0 + path1 -> 1x1 conv (no bias, `fc_reduce`) to
//    make_divisible(out * rd_ratio, 8) channels -> BN -> ReLU -> 1x1 conv (no bias, `fc_select`)
//    to 2 * out channels, read as [path, channel] and softmaxed over the paths; the block's conv
//    is path0 * a0 + path1 * a1;
//  - the other convs are timm's ConvNormAct (`conv1.conv`, `conv1.bn`; no ReLU on the last one),
//    the shortcut torchvision's (`downsample.0`, `.1`); BN eps 1e-5.
// smp's arguments, not timm's registry's: skresnet18/34 pass sk_kwargs {rd_ratio: 1/8,
// split_input: True} (so rd_divisor stays 8, where timm's own skresnet18 has 16: layer1's
// attention is 8 channels wide, not 16); skresnext50_32x4d passes none, so SelectiveKernel's
// defaults hold: rd_ratio 1/16, rd_divisor 8, split_input True (timm's own has 1/16, 32, False).
// Dilation is smp's make_dilated on layer3 (/16) and layer4 (/32): every Conv2d of a dilated stage
// gets stride 1, the stage's rate and padding (k // 2) * rate, path 1 included, whose dilation 2 is
// overwritten by the rate (both paths of a dilated stage have the same dilation).
// Features as smp hands them to its decoders: relu(bn1) at /2, layer1 (after the max pool) at /4,
// layer2 /8, layer3 /16, layer4 /32, the first `depth` of them built (encoder_depth).
import type { GraphBuilder } from '../../graph/builder.js';
import type { Value } from '../../graph/ir.js';
import { conv, batchNorm, convBnAct } from './layers.js';
import { BOTTLENECK_EXPANSION, type BlockGeometry, STAGE_PLANES, resnetStem } from './resnet.js';
import { smpResNetGeometry } from './smp-resnet.js';

const BN_EPS = 1e-5;
/** SelectiveKernel's kernel_size [3, 5] as 3x3 convs (keep_3x3): path j's dilation factor. */
const PATH_DILATIONS = [1, 2] as const;
const PATHS = PATH_DILATIONS.length;

/** The SK arguments smp's table passes (or leaves at SelectiveKernel's defaults). */
export interface SelectiveKernelArgs {
  rdRatio: number;
  rdDivisor: number;
  splitInput: boolean;
}

export interface SmpSknetVariant {
  block: 'basic' | 'bottleneck';
  units: readonly [number, number, number, number];
  /** The Bottleneck's cardinality and base width (BasicBlock: 1 and 64). */
  cardinality: number;
  baseWidth: number;
  sk: SelectiveKernelArgs;
}

export const SMP_SKNETS = {
  'timm-skresnet18': { block: 'basic', units: [2, 2, 2, 2], cardinality: 1, baseWidth: 64, sk: { rdRatio: 1 / 8, rdDivisor: 8, splitInput: true } },
  'timm-skresnet34': { block: 'basic', units: [3, 4, 6, 3], cardinality: 1, baseWidth: 64, sk: { rdRatio: 1 / 8, rdDivisor: 8, splitInput: true } },
  'timm-skresnext50_32x4d': { block: 'bottleneck', units: [3, 4, 6, 3], cardinality: 32, baseWidth: 4, sk: { rdRatio: 1 / 16, rdDivisor: 8, splitInput: true } },
} as const satisfies Record<string, SmpSknetVariant>;

export type SmpSknetName = keyof typeof SMP_SKNETS;

export interface SmpSknetOptions {
  name: SmpSknetName;
  /** Stride of the deepest feature: 8, 16 or 32 (smp's `encoder_output_stride`). */
  outputStride: number;
  /** smp's `encoder_depth`, 3..5: the features at /2 .. /2^depth. */
  depth: number;
  /** State-dict prefix: 'encoder'. */
  prefix: string;
}

/** timm's make_divisible: v rounded to the nearest multiple of the divisor, at least the divisor, never below 90 % of v. */
function makeDivisible(v: number, divisor: number): number {
  let out = Math.max(divisor, Math.floor(Math.trunc(v + divisor / 2) / divisor) * divisor);
  if (out < 0.9 * v) out += divisor;
  return out;
}

/**
 * Channels [0, C/2) and [C/2, C) of an NHWC map as two maps: one permute stacks the halves along
 * the rows ([N, 2H, W, C/2], half j in rows jH..jH+H-1), two crops take them apart.
 */
function splitChannels(b: GraphBuilder, x: Value, name: string): Value[] {
  const [n, h, w, c] = x.shape;
  const half = c / PATHS;
  const stacked = b.permute(`${name}.split`, x, { view: [n, h, w, PATHS, half], perm: [0, 3, 1, 2, 4], shape: [n, PATHS * h, w, half] });
  return Array.from({ length: PATHS }, (_, j) => b.pad(`${name}.split.${j}`, stacked, { top: -j * h, bottom: -(PATHS - 1 - j) * h, left: 0, right: 0 }));
}

/**
 * SelectiveKernel (conv -> BN -> ReLU per path, attention over the paths), `name` its prefix.
 * The attention's fc_select output [N,1,1,2C] is [N, path, C] row-major: a permute puts the
 * paths last for our softmax (over the last axis) and another brings them back as the rows of
 * [N, 2, 1, C], one crop per path's [N,1,1,C] gate.
 */
function selectiveKernel(b: GraphBuilder, x: Value, name: string, o: { cout: number; groups: number; stride: number; rate: number; sk: SelectiveKernelArgs }): Value {
  const inputs = o.sk.splitInput ? splitChannels(b, x, name) : PATH_DILATIONS.map(() => x);
  // make_dilated sets every conv of a dilated stage (rate > 1) to the stage's rate, path 1's too.
  const paths = PATH_DILATIONS.map((d, j) => {
    const dilation = o.rate > 1 ? o.rate : d;
    return convBnAct(b, inputs[j], {
      name: `${name}.paths.${j}.conv`,
      bn: `${name}.paths.${j}.bn`,
      kernel: 3,
      cout: o.cout,
      groups: Math.min(o.cout, o.groups),
      stride: o.stride,
      dilation,
      padding: dilation,
      eps: BN_EPS,
      activation: 'relu',
    });
  });
  const [n, , , c] = paths[0].shape;
  const attn = `${name}.attn`;
  const pooled = b.globalAvgPool(`${attn}.pool`, b.addValues(`${attn}.sum`, paths[0], paths[1]));
  const attnChannels = makeDivisible(o.cout * o.sk.rdRatio, o.sk.rdDivisor);
  const reduced = batchNorm(b, conv(b, pooled, { name: `${attn}.fc_reduce`, kernel: 1, cout: attnChannels }), `${attn}.bn`, { eps: BN_EPS, activation: 'relu' });
  const select = conv(b, reduced, { name: `${attn}.fc_select`, kernel: 1, cout: PATHS * c });
  const lastAxis = b.permute(`${attn}.to_paths`, select, { view: [n, PATHS, c], perm: [0, 2, 1], shape: [n, 1, c, PATHS] });
  const weights = b.permute(`${attn}.from_paths`, b.softmax(`${attn}.softmax`, lastAxis), { view: [n, c, PATHS], perm: [0, 2, 1], shape: [n, PATHS, 1, c] });
  const weighted = paths.map((p, j) => {
    const gate = b.pad(`${attn}.gate.${j}`, weights, { top: -j, bottom: -(PATHS - 1 - j), left: 0, right: 0 });
    return b.mulValues(`${name}.weighted.${j}`, p, gate);
  });
  return b.addValues(`${name}.select`, weighted[0], weighted[1]);
}

/** The stage's shortcut (torchvision's downsample) when the stride or the channels change; make_dilated leaves a 1x1 conv as it was. */
function shortcut(b: GraphBuilder, x: Value, name: string, outC: number, stride: number): Value {
  if (stride === 1 && x.shape[3] === outC) return x;
  return convBnAct(b, x, { name: `${name}.downsample.0`, bn: `${name}.downsample.1`, kernel: 1, cout: outC, stride, padding: 0, eps: BN_EPS });
}

/** SelectiveKernelBasic: SK conv1 (stride) -> 3x3 ConvNormAct without ReLU -> + shortcut -> ReLU. */
function skBasic(b: GraphBuilder, x: Value, name: string, planes: number, g: BlockGeometry, sk: SelectiveKernelArgs): Value {
  const rate = g.dilation;
  let y = selectiveKernel(b, x, `${name}.conv1`, { cout: planes, groups: 1, stride: g.stride, rate, sk });
  y = convBnAct(b, y, { name: `${name}.conv2.conv`, bn: `${name}.conv2.bn`, kernel: 3, cout: planes, dilation: rate, padding: rate, eps: BN_EPS });
  return b.addValues(name, y, shortcut(b, x, name, planes, g.stride), 'relu');
}

/** SelectiveKernelBottleneck: 1x1 ConvNormAct -> SK conv2 (stride, groups) -> 1x1 ConvNormAct without ReLU -> + shortcut -> ReLU. */
function skBottleneck(b: GraphBuilder, x: Value, name: string, planes: number, g: BlockGeometry, v: SmpSknetVariant): Value {
  const width = Math.floor((planes * v.baseWidth) / 64) * v.cardinality;
  const outC = planes * BOTTLENECK_EXPANSION;
  let y = convBnAct(b, x, { name: `${name}.conv1.conv`, bn: `${name}.conv1.bn`, kernel: 1, cout: width, padding: 0, eps: BN_EPS, activation: 'relu' });
  y = selectiveKernel(b, y, `${name}.conv2`, { cout: width, groups: v.cardinality, stride: g.stride, rate: g.dilation, sk: v.sk });
  y = convBnAct(b, y, { name: `${name}.conv3.conv`, bn: `${name}.conv3.bn`, kernel: 1, cout: outC, padding: 0, eps: BN_EPS });
  return b.addValues(name, y, shortcut(b, x, name, outC, g.stride), 'relu');
}

/** The encoder on an NHWC image: its features at /2, /4, ... (smp's `features[1:]`). */
export function buildSmpSknet(b: GraphBuilder, image: Value, o: SmpSknetOptions): Value[] {
  const p = o.prefix;
  const v: SmpSknetVariant = SMP_SKNETS[o.name];
  let x = resnetStem(b, image, p, 'v1b');
  const features = [x];
  x = b.pool2d(`${p}.maxpool`, x, { kind: 'max', kernelH: 3, kernelW: 3, strideH: 2, strideW: 2, padTop: 1, padBottom: 1, padLeft: 1, padRight: 1, countIncludePad: false });
  // smp's make_dilated: g.dilation is the stage's rate (1 where the stage keeps its stride).
  smpResNetGeometry({ units: v.units, outputStride: o.outputStride, depth: o.depth, dilation: 'smp' }).forEach((stage, s) => {
    const planes = STAGE_PLANES[s];
    stage.forEach((g, i) => {
      const name = `${p}.layer${s + 1}.${i}`;
      x = v.block === 'basic' ? skBasic(b, x, name, planes, g, v.sk) : skBottleneck(b, x, name, planes, g, v);
    });
    features.push(x);
  });
  return features;
}
