// 2-D convolution over NHWC activations with HWIO weights: any kernel size, stride, asymmetric
// padding, dilation (the atrous rate) and groups. Its parameters, the padding rules that give
// them, and the geometry every algorithm of the family (and the backward kernels) derives
// from validated shapes.
import { type Shape, shapeString } from '../../gpu/tensor.js';
import { type Activation, activationCode } from '../activation/activation.js';

export interface Conv2dParams {
  strideH: number;
  strideW: number;
  padTop: number;
  padBottom: number;
  padLeft: number;
  padRight: number;
  /** The atrous rate. */
  dilationH: number;
  dilationW: number;
  groups: number;
  /** Default 'none'. */
  activation?: Activation;
}

export interface Conv2dExtras<T> {
  bias?: T;
  scale?: T;
  residual?: T;
}

const KERNEL = 'conv2d';

/** Defaults: stride 1, no padding, dilation 1, one group, no activation. */
export function convParams(partial: Partial<Conv2dParams>): Conv2dParams {
  return {
    strideH: 1,
    strideW: 1,
    padTop: 0,
    padBottom: 0,
    padLeft: 0,
    padRight: 0,
    dilationH: 1,
    dilationW: 1,
    groups: 1,
    activation: 'none',
    ...partial,
  };
}

/** TF 'SAME' padding along one axis: out = ceil(in / stride), the odd extra pixel goes after. */
export function samePadding(inSize: number, kernel: number, stride: number, dilation: number): [number, number] {
  for (const [name, v] of [['input size', inSize], ['kernel', kernel], ['stride', stride], ['dilation', dilation]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new Error(`samePadding: ${name} must be a positive integer, got ${v}`);
  }
  const outSize = Math.ceil(inSize / stride);
  const effective = dilation * (kernel - 1) + 1;
  const total = Math.max((outSize - 1) * stride + effective - inSize, 0);
  const before = Math.floor(total / 2);
  return [before, total - before];
}

/** PyTorch-style symmetric padding d*(k-1)/2 that keeps the size at stride 1 (odd kernels). */
export function symmetricPadding(kernel: number, dilation: number): number {
  if (!Number.isInteger(kernel) || kernel < 1 || !Number.isInteger(dilation) || dilation < 1) {
    throw new Error(`symmetricPadding: kernel and dilation must be positive integers, got ${kernel}, ${dilation}`);
  }
  const total = dilation * (kernel - 1);
  if (total % 2 !== 0) {
    throw new Error(`symmetricPadding: kernel ${kernel} at dilation ${dilation} has no symmetric padding (use samePadding)`);
  }
  return total / 2;
}

/** Everything the kernels need, derived from validated shapes. */
export interface ConvGeometry {
  N: number;
  H: number;
  W: number;
  cin: number;
  KH: number;
  KW: number;
  cout: number;
  OH: number;
  OW: number;
  cinPerGroup: number;
  coutPerGroup: number;
  /** 1x1 without padding: every tap of every output reads a pixel of the input (absent: not known to be). */
  pointwise?: boolean;
}

/** The shapes and parameters, for error messages. */
export function describeConv(inputShape: Shape, weightShape: Shape, p: Conv2dParams): string {
  return `input ${shapeString(inputShape)}, weight ${shapeString(weightShape)}, stride ${p.strideH}x${p.strideW}, ` +
    `dilation ${p.dilationH}x${p.dilationW}, pads t${p.padTop} b${p.padBottom} l${p.padLeft} r${p.padRight}, groups ${p.groups}`;
}

/** Validates parameters and the input / weight shapes; every error names conv2d and the shapes. */
export function convGeometry(inputShape: Shape, weightShape: Shape, p: Conv2dParams): ConvGeometry {
  const where = () => describeConv(inputShape, weightShape, p);
  for (const name of ['strideH', 'strideW', 'dilationH', 'dilationW', 'groups'] as const) {
    const v = p[name];
    if (!Number.isInteger(v) || v < 1) throw new Error(`${KERNEL}: ${name} must be a positive integer, got ${v} (${where()})`);
  }
  for (const name of ['padTop', 'padBottom', 'padLeft', 'padRight'] as const) {
    const v = p[name];
    if (!Number.isInteger(v) || v < 0) throw new Error(`${KERNEL}: ${name} must be a non-negative integer, got ${v} (${where()})`);
  }
  activationCode(p.activation ?? 'none');
  if (inputShape.length !== 4) throw new Error(`${KERNEL}: input must be NHWC (rank 4), got ${shapeString(inputShape)}`);
  if (weightShape.length !== 4) {
    throw new Error(`${KERNEL}: weight must be HWIO [KH,KW,Cin/groups,Cout] (rank 4), got ${shapeString(weightShape)}`);
  }
  for (const [what, s] of [['input', inputShape], ['weight', weightShape]] as const) {
    if (s.some((d) => !Number.isInteger(d) || d < 1)) throw new Error(`${KERNEL}: ${what} has a zero or invalid dimension: ${where()}`);
  }
  const [N, H, W, cin] = inputShape;
  const [KH, KW, wCin, cout] = weightShape;
  const g = p.groups;
  if (cin % g !== 0) throw new Error(`${KERNEL}: input channels ${cin} are not divisible by groups ${g} (${where()})`);
  if (cout % g !== 0) throw new Error(`${KERNEL}: output channels ${cout} are not divisible by groups ${g} (${where()})`);
  if (wCin !== cin / g) {
    throw new Error(
      `${KERNEL}: weight expects ${wCin} input channels per group but the input has ${cin} channels / ${g} groups = ${cin / g} (${where()})`,
    );
  }
  const OH = Math.floor((H + p.padTop + p.padBottom - p.dilationH * (KH - 1) - 1) / p.strideH) + 1;
  const OW = Math.floor((W + p.padLeft + p.padRight - p.dilationW * (KW - 1) - 1) / p.strideW) + 1;
  if (OH < 1 || OW < 1) {
    throw new Error(`${KERNEL}: output size ${OH}x${OW} is empty: the dilated kernel is larger than the padded input (${where()})`);
  }
  const pointwise = KH === 1 && KW === 1 && p.padTop === 0 && p.padBottom === 0 && p.padLeft === 0 && p.padRight === 0;
  return { N, H, W, cin, KH, KW, cout, OH, OW, cinPerGroup: cin / g, coutPerGroup: cout / g, pointwise };
}

export function conv2dOutputShape(inputShape: Shape, weightShape: Shape, p: Conv2dParams): number[] {
  const g = convGeometry(inputShape, weightShape, p);
  return [g.N, g.OH, g.OW, g.cout];
}

/** 2 * multiply-accumulates. */
export function conv2dFlops(inputShape: Shape, weightShape: Shape, p: Conv2dParams): number {
  const g = convGeometry(inputShape, weightShape, p);
  return 2 * g.N * g.OH * g.OW * g.cout * g.KH * g.KW * g.cinPerGroup;
}
