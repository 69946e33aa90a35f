// The weight gradient dW of a convolution (backward weight): a reduction over the N*OH*OW output
// pixels, split into chunks by the family's split rule (../../conv2d/split.ts) where the outputs
// alone give too little parallel work, then summed (chunk_sum.wgsl). A convolution family of three
// algorithms (../../conv2d/family.ts): 'pointwise', 1x1 stride-1 layers on SwiftShader written
// out as straight-line code (conv2d_weight_grad_pointwise.wgsl: 4 x CIQ input by COQ quads of
// output channels a lane, X and dY read as vec4); 'gemm', groups == 1 layers on `main`'s tiles
// (../tiles.ts); and 'grouped', grouped and depthwise layers on `grouped`. The tuner times a
// layer's candidates as the forward's, under the family's name.
import type { GpuContext } from '../../../gpu/context.js';
import { type Dispatch, Uniforms, linearGrid, makeDispatch, runToNewTensor } from '../../../gpu/dispatch.js';
import type { KernelSpec } from '../../../gpu/pipeline-cache.js';
import { type GpuTensor, type Shape, createTensor, shapeString } from '../../../gpu/tensor.js';
import { adapterClass, lanesFor } from '../../candidates.js';
import { expectShape } from '../../checks.js';
import { type ConvAlgorithm, type ConvChoice, type ConvLayer, windowUniforms } from '../../conv2d/algorithm.js';
import { type ConvFamily, chooseConv, convTunable, launchConv } from '../../conv2d/family.js';
import type { Conv2dParams, ConvGeometry } from '../../conv2d/params.js';
import { normaliseSplits, reductionSplits } from '../../conv2d/split.js';
import { prepareChunkSum } from '../../reduce/reduce.js';
import type { TunableLayer } from '../../tuning.js';
import { SCALAR_WG, WEIGHT_GRAD, backwardGeometry, checkOperands, describeWindow } from '../geometry.js';
import { type GradientTile, gradientTileName, gradientTiles, pointwiseGradient } from '../tiles.js';

// conv2d_weight_grad.wgsl `main`: one tap and RK input channels per workgroup, CN output channels per lane.
const WG_RK = 8;
const WG_CN = 4;
// The lanes the split below is sized for: the default's (../tiles.ts), whatever variant
// runs, so the scratch shape (a graph value, planned before any kernel is chosen) depends on the
// shapes alone.
const splitLanes = (cout: number) => lanesFor(cout, WG_CN, 32);
// Split-K: enough chunks to give ~64k invocations, but chunks of at least 64 pixels, at most
// 256 chunks, and a scratch of at most 32 MiB (large layers then run in fewer, longer chunks:
// they have parallelism in their outputs already, and the blocked sums keep long chunks accurate).
const SPLIT_TARGET_INVOCATIONS = 1 << 16;
const SPLIT_MIN_CHUNK = 64;
const SPLIT_MAX_CHUNKS = 256;
const SPLIT_MAX_SCRATCH_FLOATS = 1 << 23;

export interface Conv2dWeightGradOptions {
  /** Pixel chunks of the split-K reduction (default: chosen from the shapes); 1 needs no scratch. */
  chunks?: number;
  /** A candidate to run instead of the context's choice (the tuner's, tests'). */
  choice?: ConvChoice<WeightGradLaunch, null>;
}

export interface Split {
  chunks: number;
  chunkLen: number;
}

/** What the weight gradient's algorithms launch on: the operands, and the reduction's split (stage 1 writes `partial`). */
export interface WeightGradLaunch extends Split {
  input: GpuTensor;
  dOut: GpuTensor;
  /** dWeight, or the scratch of per-chunk partial sums. */
  partial: GpuTensor;
}

function weightGradSplit(g: ConvGeometry, p: Conv2dParams, opts: Conv2dWeightGradOptions): Split {
  const M = g.N * g.OH * g.OW;
  const outputs = g.KH * g.KW * g.cinPerGroup * g.cout;
  let chunks: number;
  if (opts.chunks !== undefined) {
    if (!Number.isInteger(opts.chunks) || opts.chunks < 1) {
      throw new Error(`${WEIGHT_GRAD}: options.chunks must be a positive integer, got ${opts.chunks}`);
    }
    chunks = normaliseSplits(M, Math.min(opts.chunks, M));
  } else {
    const lanes = splitLanes(g.cout);
    const kTiles = g.KH * g.KW * Math.ceil(g.cinPerGroup / WG_RK);
    const invocations = p.groups === 1 ? kTiles * Math.ceil(g.cout / (lanes * WG_CN)) * lanes : outputs;
    chunks = reductionSplits(M, invocations, SPLIT_TARGET_INVOCATIONS, Math.ceil(M / SPLIT_MIN_CHUNK), SPLIT_MAX_CHUNKS, Math.floor(SPLIT_MAX_SCRATCH_FLOATS / outputs));
  }
  // No chunk is empty (normaliseSplits): every chunk but the last is chunkLen long.
  return { chunks, chunkLen: Math.ceil(M / chunks) };
}

/** The Params struct of conv2d_weight_grad.wgsl for a reduction split as `split`. */
function weightGradUniforms({ g, p }: ConvLayer, split: Split): Uniforms {
  const M = g.N * g.OH * g.OW;
  const K = g.KH * g.KW * g.cinPerGroup;
  return windowUniforms(new Uniforms().u32(M).u32(g.cin).u32(g.cout).u32(g.cinPerGroup).u32(g.coutPerGroup), g, p)
    .u32(K)
    .u32(Math.ceil(g.cinPerGroup / WG_RK))
    .u32(split.chunkLen)
    .u32(split.chunks)
    .u32(K * g.cout)
    .u32(WG_RK);
}

/** groups == 1: `main`, a tap and 8 input channels a workgroup by 4 output channels a lane, a chunk of pixels in z. */
const weightGradGemm: ConvAlgorithm<GradientTile, WeightGradLaunch, null> = {
  id: 'gemm',
  shaders: ['conv2d_weight_grad.wgsl', 'conv2d_weight_grad_subgroup.wgsl'],
  variants: ({ g, p, cls, limits }) => (p.groups === 1 ? gradientTiles('weight_grad', g.cout, cls, limits) : []),
  name: gradientTileName,
  specs: (_layer, _has, v) => [{ shader: v.subgroups ? 'conv2d_weight_grad_subgroup.wgsl' : 'conv2d_weight_grad.wgsl', constants: { WG: v.lanes } }],
  prepare(ctx, t, layer, v, accumulate, label) {
    const { g } = layer;
    const [spec] = weightGradGemm.specs(layer, null, v, accumulate);
    const channelBlocks = Math.ceil(g.cout / (v.lanes * WG_CN));
    const kTiles = g.KH * g.KW * Math.ceil(g.cinPerGroup / WG_RK);
    const maxDim = ctx.limits.maxComputeWorkgroupsPerDimension;
    if (channelBlocks > maxDim || kTiles > maxDim || t.chunks > maxDim) {
      throw new Error(`${WEIGHT_GRAD}: grid ${channelBlocks} x ${kTiles} x ${t.chunks} exceeds the per-dimension limit ${maxDim}`);
    }
    const workgroups: [number, number, number] = [channelBlocks, kTiles, t.chunks];
    return [makeDispatch(ctx, { label, spec, uniforms: weightGradUniforms(layer, t), buffers: [t.input, t.dOut, t.partial], workgroups })];
  },
};

/** conv2d_weight_grad_pointwise.wgsl's tile: CIQ quads of input channels a workgroup by COQ quads of output channels a lane, on `lanes` lanes. */
export interface PointwiseWeightTile {
  CIQ: number;
  COQ: number;
  lanes: number;
}

/** The pointwise kernel's tiles, its default first (8 vec4 sums a lane, and as many running totals). */
const POINTWISE_WEIGHT_TILES: readonly PointwiseWeightTile[] = [
  { CIQ: 1, COQ: 2, lanes: 8 },
  { CIQ: 2, COQ: 2, lanes: 8 },
  { CIQ: 1, COQ: 1, lanes: 8 },
];

/** 1x1 stride-1 layers on SwiftShader, Cin and Cout multiples of 4: `main` of conv2d_weight_grad_pointwise.wgsl, a chunk of pixels in z. */
const weightGradPointwise: ConvAlgorithm<PointwiseWeightTile, WeightGradLaunch, null> = {
  id: 'pointwise',
  shaders: ['conv2d_weight_grad_pointwise.wgsl'],
  variants: (layer) => (pointwiseGradient(layer) && layer.g.cin % 4 === 0 && layer.g.cout % 4 === 0 ? [...POINTWISE_WEIGHT_TILES] : []),
  name: (v) => `i${4 * v.CIQ}o${4 * v.COQ}l${v.lanes}`,
  specs: (_layer, _has, v) => [{ shader: 'conv2d_weight_grad_pointwise.wgsl', consts: { CIQ: v.CIQ, COQ: v.COQ }, constants: { WG: v.lanes } }],
  prepare(ctx, t, layer, v, accumulate, label) {
    const { g } = layer;
    const [spec] = weightGradPointwise.specs(layer, null, v, accumulate);
    const coBlocks = Math.ceil(g.cout / 4 / (v.lanes * v.COQ));
    const ciBlocks = Math.ceil(g.cin / 4 / v.CIQ);
    const maxDim = ctx.limits.maxComputeWorkgroupsPerDimension;
    if (coBlocks > maxDim || ciBlocks > maxDim || t.chunks > maxDim) {
      throw new Error(`${WEIGHT_GRAD}: grid ${coBlocks} x ${ciBlocks} x ${t.chunks} exceeds the per-dimension limit ${maxDim}`);
    }
    const uniforms = new Uniforms().u32(g.N * g.OH * g.OW).u32(g.cin / 4).u32(g.cout / 4).u32(t.chunkLen);
    return [makeDispatch(ctx, { label, spec, uniforms, buffers: [t.input, t.dOut, t.partial], workgroups: [coBlocks, ciBlocks, t.chunks] })];
  },
};

/** groups > 1 (depthwise and channel multipliers included): `grouped`, one weight element and chunk an invocation. */
const weightGradGrouped: ConvAlgorithm<{ lanes: number }, WeightGradLaunch, null> = {
  id: 'grouped',
  shaders: ['conv2d_weight_grad.wgsl'],
  variants: ({ p }) => (p.groups > 1 ? [{ lanes: SCALAR_WG }] : []),
  name: (v) => `l${v.lanes}`,
  specs: (_layer, _has, v) => [{ shader: 'conv2d_weight_grad.wgsl', entryPoint: 'grouped', constants: { WG: v.lanes } }],
  prepare(ctx, t, layer, v, accumulate, label) {
    const { g } = layer;
    const [spec] = weightGradGrouped.specs(layer, null, v, accumulate);
    const workgroups = linearGrid(ctx, g.KH * g.KW * g.cinPerGroup * g.cout * t.chunks, v.lanes);
    return [makeDispatch(ctx, { label, spec, uniforms: weightGradUniforms(layer, t), buffers: [t.input, t.dOut, t.partial], workgroups })];
  },
};

/** The weight gradient's family under its name in the tuning store. */
export const CONV2D_WEIGHT_GRAD: ConvFamily<WeightGradLaunch, null> = { kernel: 'conv2d_weight_grad', algorithms: [weightGradPointwise, weightGradGemm, weightGradGrouped] };

/** A layer's dW as the family's algorithms see it (training programs: f32). */
function weightGradLayer(ctx: GpuContext, inputShape: Shape, weightShape: Shape, p: Conv2dParams, dOutShape?: Shape): ConvLayer {
  return { g: backwardGeometry(WEIGHT_GRAD, inputShape, weightShape, p, dOutShape), p, cls: adapterClass(ctx), limits: ctx.kernelLimits, dtype: 'f32' };
}

/**
 * Shape of the scratch tensor prepareConv2dWeightGrad needs for these shapes and options:
 * [chunks, KH, KW, Cin/groups, Cout] partial sums, or null when the reduction runs in one chunk
 * (then dWeight is written directly). The caller allocates it (it can be shared by any kernels
 * that do not run concurrently) and disposes it after the dispatches are done with.
 */
export function conv2dWeightGradScratchShape(
  inputShape: Shape,
  weightShape: Shape,
  p: Conv2dParams,
  opts: Conv2dWeightGradOptions = {},
): number[] | null {
  const g = backwardGeometry(WEIGHT_GRAD, inputShape, weightShape, p);
  const { chunks } = weightGradSplit(g, p, opts);
  return chunks === 1 ? null : [chunks, ...weightShape];
}

export interface Conv2dWeightGradOperands {
  /** The forward's input X [N, H, W, Cin]. */
  input: GpuTensor;
  /** dLoss/dY [N, OH, OW, Cout] */
  dOut: GpuTensor;
  /** Written: dLoss/dW, HWIO [KH, KW, Cin/groups, Cout] (its shape is the forward weight's). */
  dWeight: GpuTensor;
  /** Partial sums, shape conv2dWeightGradScratchShape(...); required when that is not null. */
  scratch?: GpuTensor;
}

/** What a layer's dW runs on `ctx`, chosen once where it is lowered: the choice, to pass to prepareConv2dWeightGrad, and the kernels it compiles. */
export function conv2dWeightGradLowering(ctx: GpuContext, inputShape: Shape, weightShape: Shape, p: Conv2dParams): { choice: ConvChoice<WeightGradLaunch, null>; specs: KernelSpec[] } {
  const layer = weightGradLayer(ctx, inputShape, weightShape, p);
  const choice = chooseConv(ctx, CONV2D_WEIGHT_GRAD, layer);
  return { choice, specs: choice.algorithm.specs(layer, null, choice.variant, choice.accumulate) };
}

/**
 * dW of conv2d with the forward's params: one dispatch (one chunk) or two (partial sums per
 * pixel chunk into `scratch`, then their sum into dWeight). Run them in order, in one pass.
 */
export function prepareConv2dWeightGrad(
  ctx: GpuContext,
  t: Conv2dWeightGradOperands,
  p: Conv2dParams,
  opts: Conv2dWeightGradOptions = {},
): Dispatch[] {
  const layer = weightGradLayer(ctx, t.input.shape, t.dWeight.shape, p, t.dOut.shape);
  const split = weightGradSplit(layer.g, p, opts);
  const scratchShape = split.chunks === 1 ? null : [split.chunks, ...t.dWeight.shape];
  const operands: Record<string, GpuTensor> = { input: t.input, dOut: t.dOut, dWeight: t.dWeight };
  if (scratchShape) {
    if (!t.scratch) {
      throw new Error(
        `${WEIGHT_GRAD}: this reduction runs in ${split.chunks} chunks and needs a scratch tensor of shape ${shapeString(scratchShape)} ` +
          `(see conv2dWeightGradScratchShape)`,
      );
    }
    expectShape(t.scratch.shape, scratchShape, WEIGHT_GRAD, 'scratch');
    operands.scratch = t.scratch;
  }
  checkOperands(ctx, WEIGHT_GRAD, operands, scratchShape ? ['scratch', 'dWeight'] : ['dWeight']);
  const label = `${WEIGHT_GRAD}(${describeWindow(p, layer.g)}, ${split.chunks} chunks) ${shapeString(t.input.shape)}->${shapeString(t.dWeight.shape)}`;
  const partial = scratchShape ? t.scratch! : t.dWeight;
  const stage1 = launchConv(ctx, CONV2D_WEIGHT_GRAD, { input: t.input, dOut: t.dOut, partial, ...split }, layer, opts.choice ?? chooseConv(ctx, CONV2D_WEIGHT_GRAD, layer), label);
  if (!scratchShape) return stage1;
  return [...stage1, prepareChunkSum(ctx, { partial, out: t.dWeight }, split.chunks)];
}

/** Allocates dW (and any scratch, freed afterwards) and runs once. */
export async function conv2dWeightGrad(
  ctx: GpuContext,
  input: GpuTensor,
  dOut: GpuTensor,
  weightShape: Shape,
  p: Conv2dParams,
  opts: Conv2dWeightGradOptions = {},
): Promise<GpuTensor> {
  backwardGeometry(WEIGHT_GRAD, input.shape, weightShape, p, dOut.shape);
  const scratchShape = conv2dWeightGradScratchShape(input.shape, weightShape, p, opts);
  const scratch = scratchShape ? createTensor(ctx, scratchShape, 'f32', `${WEIGHT_GRAD} scratch`) : undefined;
  try {
    return await runToNewTensor(ctx, weightShape, WEIGHT_GRAD, (dWeight) =>
      prepareConv2dWeightGrad(ctx, { input, dOut, dWeight, scratch }, p, opts),
    );
  } finally {
    scratch?.dispose();
  }
}

/** A layer's dW candidates as the tuner times them (input, dOut -> dWeight and the reduction's scratch), or null where it has no choice (grouped layers). */
export function conv2dWeightGradTunable(ctx: GpuContext, inputShape: Shape, weightShape: Shape, attrs: Conv2dParams): TunableLayer | null {
  const p = { ...attrs, activation: 'none' as const };
  const layer = weightGradLayer(ctx, inputShape, weightShape, p);
  const { g } = layer;
  const scratch = conv2dWeightGradScratchShape(inputShape, weightShape, p);
  const operands = [{ shape: [...inputShape], fill: true }, { shape: [g.N, g.OH, g.OW, g.cout], fill: true }, { shape: [...weightShape], fill: false }, ...(scratch ? [{ shape: scratch, fill: false }] : [])];
  return convTunable(CONV2D_WEIGHT_GRAD, layer, operands, 2, (ctx, [input, dOut, dWeight, scratch], choice) => prepareConv2dWeightGrad(ctx, { input, dOut, dWeight, scratch }, p, { choice }));
}
