// Backward kernels of conv2d (src/kernels/conv2d.ts): the gradients of the bare convolution
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
import { type GpuTensor, type Shape, checkBindable, createTensor, numel, shapeString, validateShape } from '../../gpu/tensor.js';
import { expectRank, expectShape } from '../checks.js';
import { type Conv2dParams, conv2dOutputShape } from '../conv2d/conv2d.js';
import { type FloatArray, zerosLike } from '../cpu-arrays.js';
import { prepareChunkSum } from '../reduce/reduce.js';
import {
  type BackwardKernel,
  type BackwardVariant,
  backwardCandidates,
  backwardShapeKey,
  backwardVariantName,
  defaultBackwardVariant,
  lanesFor,
  parseBackwardVariant,
} from '../conv2d/conv2d-variants.js';
import { candidateChecksum } from '../../gpu/tuning.js';

const INPUT_GRAD = 'conv2dInputGrad';
const WEIGHT_GRAD = 'conv2dWeightGrad';
const BIAS_GRAD = 'conv2dBiasGrad';

/** Everything the backward kernels need, derived from validated shapes. */
interface Geometry {
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

/**
 * Validates the forward's input / weight shapes and params (the forward's checks, reported under
 * the backward kernel's name) and, when given, that dY has the forward's output shape.
 */
function geometry(kernel: string, inputShape: Shape, weightShape: Shape, p: Conv2dParams, dOutShape?: Shape): Geometry {
  if (p.activation !== undefined && p.activation !== 'none') {
    throw new Error(
      `${kernel}: params.activation is '${p.activation}'; the backward kernels differentiate the bare convolution ` +
        `(apply the activation's derivative to dOut first and pass activation 'none')`,
    );
  }
  let outShape: number[];
  try {
    outShape = conv2dOutputShape(inputShape, weightShape, p);
  } catch (e) {
    throw new Error(`${kernel}: ${(e as Error).message}`);
  }
  if (dOutShape) expectShape(dOutShape, outShape, kernel, 'dOut (the forward output shape)');
  const [N, H, W, cin] = inputShape;
  const [KH, KW, cinPerGroup, cout] = weightShape;
  const [, OH, OW] = outShape;
  return { N, H, W, cin, KH, KW, cout, OH, OW, cinPerGroup, coutPerGroup: cout / p.groups };
}

function expectLength(kernel: string, what: string, a: ArrayLike<number>, n: number): void {
  if (a.length !== n) throw new Error(`${kernel}: ${what} has ${a.length} values, expected ${n}`);
}

/**
 * Visits every (output element, tap, input channel) product of the forward convolution that
 * reads a real (non-padding) input element: `visit(inputIndex, weightIndex, outputIndex)`.
 * The CPU references below are this loop with the products scattered the other way.
 */
function forEachProduct(g: Geometry, p: Conv2dParams, visit: (x: number, w: number, y: number) => void): void {
  const { N, H, W, cin, KH, KW, cout, OH, OW, cinPerGroup, coutPerGroup } = g;
  for (let n = 0; n < N; n++) {
    for (let oh = 0; oh < OH; oh++) {
      for (let ow = 0; ow < OW; ow++) {
        const y0 = ((n * OH + oh) * OW + ow) * cout;
        for (let kh = 0; kh < KH; kh++) {
          const ih = oh * p.strideH - p.padTop + kh * p.dilationH;
          if (ih < 0 || ih >= H) continue;
          for (let kw = 0; kw < KW; kw++) {
            const iw = ow * p.strideW - p.padLeft + kw * p.dilationW;
            if (iw < 0 || iw >= W) continue;
            const x0 = ((n * H + ih) * W + iw) * cin;
            for (let co = 0; co < cout; co++) {
              const ciBase = Math.floor(co / coutPerGroup) * cinPerGroup;
              for (let ci = 0; ci < cinPerGroup; ci++) {
                visit(x0 + ciBase + ci, ((kh * KW + kw) * cinPerGroup + ci) * cout + co, y0 + co);
              }
            }
          }
        }
      }
    }
  }
}

/**
 * CPU reference for dX [N, H, W, Cin] from dY [N, OH, OW, Cout] and the weight: each forward
 * product x * w that fed y adds w * dY[y] to dX[x]. Accumulated in float64; returns dOut's kind.
 */
export function conv2dInputGradCpu<T extends FloatArray>(
  dOut: T,
  dOutShape: Shape,
  weight: FloatArray,
  weightShape: Shape,
  inputShape: Shape,
  p: Conv2dParams,
): T {
  const g = geometry(INPUT_GRAD, inputShape, weightShape, p, dOutShape);
  expectLength(INPUT_GRAD, 'dOut', dOut, numel(dOutShape));
  expectLength(INPUT_GRAD, 'weight', weight, numel(weightShape));
  const acc = new Float64Array(numel(inputShape));
  forEachProduct(g, p, (x, w, y) => {
    acc[x] += weight[w] * dOut[y];
  });
  const out = zerosLike(dOut, acc.length);
  out.set(acc);
  return out;
}

/**
 * CPU reference for dW [KH, KW, Cin/groups, Cout] from the forward input X and dY: each forward
 * product x * w that fed y adds X[x] * dY[y] to dW[w]. Float64 accumulation; returns input's kind.
 */
export function conv2dWeightGradCpu<T extends FloatArray>(
  input: T,
  inputShape: Shape,
  dOut: FloatArray,
  dOutShape: Shape,
  weightShape: Shape,
  p: Conv2dParams,
): T {
  const g = geometry(WEIGHT_GRAD, inputShape, weightShape, p, dOutShape);
  expectLength(WEIGHT_GRAD, 'input', input, numel(inputShape));
  expectLength(WEIGHT_GRAD, 'dOut', dOut, numel(dOutShape));
  const acc = new Float64Array(numel(weightShape));
  forEachProduct(g, p, (x, w, y) => {
    acc[w] += input[x] * dOut[y];
  });
  const out = zerosLike(input, acc.length);
  out.set(acc);
  return out;
}

/** CPU reference for db [Cout]: dY summed over N, OH, OW in float64; returns dOut's kind. */
export function conv2dBiasGradCpu<T extends FloatArray>(dOut: T, dOutShape: Shape): T {
  expectRank(dOutShape, 4, BIAS_GRAD, 'dOut');
  expectLength(BIAS_GRAD, 'dOut', dOut, numel(dOutShape));
  const cout = dOutShape[3];
  const acc = new Float64Array(cout);
  for (let i = 0; i < dOut.length; i++) acc[i % cout] += dOut[i];
  const out = zerosLike(dOut, cout);
  out.set(acc);
  return out;
}

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

/** The window fields both conv backward params structs share, in their order. */
function windowUniforms(u: Uniforms, g: Geometry, p: Conv2dParams): Uniforms {
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

/** Workgroup size of the one-element-per-invocation entry points. */
const SCALAR_WG = 64;

/** The backward GEMMs' candidate spaces (conv2d-variants.ts); bump when their tiling changes. */
export const BACKWARD_SPACE_VERSION = 1;

/** The tuning store's name of each backward kernel family. */
export const BACKWARD_TUNE_KERNEL: Record<BackwardKernel, string> = { input_grad: 'conv2d_input_grad', weight_grad: 'conv2d_weight_grad' };

/** The channels a backward kernel's lanes cover: input channels (dX) or output channels (dW). */
export function backwardChannels(kernel: BackwardKernel, g: { cin: number; cout: number }): number {
  return kernel === 'input_grad' ? g.cin : g.cout;
}

/**
 * The variant a groups == 1 backward layer runs on `ctx` (the shaders' plain or SUBGROUPS
 * `main`, on a lane count): the one measured fastest on this adapter for this shape, else the
 * adapter class's default (conv2d-variants.ts).
 */
export function backwardVariant(ctx: GpuContext, kernel: BackwardKernel, g: Geometry, p: Conv2dParams): BackwardVariant {
  const cls = ctx.isSoftware ? 'software' : 'gpu';
  const channels = backwardChannels(kernel, g);
  if (ctx.tuning.mode !== 'off') {
    const names = backwardCandidates(kernel, channels, cls, ctx.kernelLimits).map(backwardVariantName);
    const name = ctx.tuning.choice(BACKWARD_TUNE_KERNEL[kernel], backwardShapeKey(g, p.strideH, p.dilationH), candidateChecksum(BACKWARD_SPACE_VERSION, names));
    if (name && names.includes(name)) return parseBackwardVariant(name)!;
  }
  return defaultBackwardVariant(kernel, channels, cls, ctx.kernelLimits);
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
// The lanes the split below is sized for: the default's (conv2d-variants.ts), whatever variant
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
