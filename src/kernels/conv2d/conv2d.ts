// 2-D convolution over NHWC activations with HWIO weights: any kernel size, stride,
// asymmetric padding, dilation (the atrous rate) and groups, plus a fused epilogue
//   out = activation(acc * scale[co] + bias[co] + residual[n, oh, ow, co]).
// groups == 1 runs as a register-tiled implicit GEMM (conv2d_gemm.wgsl) whose tile, lanes
// and split over the input channels (split-K; conv2d_splitk_reduce.wgsl adds the splits up) are
// the variant measured fastest on the adapter, else its class's default
// (conv2d-variants.ts, src/gpu/tuning.ts); grouped and
// depthwise layers run as a direct kernel (conv2d_direct.wgsl): depthwise layers with
// C % 4 == 0 on its vec4 tiled entry point `depthwise4`, everything else on its scalar `main`.
import type { GpuContext } from '../../gpu/context.js';
import type { Dispatch, Grid } from '../../gpu/dispatch.js';
import { Uniforms, linearGrid, makeDispatch, runToNewTensor } from '../../gpu/dispatch.js';
import { STORAGE_USAGE } from '../../gpu/buffer-pool.js';
import type { KernelSpec } from '../../gpu/pipeline-cache.js';
import { type GpuTensor, type Shape, checkBindable, numel, shapeString, tensorBytes } from '../../gpu/tensor.js';
import { type Activation, activateCpu, activationCode } from '../activation/activation.js';
import { expectShape } from '../checks.js';
import {
  type AdapterClass,
  type GemmVariant,
  defaultGemmVariant,
  defaultMatrixVariant,
  gemmBlock,
  gemmCandidates,
  gemmShapeKey,
  gemmVariantName,
  gemmVariantProblem,
  type DepthwiseVariant,
  defaultDepthwiseVariant,
  depthwiseCandidates,
  depthwiseShapeKey,
  depthwiseVariantName,
  parseDepthwiseVariant,
  lanesFor,
  normaliseSplits,
  parseGemmVariant,
} from './conv2d-variants.js';
import { candidateChecksum } from '../../gpu/tuning.js';

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

export interface Conv2dOperands {
  /** [N, H, W, Cin] */
  input: GpuTensor;
  /** HWIO [KH, KW, Cin/groups, Cout] */
  weight: GpuTensor;
  /** [Cout], added after scale. */
  bias?: GpuTensor;
  /** [Cout], per-channel multiplier (a folded batch norm kept separate). */
  scale?: GpuTensor;
  /** [N, OH, OW, Cout], added before the activation. */
  residual?: GpuTensor;
  /** [N, OH, OW, Cout] */
  out: GpuTensor;
}

export interface Conv2dExtras<T> {
  bias?: T;
  scale?: T;
  residual?: T;
}

const KERNEL = 'conv2d';
// conv2d_direct.wgsl `main`: P adjacent output pixels of a row per workgroup, one channel per invocation.
const DIRECT_P = 8;
// conv2d_direct.wgsl `depthwise4`: a TR x TP output tile and 4 channels per invocation (4x4
// measured fastest on lavapipe; larger tiles spill). Lanes and tiles per workgroup are the
// variant's (conv2d-variants.ts); a workgroup walks fewer tiles when that would leave fewer than
// DW_MIN_GROUPS workgroups, so small layers still spread over all cores / SMs.
const DW_TR = 4;
const DW_TP = 4;
const DW_MIN_GROUPS = 256;

const REDUCE_WG = 64;

/** The GEMM kernels' candidate space and defaults (conv2d-variants.ts); bump when the shader's tiling changes. */
export const GEMM_SPACE_VERSION = 2;
/** The same for depthwise4's space. */
export const DEPTHWISE_SPACE_VERSION = 1;

const adapterClass = (ctx: GpuContext): AdapterClass => (ctx.isSoftware ? 'software' : 'gpu');

/** The choice measured on this adapter for this layer shape, if any (and still a candidate). */
export function tunedGemmVariant(ctx: GpuContext, g: ConvGeometry, p: Conv2dParams): GemmVariant | undefined {
  if (ctx.tuning.mode === 'off') return undefined;
  const names = gemmCandidates(g, adapterClass(ctx), ctx.kernelLimits).map(gemmVariantName);
  const name = ctx.tuning.choice('conv2d_gemm', gemmShapeKey(g, p.strideH, p.dilationH), candidateChecksum(GEMM_SPACE_VERSION, names));
  const v = name ? parseGemmVariant(name) : null;
  return v && names.includes(name!) ? v : undefined;
}

/** The depthwise4 variant measured fastest on this adapter for this layer shape, if any. */
export function tunedDepthwiseVariant(ctx: GpuContext, g: ConvGeometry, p: Conv2dParams): DepthwiseVariant | undefined {
  if (ctx.tuning.mode === 'off') return undefined;
  const names = depthwiseCandidates(g.cout, ctx.limits).map(depthwiseVariantName);
  const name = ctx.tuning.choice('conv2d_depthwise', depthwiseShapeKey(g, p.strideH, p.dilationH), candidateChecksum(DEPTHWISE_SPACE_VERSION, names));
  return name && names.includes(name) ? parseDepthwiseVariant(name) ?? undefined : undefined;
}

/** The depthwise4 variant a layer runs on `ctx`: forced by kernelOptions, tuned, or the default. */
export function depthwiseVariant(ctx: GpuContext, g: ConvGeometry, p: Conv2dParams): DepthwiseVariant {
  return ctx.kernelOptions.depthwise ?? tunedDepthwiseVariant(ctx, g, p) ?? defaultDepthwiseVariant();
}

/** A choice for one of the conv kernels (what the tuner tries); unset: the context's choice. */
export interface ConvVariant {
  gemm?: GemmVariant;
  depthwise?: DepthwiseVariant;
}

/**
 * The GEMM variant a groups == 1 conv runs on `ctx` in a program whose tensors are `dtype`: the
 * one forced by kernelOptions (tests); in half precision, the adapter's f16 subgroup matrices
 * (tensor cores) where it has them; else the one measured fastest on this adapter (in f32: a
 * measured matrix variant does not carry over to f16), else the adapter class's default; then
 * the split-K mode ('never' and 'always' override the variant's splits).
 */
export function gemmVariant(ctx: GpuContext, g: ConvGeometry, p: Conv2dParams, dtype: 'f32' | 'f16' = 'f32'): GemmVariant {
  const limits = ctx.kernelLimits;
  let v = ctx.kernelOptions.gemm ?? (dtype === 'f16' ? defaultMatrixVariant(g, limits, 'f16') : undefined);
  if (!v) {
    const tuned = tunedGemmVariant(ctx, g, p);
    v = tuned && !(tuned.kind === 'matrix' && gemmVariantProblem(g, tuned, limits, dtype)) ? tuned : defaultGemmVariant(g, adapterClass(ctx), limits);
  }
  const problem = gemmVariantProblem(g, v, limits, dtype);
  if (problem) throw new Error(`${KERNEL}: GEMM variant ${gemmVariantName(v)} cannot run ${g.cin} -> ${g.cout} channels: ${problem}`);
  if (ctx.kernelOptions.splitK === 'never') v = { ...v, splits: 1 };
  else if (ctx.kernelOptions.splitK === 'always') v = { ...v, splits: normaliseSplits(g.cin, 4) };
  // Forced splits may cut the channels where vec4 staging cannot: stage them a value at a time.
  if (v.kind === 'tiled' && v.vec4 && gemmVariantProblem(g, v, limits, dtype)) v = { ...v, vec4: false };
  return v;
}
const directLanes = (cout: number) => lanesFor(cout, 1, 64);

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
}

function describe(inputShape: Shape, weightShape: Shape, p: Conv2dParams): string {
  return `input ${shapeString(inputShape)}, weight ${shapeString(weightShape)}, stride ${p.strideH}x${p.strideW}, ` +
    `dilation ${p.dilationH}x${p.dilationW}, pads t${p.padTop} b${p.padBottom} l${p.padLeft} r${p.padRight}, groups ${p.groups}`;
}

/** Validates parameters and the input / weight shapes; every error names conv2d and the shapes. */
export function convGeometry(inputShape: Shape, weightShape: Shape, p: Conv2dParams): ConvGeometry {
  const where = () => describe(inputShape, weightShape, p);
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
  return { N, H, W, cin, KH, KW, cout, OH, OW, cinPerGroup: cin / g, coutPerGroup: cout / g };
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

function usesGemm(p: Conv2dParams): boolean {
  return p.groups === 1;
}

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

/**
 * The comb a depthwise4 tile walks along one axis: outputs `phaseStep` apart read a sliding
 * window of inputs `dilation` apart with window step `ss` (see conv2d_direct.wgsl).
 */
function comb(stride: number, dilation: number): { phaseStep: number; ss: number } {
  const g = gcd(stride, dilation);
  return { phaseStep: dilation / g, ss: stride / g };
}

/** Depthwise (one input channel per group, Cout == Cin) with C % 4 == 0 and window step <= 2. */
function usesDepthwise4(inputShape: Shape, weightShape: Shape, p: Conv2dParams): boolean {
  const [, , , cin] = inputShape;
  const [, , cinPerGroup, cout] = weightShape;
  return (
    p.groups === cin && cinPerGroup === 1 && cout === cin && cin % 4 === 0 &&
    comb(p.strideH, p.dilationH).ss <= 2 && comb(p.strideW, p.dilationW).ss <= 2
  );
}

/** Which kernel runs a conv: the GEMM (groups == 1), depthwise4, or the direct kernel. */
export function conv2dKernel(inputShape: Shape, weightShape: Shape, p: Conv2dParams): 'gemm' | 'depthwise4' | 'direct' {
  return usesGemm(p) ? 'gemm' : usesDepthwise4(inputShape, weightShape, p) ? 'depthwise4' : 'direct';
}

/** 3x3 and 5x5 become compile-time loop bounds; other sizes are read from params. */
function compiledKernelSize(KH: number, KW: number): number {
  return KH === KW && (KH === 3 || KH === 5) ? KH : 0;
}

/** The kernels a conv launches on `ctx`: its own, and the split-K reduction where it splits. */
export function conv2dSpecs(
  ctx: GpuContext,
  inputShape: Shape,
  weightShape: Shape,
  p: Conv2dParams,
  has: { bias: boolean; scale: boolean; residual: boolean },
  /** The program's tensor type (half-precision programs may run another GEMM variant). */
  dtype: 'f32' | 'f16' = 'f32',
): KernelSpec[] {
  const g = convGeometry(inputShape, weightShape, p);
  const gemm = usesGemm(p) ? gemmVariant(ctx, g, p, dtype) : undefined;
  const depthwise = usesDepthwise4(inputShape, weightShape, p) ? depthwiseVariant(ctx, g, p) : undefined;
  const main = conv2dSpec(inputShape, weightShape, p, has, { gemm, depthwise });
  return gemm && gemm.splits > 1 ? [main, splitKReduceSpec(p, has)] : [main];
}

function splitKReduceSpec(p: Conv2dParams, has: { bias: boolean; scale: boolean; residual: boolean }): KernelSpec {
  return {
    shader: 'conv2d_splitk_reduce.wgsl',
    constants: {
      HAS_BIAS: has.bias ? 1 : 0,
      HAS_SCALE: has.scale ? 1 : 0,
      HAS_RESIDUAL: has.residual ? 1 : 0,
      ACTIVATION: activationCode(p.activation ?? 'none'),
      WG: REDUCE_WG,
    },
  };
}

export function conv2dSpec(
  inputShape: Shape,
  weightShape: Shape,
  p: Conv2dParams,
  has: { bias: boolean; scale: boolean; residual: boolean },
  /** The GEMM variant (groups == 1: required; see gemmVariant), the depthwise4 one (default: the default). */
  variant: ConvVariant = {},
): KernelSpec {
  convGeometry(inputShape, weightShape, p);
  const gemm = variant.gemm;
  const constants: Record<string, number> = {
    HAS_BIAS: has.bias ? 1 : 0,
    HAS_SCALE: has.scale ? 1 : 0,
    HAS_RESIDUAL: has.residual ? 1 : 0,
    ACTIVATION: activationCode(p.activation ?? 'none'),
  };
  if (usesGemm(p)) {
    if (!gemm) throw new Error(`${KERNEL}: a groups == 1 convolution needs its GEMM variant`);
    if (gemm.kind === 'matrix') {
      // The matrix shapes are types' parameters: module constants, not overrides.
      const shader = gemm.emulated ? 'conv2d_gemm_matrix_emulated.wgsl' : 'conv2d_gemm_matrix.wgsl';
      const consts = { SM_M: gemm.m, SM_N: gemm.n, SM_K: gemm.k, SGM: gemm.SGM, SGN: gemm.SGN, TMS: gemm.TMS, TNS: gemm.TNS, KS: gemm.KS, LANES: gemm.lanes };
      if (gemm.splits > 1) return { shader, consts, constants: { SPLIT_K: 1 } };
      return { shader, consts, constants };
    }
    const [shader, tile] =
      gemm.kind !== 'tiled'
        ? [gemm.kind === 'register' ? 'conv2d_gemm.wgsl' : 'conv2d_gemm_subgroup.wgsl', { WG: gemm.lanes, R: gemm.R, CN: gemm.CN }]
        : [gemm.vec4 ? 'conv2d_gemm_tiled_vec4.wgsl' : 'conv2d_gemm_tiled.wgsl', { BM: gemm.BM, BN: gemm.BN, BK: gemm.BK, TM: gemm.TM, TN: gemm.TN, WGX: gemm.BN / gemm.TN, WGY: gemm.BM / gemm.TM }];
    // A split GEMM writes raw sums: its epilogue constants are the reduction's.
    if (gemm.splits > 1) return { shader, constants: { ...tile, SPLIT_K: 1 } };
    return { shader, constants: { ...constants, ...tile } };
  }
  const [KH, KW, cinPerGroup] = weightShape;
  const ksize = compiledKernelSize(KH, KW);
  if (usesDepthwise4(inputShape, weightShape, p)) {
    // Only the window step class (stride / gcd(stride, rate), 1 or 2) specialises, never a size.
    return {
      shader: 'conv2d_direct.wgsl',
      entryPoint: 'depthwise4',
      constants: { ...constants, WG: (variant.depthwise ?? defaultDepthwiseVariant()).lanes, KSIZE: ksize, SSH: comb(p.strideH, p.dilationH).ss, SSW: comb(p.strideW, p.dilationW).ss },
    };
  }
  // Stride 1 without horizontal dilation lets one input row slide across the KW taps.
  const slide = p.strideW === 1 && p.dilationW === 1 ? 1 : 0;
  const depthwise = cinPerGroup === 1 ? 1 : 0;
  return {
    shader: 'conv2d_direct.wgsl',
    constants: { ...constants, WG: directLanes(weightShape[3]), SLIDE: slide, KSIZE: ksize, DEPTHWISE: depthwise },
  };
}

/** Channel blocks in x, pixel blocks in y, spilling into z past the per-dimension cap. */
function blockGrid(ctx: GpuContext, mTiles: number, nTiles: number): Grid {
  const maxDim = ctx.limits.maxComputeWorkgroupsPerDimension;
  if (nTiles > maxDim) throw new Error(`${KERNEL}: ${nTiles} output-channel tiles exceed the grid limit ${maxDim}`);
  const z = Math.ceil(mTiles / maxDim);
  if (z > maxDim) throw new Error(`${KERNEL}: ${mTiles} pixel tiles exceed the grid limit`);
  return [nTiles, Math.ceil(mTiles / z), z];
}

/** Tiles along one axis of a depthwise4 dispatch: phases x tiles per phase. */
function axisTiles(outSize: number, stride: number, dilation: number, tile: number): { phaseStep: number; perPhase: number; tiles: number } {
  const { phaseStep } = comb(stride, dilation);
  // Phase k holds outputs k, k + phaseStep, ...; the longest (phase 0) sets the tiles per
  // phase, and phases past the output size would be empty.
  const perPhase = Math.ceil(Math.ceil(outSize / phaseStep) / tile);
  return { phaseStep, perPhase, tiles: Math.min(phaseStep, outSize) * perPhase };
}

/** Uniforms (the DwParams struct of conv2d_direct.wgsl, in declaration order) and grid. */
function depthwise4Launch(ctx: GpuContext, g: ConvGeometry, p: Conv2dParams, v: DepthwiseVariant): { uniforms: Uniforms; grid: Grid } {
  const rows = axisTiles(g.OH, p.strideH, p.dilationH, DW_TR);
  const cols = axisTiles(g.OW, p.strideW, p.dilationW, DW_TP);
  const tiles = g.N * rows.tiles * cols.tiles;
  const channelBlocks = Math.ceil(g.cout / 4 / v.lanes);
  let perGroup = v.tilesPerGroup;
  while (perGroup > 1 && Math.ceil(tiles / perGroup) * channelBlocks < DW_MIN_GROUPS) perGroup /= 2;
  const uniforms = windowUniforms(new Uniforms().u32(g.cout / 4), g, p)
    .u32(rows.phaseStep)
    .u32(cols.phaseStep)
    .u32(rows.perPhase)
    .u32(rows.tiles)
    .u32(cols.perPhase)
    .u32(cols.tiles)
    .u32(tiles)
    .u32(perGroup);
  // Tile groups in x (consecutive workgroups share input rows in cache), channel blocks in y,
  // tile groups spilling into z past the per-dimension cap.
  const groups = Math.ceil(tiles / perGroup);
  const maxDim = ctx.limits.maxComputeWorkgroupsPerDimension;
  if (channelBlocks > maxDim) throw new Error(`${KERNEL}: ${channelBlocks} channel blocks exceed the grid limit ${maxDim}`);
  const z = Math.ceil(groups / maxDim);
  if (z > maxDim) throw new Error(`${KERNEL}: ${tiles} pixel tiles exceed the grid limit`);
  return { uniforms, grid: [Math.ceil(groups / z), channelBlocks, z] };
}

/** The window fields all conv params structs share, in their order: sizes, strides, rates, pads. */
function windowUniforms(u: Uniforms, g: ConvGeometry, p: Conv2dParams): Uniforms {
  return u
    .u32(g.H)
    .u32(g.W)
    .u32(g.OH)
    .u32(g.OW)
    .u32(g.KH)
    .u32(g.KW)
    .u32(p.strideH)
    .u32(p.strideW)
    .u32(p.dilationH)
    .u32(p.dilationW)
    .i32(p.padTop)
    .i32(p.padLeft);
}

/**
 * The dispatches of one conv: one, or two where it splits K (the scratch is the first one's).
 * `variant`: a GEMM or depthwise4 variant to run instead of the context's choice (the tuner's candidates).
 */
export function prepareConv2d(ctx: GpuContext, t: Conv2dOperands, p: Conv2dParams, variant: ConvVariant = {}): Dispatch[] {
  const g = convGeometry(t.input.shape, t.weight.shape, p);
  const outShape = [g.N, g.OH, g.OW, g.cout];
  const where = describe(t.input.shape, t.weight.shape, p);
  expectShape(t.out.shape, outShape, KERNEL, `out (${where})`);
  if (t.bias) expectShape(t.bias.shape, [g.cout], KERNEL, 'bias');
  if (t.scale) expectShape(t.scale.shape, [g.cout], KERNEL, 'scale');
  if (t.residual) expectShape(t.residual.shape, outShape, KERNEL, 'residual');
  for (const [name, tensor] of Object.entries(t) as [string, GpuTensor | undefined][]) {
    if (!tensor) continue;
    if (tensor.dtype !== 'f32' && tensor.dtype !== 'f16') throw new Error(`${KERNEL}: ${name} must be f32 or f16, got ${tensor.dtype}`);
    checkBindable(ctx, tensor.byteLength, `${KERNEL}: ${name} ${shapeString(tensor.shape)}`);
    // WebGPU forbids a buffer bound both read-only and writable in one dispatch.
    if (name !== 'out' && tensor.buffer === t.out.buffer) throw new Error(`${KERNEL}: ${name} and out must be different tensors`);
  }

  const has = { bias: !!t.bias, scale: !!t.scale, residual: !!t.residual };
  const gemm = usesGemm(p) ? (variant.gemm ?? gemmVariant(ctx, g, p, t.out.dtype === 'f16' ? 'f16' : 'f32')) : undefined;
  const depthwise = usesDepthwise4(t.input.shape, t.weight.shape, p) ? (variant.depthwise ?? depthwiseVariant(ctx, g, p)) : undefined;
  const spec = conv2dSpec(t.input.shape, t.weight.shape, p, has, { gemm, depthwise });
  // Unused epilogue slots still exist in the pipeline layout: bind the weight there.
  const buffers = [t.input, t.weight, t.bias ?? t.weight, t.scale ?? t.weight, t.residual ?? t.weight, t.out];
  const label =
    `${KERNEL}(${g.KH}x${g.KW} s${p.strideH}x${p.strideW} d${p.dilationH}x${p.dilationW} g${p.groups}` +
    `${p.activation && p.activation !== 'none' ? ' ' + p.activation : ''}) ${shapeString(t.input.shape)}->${shapeString(outShape)}`;

  if (gemm) {
    const M = g.N * g.OH * g.OW;
    const splits = gemm.splits;
    const block = gemmBlock(gemm);
    const mTiles = Math.ceil(M / block.pixels);
    const coGroups = Math.ceil(g.cout / block.channels);
    const ciChunk = Math.ceil(g.cin / splits);
    const uniforms = windowUniforms(new Uniforms().u32(M).u32(g.cout).u32(g.cin), g, p)
      .u32(mTiles)
      .u32(block.pixels)
      .u32(coGroups)
      .u32(ciChunk);
    const workgroups = blockGrid(ctx, mTiles, splits * coGroups);
    if (splits === 1) return [makeDispatch(ctx, { label, spec, uniforms, buffers, workgroups })];
    return splitKDispatches(ctx, t, p, { label, uniforms, workgroups, gemm, count: M * g.cout, has });
  }

  if (depthwise) {
    const { uniforms, grid } = depthwise4Launch(ctx, g, p, depthwise);
    return [makeDispatch(ctx, { label, spec, uniforms, buffers, workgroups: grid })];
  }

  const owBlocks = Math.ceil(g.OW / DIRECT_P);
  const blocks = g.N * g.OH * owBlocks;
  const uniforms = windowUniforms(new Uniforms().u32(g.cout).u32(g.cin).u32(g.cinPerGroup).u32(g.coutPerGroup), g, p)
    .u32(owBlocks)
    .u32(blocks)
    .u32(DIRECT_P);
  const grid = blockGrid(ctx, blocks, Math.ceil(g.cout / directLanes(g.cout)));
  return [makeDispatch(ctx, { label, spec, uniforms, buffers, workgroups: grid })];
}

/** A split-K GEMM into its own scratch [splits, M, Cout], then the ordered sum with the epilogue. */
function splitKDispatches(
  ctx: GpuContext,
  t: Conv2dOperands,
  p: Conv2dParams,
  s: { label: string; uniforms: Uniforms; workgroups: Grid; gemm: GemmVariant; count: number; has: { bias: boolean; scale: boolean; residual: boolean } },
): Dispatch[] {
  const splits = s.gemm.splits;
  // The partial sums are stored in the output's type (f16 in half-precision programs).
  const scratchBytes = tensorBytes([splits, s.count], t.out.dtype);
  checkBindable(ctx, scratchBytes, `${KERNEL}: split-K scratch of ${splits} x ${s.count} values`);
  const scratch = ctx.createBuffer(scratchBytes, STORAGE_USAGE, `${s.label}:split-k`);
  try {
    const gemmSpec = conv2dSpec(t.input.shape, t.weight.shape, p, s.has, { gemm: s.gemm });
    const gemm = makeDispatch(ctx, {
      label: `${s.label} split-K x${splits}`,
      spec: gemmSpec,
      uniforms: s.uniforms,
      buffers: [t.input, t.weight, t.weight, t.weight, t.weight, scratch],
      workgroups: s.workgroups,
    });
    const reduce = makeDispatch(ctx, {
      label: `${s.label} split-K sum`,
      spec: splitKReduceSpec(p, s.has),
      uniforms: new Uniforms().u32(s.count).u32(t.out.shape[3]).u32(splits),
      buffers: [scratch, t.bias ?? t.weight, t.scale ?? t.weight, t.residual ?? t.weight, t.out],
      workgroups: linearGrid(ctx, s.count, REDUCE_WG),
    });
    return [{ ...gemm, ownedBuffers: [scratch] }, reduce];
  } catch (e) {
    ctx.destroyBuffer(scratch);
    throw e;
  }
}

/** Allocates the output and runs once. */
export function conv2d(
  ctx: GpuContext,
  input: GpuTensor,
  weight: GpuTensor,
  extras: Conv2dExtras<GpuTensor>,
  p: Conv2dParams,
): Promise<GpuTensor> {
  const outShape = conv2dOutputShape(input.shape, weight.shape, p);
  return runToNewTensor(ctx, outShape, KERNEL, (out) => prepareConv2d(ctx, { input, weight, ...extras, out }, p));
}

/**
 * CPU reference: the textbook seven-deep loop, zero padding by skipping out-of-range taps.
 * Float64 in, float64 out (gradient checks); float32 likewise.
 */
export function conv2dCpu<T extends Float32Array | Float64Array>(
  input: T,
  inputShape: Shape,
  weight: Float32Array | Float64Array,
  weightShape: Shape,
  p: Conv2dParams,
  extras: Conv2dExtras<Float32Array | Float64Array> = {},
): T {
  const g = convGeometry(inputShape, weightShape, p);
  const { N, H, W, cin, KH, KW, cout, OH, OW, cinPerGroup, coutPerGroup } = g;
  const expectLength = (what: string, a: Float32Array | Float64Array | undefined, n: number) => {
    if (a && a.length !== n) throw new Error(`${KERNEL}: ${what} has ${a.length} values, expected ${n}`);
  };
  expectLength('input', input, numel(inputShape));
  expectLength('weight', weight, numel(weightShape));
  expectLength('bias', extras.bias, cout);
  expectLength('scale', extras.scale, cout);
  expectLength('residual', extras.residual, N * OH * OW * cout);
  const act = p.activation ?? 'none';
  const out = new (input.constructor as { new (n: number): T })(N * OH * OW * cout);
  for (let n = 0; n < N; n++) {
    for (let oh = 0; oh < OH; oh++) {
      for (let ow = 0; ow < OW; ow++) {
        for (let co = 0; co < cout; co++) {
          const ciBase = Math.floor(co / coutPerGroup) * cinPerGroup;
          let acc = 0;
          for (let kh = 0; kh < KH; kh++) {
            const ih = oh * p.strideH - p.padTop + kh * p.dilationH;
            if (ih < 0 || ih >= H) continue;
            for (let kw = 0; kw < KW; kw++) {
              const iw = ow * p.strideW - p.padLeft + kw * p.dilationW;
              if (iw < 0 || iw >= W) continue;
              for (let ci = 0; ci < cinPerGroup; ci++) {
                acc += input[((n * H + ih) * W + iw) * cin + ciBase + ci] * weight[((kh * KW + kw) * cinPerGroup + ci) * cout + co];
              }
            }
          }
          const idx = ((n * OH + oh) * OW + ow) * cout + co;
          let v = acc;
          if (extras.scale) v *= extras.scale[co];
          if (extras.bias) v += extras.bias[co];
          if (extras.residual) v += extras.residual[idx];
          out[idx] = activateCpu(v, act);
        }
      }
    }
  }
  return out;
}
