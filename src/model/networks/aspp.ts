// Segmentation heads: ASPP (paper Sec. 3.3), torchvision's DeepLabHead and its auxiliary FCNHead.
//
// ASPP is parameterised by a layout (which names each branch's conv/BN uses, and where the
// image-level branch sits in the concat) so that torchvision's `classifier.0.convs.N` and TF's
// `aspp0` / `image_pooling` / `concat_projection` checkpoints both map onto the same builder.
// Dropout (torchvision: 0.5 after the projection, 0.1 in FCNHead) is train-only and not built;
// a training graph will need to add it at those two places.
import type { Activation } from '../../kernels/activation/activation.js';
import type { ResizeMode } from '../../kernels/resize/resize.js';
import type { GraphBuilder } from '../../graph/builder.js';
import type { Value } from '../../graph/ir.js';
import { type ParamNaming, TORCH_NAMING, conv, convBnAct } from './layers.js';

/** Parameter prefixes of one conv -> BN pair. */
export interface ConvBnNames {
  conv: string;
  bn: string;
}

/**
 * An atrous branch's names: `conv` is the depthwise conv when `pointwise` names the 1x1 conv after
 * it (a separable branch), and `bn` the pointwise conv's BN. With `depthwiseBn` the depthwise conv
 * has its own BN and activation too (mmcv's DepthwiseSeparableConvModule, TF DeepLab's
 * split_separable_conv2d); without, it has neither (smp's SeparableConv2d).
 */
export type AtrousNames = ConvBnNames & { pointwise?: string; depthwiseBn?: string };

export interface AsppLayout {
  /** Prefix for the layers that own no parameters (pooling, resize, concat). */
  prefix: string;
  /** The 1x1 branch. */
  conv1x1: ConvBnNames;
  /** One per atrous rate, in the order of `rates`; separable where each names its `pointwise` conv. */
  atrous: AtrousNames[];
  /** The image-level branch; required when image pooling is on. */
  pooling?: ConvBnNames;
  /** 1x1 projection of the concatenated branches. */
  project: ConvBnNames;
  /** Position of the image-level branch in the concat: torchvision 'last', TF 'first'. */
  poolingPosition: 'first' | 'last';
}

export interface AsppOptions {
  /** Rates of the 3x3 atrous branches (padding = rate keeps the size). */
  rates: number[];
  imagePooling: boolean;
  /** Filters per branch and of the projection. */
  channels: number;
  eps: number;
  /** Upsampling of the pooled branch (from 1x1 every mode gives the same constant map). */
  poolResizeMode: ResizeMode;
  /** Default 'relu'. */
  activation?: Activation;
  naming?: ParamNaming;
  /** Training: dropout probability after the projection (torchvision: 0.5). */
  dropout?: number;
  /** Kernel of the projection: 1 (torchvision, TF), 3 with padding 1 (mmseg's `bottleneck`). */
  projectKernel?: 1 | 3;
}

/** torchvision's ASPP module names under `prefix` (e.g. 'classifier.0'). */
export function torchvisionAsppLayout(prefix: string, numRates: number, imagePooling: boolean): AsppLayout {
  const atrous: ConvBnNames[] = [];
  for (let i = 1; i <= numRates; i++) atrous.push({ conv: `${prefix}.convs.${i}.0`, bn: `${prefix}.convs.${i}.1` });
  // The pooling branch is Sequential(AdaptiveAvgPool2d, Conv2d, BN, ReLU): conv at .1, BN at .2.
  const p = numRates + 1;
  return {
    prefix,
    conv1x1: { conv: `${prefix}.convs.0.0`, bn: `${prefix}.convs.0.1` },
    atrous,
    pooling: imagePooling ? { conv: `${prefix}.convs.${p}.1`, bn: `${prefix}.convs.${p}.2` } : undefined,
    project: { conv: `${prefix}.project.0`, bn: `${prefix}.project.1` },
    poolingPosition: 'last',
  };
}

/** ASPP on `x` [N,H,W,Cin] -> [N,H,W,channels]. */
export function aspp(b: GraphBuilder, x: Value, layout: AsppLayout, opts: AsppOptions): Value {
  const naming = opts.naming ?? TORCH_NAMING;
  const activation = opts.activation ?? 'relu';
  const { channels, eps } = opts;
  if (layout.atrous.length !== opts.rates.length) {
    throw new Error(`${layout.prefix}: ASPP layout names ${layout.atrous.length} atrous branches but ${opts.rates.length} rates were given`);
  }
  const branches: Value[] = [];
  branches.push(convBnAct(b, x, { name: layout.conv1x1.conv, bn: layout.conv1x1.bn, kernel: 1, cout: channels, eps, activation }, naming));
  opts.rates.forEach((rate, i) => {
    const names = layout.atrous[i];
    if (names.pointwise === undefined) {
      branches.push(convBnAct(b, x, { name: names.conv, bn: names.bn, kernel: 3, cout: channels, dilation: rate, padding: rate, eps, activation }, naming));
      return;
    }
    const cin = x.shape[3];
    const dw = { name: names.conv, kernel: 3, cout: cin, groups: cin, dilation: rate, padding: rate };
    const depthwise = names.depthwiseBn === undefined ? conv(b, x, dw, naming) : convBnAct(b, x, { ...dw, bn: names.depthwiseBn, eps, activation }, naming);
    branches.push(convBnAct(b, depthwise, { name: names.pointwise, bn: names.bn, kernel: 1, cout: channels, eps, activation }, naming));
  });
  if (opts.imagePooling) {
    if (!layout.pooling) throw new Error(`${layout.prefix}: image pooling is on but the ASPP layout names no pooling branch`);
    const [, h, w] = x.shape;
    const pooled = b.globalAvgPool(`${layout.prefix}.image_pool`, x);
    const feat = convBnAct(b, pooled, { name: layout.pooling.conv, bn: layout.pooling.bn, kernel: 1, cout: channels, eps, activation }, naming);
    const up = b.resize(`${layout.prefix}.image_pool_upsample`, feat, h, w, opts.poolResizeMode);
    if (layout.poolingPosition === 'first') branches.unshift(up);
    else branches.push(up);
  }
  const cat = branches.length === 1 ? branches[0] : b.concat(`${layout.prefix}.concat`, branches);
  const projected = convBnAct(b, cat, { name: layout.project.conv, bn: layout.project.bn, kernel: opts.projectKernel ?? 1, cout: channels, eps, activation }, naming);
  return opts.dropout ? b.dropout(`${layout.prefix}.project.3`, projected, opts.dropout) : projected;
}

/** Batch-norm eps of torchvision's heads (plain nn.BatchNorm2d, whatever the backbone uses). */
export const TORCH_HEAD_BN_EPS = 1e-5;

export interface DeepLabHeadOptions {
  prefix: string;
  numClasses: number;
  rates: number[];
  imagePooling: boolean;
  channels: number;
  /** Training: dropout 0.5 after the ASPP projection. */
  dropout?: boolean;
}

/** torchvision's ASPP module of DeepLabHead (`${prefix}.0`), its dropout when training: features [N,H,W,channels]. */
export function torchvisionAspp(b: GraphBuilder, x: Value, opts: DeepLabHeadOptions): Value {
  return aspp(b, x, torchvisionAsppLayout(`${opts.prefix}.0`, opts.rates.length, opts.imagePooling), {
    rates: opts.rates,
    imagePooling: opts.imagePooling,
    channels: opts.channels,
    eps: TORCH_HEAD_BN_EPS,
    poolResizeMode: 'half_pixel',
    dropout: opts.dropout ? 0.5 : 0,
  });
}

/**
 * torchvision's DeepLabHead under `prefix` ('classifier'): ASPP (.0) -> 3x3 conv (.1, no bias)
 * -> BN (.2) -> ReLU -> 1x1 conv to classes (.4, with bias). Returns logits at feature size.
 */
export function deepLabHead(b: GraphBuilder, x: Value, opts: DeepLabHeadOptions): Value {
  const { prefix, channels } = opts;
  const eps = TORCH_HEAD_BN_EPS;
  const a = torchvisionAspp(b, x, opts);
  const y = convBnAct(b, a, { name: `${prefix}.1`, bn: `${prefix}.2`, kernel: 3, cout: channels, eps, activation: 'relu' });
  return conv(b, y, { name: `${prefix}.4`, kernel: 1, cout: opts.numClasses, bias: true });
}

/**
 * torchvision's FCNHead under `prefix` ('aux_classifier'): 3x3 conv to in/4 (.0, no bias) ->
 * BN (.1) -> ReLU -> [dropout 0.1 (.3), when training] -> 1x1 conv to classes (.4, with bias).
 */
export function fcnHead(b: GraphBuilder, x: Value, opts: { prefix: string; numClasses: number; dropout?: boolean }): Value {
  const inter = Math.floor(x.shape[3] / 4);
  let y = convBnAct(b, x, { name: `${opts.prefix}.0`, bn: `${opts.prefix}.1`, kernel: 3, cout: inter, eps: TORCH_HEAD_BN_EPS, activation: 'relu' });
  if (opts.dropout) y = b.dropout(`${opts.prefix}.3`, y, 0.1);
  return conv(b, y, { name: `${opts.prefix}.4`, kernel: 1, cout: opts.numClasses, bias: true });
}
