// The weight gradient dW of a convolution: a reduction over the N*OH*OW output pixels, split into
// chunks by the family's split rule (../../conv2d/split.ts) where the outputs alone give too
// little parallel work, then summed (chunk_sum.wgsl). groups == 1 runs `main` on the variant the
// layer's space chooses (../space.ts); grouped and depthwise layers run `grouped`.
import type { GpuContext } from '../../../gpu/context.js';
import { type Dispatch, type Grid, Uniforms, linearGrid, makeDispatch, runToNewTensor } from '../../../gpu/dispatch.js';
import type { KernelSpec } from '../../../gpu/pipeline-cache.js';
import { type GpuTensor, type Shape, createTensor, shapeString } from '../../../gpu/tensor.js';
import { lanesFor } from '../../candidates.js';
import { expectShape } from '../../checks.js';
import { windowUniforms } from '../../conv2d/algorithm.js';
import type { Conv2dParams, ConvGeometry } from '../../conv2d/params.js';
import { normaliseSplits, reductionSplits } from '../../conv2d/split.js';
import { prepareChunkSum } from '../../reduce/reduce.js';
import { type TunableLayer, tunableLayer } from '../../tuning.js';
import { SCALAR_WG, WEIGHT_GRAD, backwardGeometry, checkOperands, describeWindow } from '../geometry.js';
import { type BackwardVariant, backwardLayer, backwardSpace, backwardVariant } from '../space.js';

// conv2d_weight_grad.wgsl `main`: one tap and RK input channels per workgroup, CN output channels per lane.
const WG_RK = 8;
const WG_CN = 4;
// The lanes the split below is sized for: the default's (../space.ts), whatever variant
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
  /** The groups == 1 kernel's variant (default: the context's choice, backwardVariant); the tuner's candidates. */
  variant?: BackwardVariant;
}

interface Split {
  chunks: number;
  chunkLen: number;
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

/** The groups == 1 variant a layer runs on `ctx` (undefined for grouped layers, which have one kernel): chosen once, where it is lowered. */
export function conv2dWeightGradVariant(ctx: GpuContext, inputShape: Shape, weightShape: Shape, p: Conv2dParams): BackwardVariant | undefined {
  return p.groups === 1 ? backwardVariant(ctx, 'weight_grad', backwardGeometry(WEIGHT_GRAD, inputShape, weightShape, p), p) : undefined;
}

/** `variant`: the groups == 1 kernel's (default: the context's choice, backwardVariant). */
export function conv2dWeightGradSpec(ctx: GpuContext, inputShape: Shape, weightShape: Shape, p: Conv2dParams, variant?: BackwardVariant): KernelSpec {
  const g = backwardGeometry(WEIGHT_GRAD, inputShape, weightShape, p);
  if (p.groups === 1) {
    const v = variant ?? backwardVariant(ctx, 'weight_grad', g, p);
    return { shader: v.subgroups ? 'conv2d_weight_grad_subgroup.wgsl' : 'conv2d_weight_grad.wgsl', constants: { WG: v.lanes } };
  }
  return { shader: 'conv2d_weight_grad.wgsl', entryPoint: 'grouped', constants: { WG: SCALAR_WG } };
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
  const g = backwardGeometry(WEIGHT_GRAD, t.input.shape, t.dWeight.shape, p, t.dOut.shape);
  const { chunks, chunkLen } = weightGradSplit(g, p, opts);
  const scratchShape = chunks === 1 ? null : [chunks, ...t.dWeight.shape];
  const operands: Record<string, GpuTensor> = { input: t.input, dOut: t.dOut, dWeight: t.dWeight };
  if (scratchShape) {
    if (!t.scratch) {
      throw new Error(
        `${WEIGHT_GRAD}: this reduction runs in ${chunks} chunks and needs a scratch tensor of shape ${shapeString(scratchShape)} ` +
          `(see conv2dWeightGradScratchShape)`,
      );
    }
    expectShape(t.scratch.shape, scratchShape, WEIGHT_GRAD, 'scratch');
    operands.scratch = t.scratch;
  }
  checkOperands(ctx, WEIGHT_GRAD, operands, scratchShape ? ['scratch', 'dWeight'] : ['dWeight']);

  const M = g.N * g.OH * g.OW;
  const K = g.KH * g.KW * g.cinPerGroup;
  const outputs = K * g.cout;
  const ciBlocks = Math.ceil(g.cinPerGroup / WG_RK);
  const kTiles = g.KH * g.KW * ciBlocks;
  const maxDim = ctx.limits.maxComputeWorkgroupsPerDimension;
  const v = p.groups === 1 ? (opts.variant ?? backwardVariant(ctx, 'weight_grad', g, p)) : undefined;
  const spec = conv2dWeightGradSpec(ctx, t.input.shape, t.dWeight.shape, p, v);
  const uniforms = windowUniforms(new Uniforms().u32(M).u32(g.cin).u32(g.cout).u32(g.cinPerGroup).u32(g.coutPerGroup), g, p)
    .u32(K)
    .u32(ciBlocks)
    .u32(chunkLen)
    .u32(chunks)
    .u32(outputs)
    .u32(WG_RK);
  let workgroups: Grid;
  if (p.groups === 1) {
    const channelBlocks = Math.ceil(g.cout / (v!.lanes * WG_CN));
    if (channelBlocks > maxDim || kTiles > maxDim || chunks > maxDim) {
      throw new Error(`${WEIGHT_GRAD}: grid ${channelBlocks} x ${kTiles} x ${chunks} exceeds the per-dimension limit ${maxDim}`);
    }
    workgroups = [channelBlocks, kTiles, chunks];
  } else {
    workgroups = linearGrid(ctx, outputs * chunks, SCALAR_WG);
  }
  const label = `${WEIGHT_GRAD}(${describeWindow(p, g)}, ${chunks} chunks) ${shapeString(t.input.shape)}->${shapeString(t.dWeight.shape)}`;
  const partial = scratchShape ? t.scratch! : t.dWeight;
  const stage1 = makeDispatch(ctx, { label, spec, uniforms, buffers: [t.input, t.dOut, partial], workgroups });
  if (!scratchShape) return [stage1];
  const stage2 = prepareChunkSum(ctx, { partial, out: t.dWeight }, chunks);
  return [stage1, stage2];
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

/** A groups == 1 layer's dW candidates as the tuner times them (input, dOut -> dWeight and the reduction's scratch), or null for grouped layers. */
export function conv2dWeightGradTunable(ctx: GpuContext, inputShape: Shape, weightShape: Shape, attrs: Conv2dParams): TunableLayer | null {
  if (attrs.groups !== 1) return null;
  const p = { ...attrs, activation: 'none' as const };
  const g = backwardGeometry(WEIGHT_GRAD, inputShape, weightShape, p);
  const space = backwardSpace('weight_grad', backwardLayer(ctx, g, p));
  const scratch = conv2dWeightGradScratchShape(inputShape, weightShape, p);
  const operands = [{ shape: [...inputShape], fill: true }, { shape: [g.N, g.OH, g.OW, g.cout], fill: true }, { shape: [...weightShape], fill: false }, ...(scratch ? [{ shape: scratch, fill: false }] : [])];
  return tunableLayer(space, operands, (ctx, [input, dOut, dWeight, scratch], v) => prepareConv2dWeightGrad(ctx, { input, dOut, dWeight, scratch }, p, { variant: v }));
}
