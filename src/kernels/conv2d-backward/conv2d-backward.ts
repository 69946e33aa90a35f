// Backward kernels of conv2d (src/kernels/conv2d/conv2d.ts): the gradients of the bare convolution
//   Y[n, oh, ow, co] = sum_{kh, kw, ci} X[n, oh*sH + kh*dH - padTop, ow*sW + kw*dW - padLeft, g(co)*Cin/groups + ci]
//                                       * Wt[kh, kw, ci, co]
// with respect to its input X (NHWC), its weight Wt (HWIO [KH, KW, Cin/groups, Cout]) and a bias
// added per output channel, given dY = dLoss/dY [N, OH, OW, Cout] (PyTorch semantics).
//
//   dX  [N, H, W, Cin]          conv2d_input_grad.wgsl: the transposed convolution as a gather
//                               (each invocation owns input elements and sums the taps whose
//                               output position oh = (ih + padTop - kh*dH) / sH is an integer in
//                               range). groups == 1: tiles of 8 input pixels of one stride phase x
//                               4 channels per invocation; grouped / depthwise: one element each.
//   dW  [KH, KW, Cin/groups, Cout]  conv2d_weight_grad.wgsl + chunk_sum.wgsl: a reduction over the
//                               N*OH*OW output pixels, split into chunks (split-K): stage 1 writes
//                               one partial sum per chunk into a scratch tensor, stage 2 adds the
//                               chunks. One chunk needs no scratch and no stage 2.
//   db  [Cout]                  conv2d_bias_grad.wgsl: sum of dY over N, OH, OW, one workgroup per
//                               block of channels with a tree reduction.
//
// The params are the forward's Conv2dParams; `activation` must be 'none' (or absent): these are
// the gradients of the convolution alone, the caller applies the activation's derivative to dY.
// Every serial f32 sum is blocked (partial sums of at most 64 terms added into a running total),
// which keeps float32 accuracy on reductions of tens of thousands of terms.
import type { GpuContext } from '../../gpu/context.js';
import type { Dispatch, Grid } from '../../gpu/dispatch.js';
import { Uniforms, linearGrid, makeDispatch, runToNewTensor } from '../../gpu/dispatch.js';
import type { KernelSpec } from '../../gpu/pipeline-cache.js';
import { type GpuTensor, type Shape, checkBindable, createTensor, shapeString, validateShape } from '../../gpu/tensor.js';
import { adapterClass, lanesFor, pixelBucket } from '../candidates.js';
import { expectRank, expectShape } from '../checks.js';
import { windowUniforms } from '../conv2d/algorithm.js';
import type { Conv2dParams } from '../conv2d/params.js';
import { prepareChunkSum } from '../reduce/reduce.js';
import { type LayerSpace, type TunableLayer, chosenCandidate, layerSpace, tunableLayer } from '../tuning.js';
import { BIAS_GRAD, type Geometry, INPUT_GRAD, WEIGHT_GRAD, geometry } from './geometry.js';
import { type BackwardKernel, type BackwardVariant, backwardCandidates, backwardVariantName } from './variants.js';

// ---------------------------------------------------------------- shared GPU helpers

/** Checks dtype and binding size of every operand, and that `written` aliases none of the others. */
function checkOperands(ctx: GpuContext, kernel: string, operands: Record<string, GpuTensor>, written: string[]): void {
  for (const [name, tensor] of Object.entries(operands)) {
    if (tensor.dtype !== 'f32') throw new Error(`${kernel}: ${name} must be f32, got ${tensor.dtype}`);
    checkBindable(ctx, tensor.byteLength, `${kernel}: ${name} ${shapeString(tensor.shape)}`);
  }
  // WebGPU forbids a buffer bound both read-only and writable in one dispatch.
  for (const w of written) {
    for (const [name, tensor] of Object.entries(operands)) {
      if (name !== w && tensor.buffer === operands[w].buffer) throw new Error(`${kernel}: ${name} and ${w} must be different tensors`);
    }
  }
}

/** Channel blocks in x, tiles in y, spilling into z past the per-dimension cap. */
function tileGrid(ctx: GpuContext, kernel: string, channelBlocks: number, tiles: number): Grid {
  const maxDim = ctx.limits.maxComputeWorkgroupsPerDimension;
  if (channelBlocks > maxDim) throw new Error(`${kernel}: ${channelBlocks} channel blocks exceed the grid limit ${maxDim}`);
  const z = Math.ceil(tiles / maxDim);
  if (z > maxDim) throw new Error(`${kernel}: ${tiles} pixel tiles exceed the grid limit`);
  return [channelBlocks, Math.ceil(tiles / z), z];
}

function describe(p: Conv2dParams, g: Geometry): string {
  return `${g.KH}x${g.KW} s${p.strideH}x${p.strideW} d${p.dilationH}x${p.dilationW} g${p.groups}`;
}


/** Workgroup size of the one-element-per-invocation entry points. */
const SCALAR_WG = 64;

/** The backward GEMMs' candidate spaces (variants.ts); bump when their tiling changes. */
export const BACKWARD_SPACE_VERSION = 1;

/** The tuning store's name of each backward kernel family. */
export const BACKWARD_TUNE_KERNEL: Record<BackwardKernel, string> = { input_grad: 'conv2d_input_grad', weight_grad: 'conv2d_weight_grad' };

/** The channels a backward kernel's lanes cover: input channels (dX) or output channels (dW). */
export function backwardChannels(kernel: BackwardKernel, g: { cin: number; cout: number }): number {
  return kernel === 'input_grad' ? g.cin : g.cout;
}

/** A groups == 1 backward layer's candidates on `ctx`, the adapter class's default first; its key is the forward's shape. */
export function backwardSpace(ctx: GpuContext, kernel: BackwardKernel, g: Geometry, p: Conv2dParams): LayerSpace<BackwardVariant> {
  const shape = `m${pixelBucket(g.N * g.OH * g.OW)}.ci${g.cin}.co${g.cout}.k${g.KH}x${g.KW}.s${p.strideH}.d${p.dilationH}`;
  const variants = backwardCandidates(kernel, backwardChannels(kernel, g), adapterClass(ctx), ctx.kernelLimits);
  return layerSpace(BACKWARD_TUNE_KERNEL[kernel], BACKWARD_SPACE_VERSION, shape, variants.map((v) => ({ name: backwardVariantName(v), variant: v })));
}

/**
 * The variant a groups == 1 backward layer runs on `ctx` (the shaders' plain or SUBGROUPS
 * `main`, on a lane count): the one measured fastest on this adapter for this shape, else the
 * adapter class's default.
 */
export function backwardVariant(ctx: GpuContext, kernel: BackwardKernel, g: Geometry, p: Conv2dParams): BackwardVariant {
  return chosenCandidate(ctx, backwardSpace(ctx, kernel, g, p)).variant;
}

// ---------------------------------------------------------------- input gradient dX

// conv2d_input_grad.wgsl `main`: R input pixels of one stride phase per workgroup, CN channels per lane.
const IG_R = 8;
const IG_CN = 4;

export interface Conv2dInputGradOperands {
  /** dLoss/dY [N, OH, OW, Cout] */
  dOut: GpuTensor;
  /** The forward's weight, HWIO [KH, KW, Cin/groups, Cout]. */
  weight: GpuTensor;
  /** Written: dLoss/dX [N, H, W, Cin] (its shape is the forward input's). */
  dInput: GpuTensor;
}

/** `variant`: the groups == 1 kernel's (default: the context's choice, backwardVariant). */
export function conv2dInputGradSpec(ctx: GpuContext, inputShape: Shape, weightShape: Shape, p: Conv2dParams, variant?: BackwardVariant): KernelSpec {
  const g = geometry(INPUT_GRAD, inputShape, weightShape, p);
  if (p.groups === 1) {
    const v = variant ?? backwardVariant(ctx, 'input_grad', g, p);
    return { shader: v.subgroups ? 'conv2d_input_grad_subgroup.wgsl' : 'conv2d_input_grad.wgsl', constants: { WG: v.lanes } };
  }
  return { shader: 'conv2d_input_grad.wgsl', entryPoint: 'grouped', constants: { WG: SCALAR_WG } };
}

/**
 * dX of conv2d with the forward's params; writes every element of dInput. `variant`: a groups == 1
 * variant to run instead of the context's choice (the tuner's candidates).
 */
export function prepareConv2dInputGrad(ctx: GpuContext, t: Conv2dInputGradOperands, p: Conv2dParams, variant?: BackwardVariant): Dispatch {
  const g = geometry(INPUT_GRAD, t.dInput.shape, t.weight.shape, p, t.dOut.shape);
  checkOperands(ctx, INPUT_GRAD, { dOut: t.dOut, weight: t.weight, dInput: t.dInput }, ['dInput']);
  const v = p.groups === 1 ? (variant ?? backwardVariant(ctx, 'input_grad', g, p)) : undefined;
  const spec = conv2dInputGradSpec(ctx, t.dInput.shape, t.weight.shape, p, v);
  const phaseRows = Math.ceil(g.H / p.strideH);
  const phaseCols = Math.ceil(g.W / p.strideW);
  const blocksPerPhase = Math.ceil((phaseRows * phaseCols) / IG_R);
  const tiles = g.N * p.strideH * p.strideW * blocksPerPhase;
  const total = g.N * g.H * g.W * g.cin;
  const uniforms = windowUniforms(new Uniforms().u32(g.cin).u32(g.cout).u32(g.cinPerGroup).u32(g.coutPerGroup), g, p)
    .u32(phaseRows)
    .u32(phaseCols)
    .u32(blocksPerPhase)
    .u32(tiles)
    .u32(total)
    .u32(IG_R);
  const workgroups =
    p.groups === 1
      ? tileGrid(ctx, INPUT_GRAD, Math.ceil(g.cin / (v!.lanes * IG_CN)), tiles)
      : linearGrid(ctx, total, SCALAR_WG);
  const label = `${INPUT_GRAD}(${describe(p, g)}) ${shapeString(t.dOut.shape)}->${shapeString(t.dInput.shape)}`;
  return makeDispatch(ctx, { label, spec, uniforms, buffers: [t.dOut, t.weight, t.dInput], workgroups });
}

/** Allocates dX and runs once. */
export function conv2dInputGrad(
  ctx: GpuContext,
  dOut: GpuTensor,
  weight: GpuTensor,
  inputShape: Shape,
  p: Conv2dParams,
): Promise<GpuTensor> {
  geometry(INPUT_GRAD, inputShape, weight.shape, p, dOut.shape);
  return runToNewTensor(ctx, inputShape, INPUT_GRAD, (dInput) => prepareConv2dInputGrad(ctx, { dOut, weight, dInput }, p));
}

// ---------------------------------------------------------------- weight gradient dW

// conv2d_weight_grad.wgsl `main`: one tap and RK input channels per workgroup, CN output channels per lane.
const WG_RK = 8;
const WG_CN = 4;
// The lanes the split below is sized for: the default's (variants.ts), whatever variant
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

function weightGradSplit(g: Geometry, p: Conv2dParams, opts: Conv2dWeightGradOptions): Split {
  const M = g.N * g.OH * g.OW;
  const outputs = g.KH * g.KW * g.cinPerGroup * g.cout;
  let chunks: number;
  if (opts.chunks !== undefined) {
    if (!Number.isInteger(opts.chunks) || opts.chunks < 1) {
      throw new Error(`${WEIGHT_GRAD}: options.chunks must be a positive integer, got ${opts.chunks}`);
    }
    chunks = Math.min(opts.chunks, M);
  } else {
    const lanes = splitLanes(g.cout);
    const kTiles = g.KH * g.KW * Math.ceil(g.cinPerGroup / WG_RK);
    const invocations = p.groups === 1 ? kTiles * Math.ceil(g.cout / (lanes * WG_CN)) * lanes : outputs;
    chunks = Math.min(
      Math.ceil(SPLIT_TARGET_INVOCATIONS / invocations),
      Math.ceil(M / SPLIT_MIN_CHUNK),
      SPLIT_MAX_CHUNKS,
      Math.floor(SPLIT_MAX_SCRATCH_FLOATS / outputs),
    );
    chunks = Math.max(1, chunks);
  }
  const chunkLen = Math.ceil(M / chunks);
  // Recounted so no chunk is empty.
  return { chunks: Math.ceil(M / chunkLen), chunkLen };
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
  const g = geometry(WEIGHT_GRAD, inputShape, weightShape, p);
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

/** `variant`: the groups == 1 kernel's (default: the context's choice, backwardVariant). */
export function conv2dWeightGradSpec(ctx: GpuContext, inputShape: Shape, weightShape: Shape, p: Conv2dParams, variant?: BackwardVariant): KernelSpec {
  const g = geometry(WEIGHT_GRAD, inputShape, weightShape, p);
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
  const g = geometry(WEIGHT_GRAD, t.input.shape, t.dWeight.shape, p, t.dOut.shape);
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
  const label = `${WEIGHT_GRAD}(${describe(p, g)}, ${chunks} chunks) ${shapeString(t.input.shape)}->${shapeString(t.dWeight.shape)}`;
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
  geometry(WEIGHT_GRAD, input.shape, weightShape, p, dOut.shape);
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

// ---------------------------------------------------------------- bias gradient db

/** Channels per workgroup; must match TC in conv2d_bias_grad.wgsl. */
const BIAS_CHANNEL_BLOCK = 16;

export function conv2dBiasGradSpec(): KernelSpec {
  return { shader: 'conv2d_bias_grad.wgsl' };
}

/** db = dY summed over N, OH, OW: dOut [N, OH, OW, Cout] -> dBias [Cout]. */
export function prepareConv2dBiasGrad(ctx: GpuContext, t: { dOut: GpuTensor; dBias: GpuTensor }): Dispatch {
  expectRank(t.dOut.shape, 4, BIAS_GRAD, 'dOut');
  validateShape(t.dOut.shape, `${BIAS_GRAD}: dOut`);
  const [N, OH, OW, cout] = t.dOut.shape;
  expectShape(t.dBias.shape, [cout], BIAS_GRAD, 'dBias');
  checkOperands(ctx, BIAS_GRAD, { dOut: t.dOut, dBias: t.dBias }, ['dBias']);
  const blocks = Math.ceil(cout / BIAS_CHANNEL_BLOCK);
  return makeDispatch(ctx, {
    label: `${BIAS_GRAD} ${shapeString(t.dOut.shape)}`,
    spec: conv2dBiasGradSpec(),
    uniforms: new Uniforms().u32(N * OH * OW).u32(cout).u32(blocks),
    buffers: [t.dOut, t.dBias],
    // One workgroup per channel block; linearGrid with 1 "thread" per group spills into y.
    workgroups: linearGrid(ctx, blocks, 1),
  });
}

/** Allocates db and runs once. */
export function conv2dBiasGrad(ctx: GpuContext, dOut: GpuTensor): Promise<GpuTensor> {
  expectRank(dOut.shape, 4, BIAS_GRAD, 'dOut');
  return runToNewTensor(ctx, [dOut.shape[3]], BIAS_GRAD, (dBias) => prepareConv2dBiasGrad(ctx, { dOut, dBias }));
}

// ---------------------------------------------------------------- tuning

/**
 * A groups == 1 backward layer's candidates as the tuner times them (dX: dOut, weight -> dInput;
 * dW: input, dOut -> dWeight and the reduction's scratch), or null for grouped layers.
 */
export function conv2dBackwardTunable(ctx: GpuContext, kernel: BackwardKernel, inputShape: Shape, weightShape: Shape, attrs: Conv2dParams): TunableLayer | null {
  if (attrs.groups !== 1) return null;
  const p = { ...attrs, activation: 'none' as const };
  const g = geometry(kernel === 'input_grad' ? INPUT_GRAD : WEIGHT_GRAD, inputShape, weightShape, p);
  const space = backwardSpace(ctx, kernel, g, p);
  const dOut = { shape: [g.N, g.OH, g.OW, g.cout], fill: true };
  if (kernel === 'input_grad') {
    return tunableLayer(space, [dOut, { shape: [...weightShape], fill: true }, { shape: [...inputShape], fill: false }], (ctx, [dOut, weight, dInput], v) => [
      prepareConv2dInputGrad(ctx, { dOut, weight, dInput }, p, v),
    ]);
  }
  const scratch = conv2dWeightGradScratchShape(inputShape, weightShape, p);
  const operands = [{ shape: [...inputShape], fill: true }, dOut, { shape: [...weightShape], fill: false }, ...(scratch ? [{ shape: scratch, fill: false }] : [])];
  return tunableLayer(space, operands, (ctx, [input, dOut, dWeight, scratch], v) => prepareConv2dWeightGrad(ctx, { input, dOut, dWeight, scratch }, p, { variant: v }));
}
