// Batch norm in training mode (PyTorch's nn.BatchNorm2d in train()) and the gradients of batch
// norm in both modes, over the last (channel) axis of NHWC tensors.
//   forward: batch mean and biased variance over N*H*W (two passes: the mean first, then the
//     squared deviations, for accuracy), y = (x - mean) / sqrt(var + eps) * gamma + beta, and
//     the running statistics updated in place with momentum m (unbiased variance, as PyTorch);
//   backward (train): dx = gamma * invstd / M * (M dy - sum dy - xhat * sum(dy * xhat));
//   backward (frozen: running statistics, the usual choice for small batches):
//     dx = dy * gamma * invstd; both: dgamma = sum(dy * xhat), dbeta = sum dy.
// Sums are chunked reductions (src/kernels/reduce/reduce.ts), no atomics.
import type { GpuContext } from '../../gpu/context.js';
import type { Dispatch } from '../../gpu/dispatch.js';
import { Uniforms, linearGrid, makeDispatch } from '../../gpu/dispatch.js';
import type { KernelSpec } from '../../gpu/pipeline-cache.js';
import { GpuTensor, type Shape, numel, shapeString } from '../../gpu/tensor.js';
import { batchNormSpec, prepareBatchNorm } from './batchnorm.js';
import { expectShape } from '../checks.js';
import { chunkPlan, chunkSumSpec, prepareChunkSum } from '../reduce/reduce.js';

const REDUCE_WG = 64;
const FINAL_WG = 64;
const GRAD_WG = 256;

export interface BatchNormTrainParams {
  eps: number;
  /** PyTorch's momentum: the weight of the new batch statistic (0.1 by default there). */
  momentum: number;
}

export type BatchNormGradMode = 'train' | 'frozen';

function channelsAndRows(shape: Shape): { C: number; rows: number } {
  const C = shape[shape.length - 1];
  return { C, rows: numel(shape) / C };
}

/** Scratch of the chunked sums: `partial` (the backward needs two per channel) and `sums`. */
export function batchNormScratchShapes(shape: Shape): { partial: number[]; sums: number[] } {
  const { C, rows } = channelsAndRows(shape);
  const { chunks } = chunkPlan(rows, 2 * C);
  return { partial: [chunks * 2 * C], sums: [2 * C] };
}

export function batchNormTrainSpecs(): KernelSpec[] {
  const reduce: KernelSpec[] = [0, 1].map((MODE) => ({ shader: 'channel_sums.wgsl', constants: { MODE, WG: REDUCE_WG } }));
  const finalize: KernelSpec[] = [0, 1].map((MODE) => ({ shader: 'bn_finalize.wgsl', constants: { MODE, WG: FINAL_WG } }));
  return [...reduce, ...finalize, chunkSumSpec(), batchNormSpec({ eps: 0 })];
}

export function batchNormGradSpecs(mode: BatchNormGradMode): KernelSpec[] {
  return [
    { shader: 'channel_sums.wgsl', constants: { MODE: 2, WG: REDUCE_WG } },
    chunkSumSpec(),
    { shader: 'bn_grad_input.wgsl', constants: { MODE: mode === 'train' ? 1 : 0, WG: GRAD_WG } },
    PARAM_GRADS_SPEC,
  ];
}

/** dgamma and dbeta from the sums: apart from dx, so that no kernel binds more than 8 storage buffers (WebGPU's default limit). */
const PARAM_GRADS_SPEC: KernelSpec = { shader: 'bn_param_grads.wgsl', constants: { WG: FINAL_WG } };

function reduceDispatch(ctx: GpuContext, mode: number, t: { x: GpuTensor; dy?: GpuTensor; mean?: GpuTensor; partial: GpuTensor }, outsPerChannel: number): { dispatch: Dispatch; chunks: number } {
  const { C, rows } = channelsAndRows(t.x.shape);
  const plan = chunkPlan(rows, 2 * C);
  if (t.partial.size < plan.chunks * outsPerChannel * C) throw new Error(`batchNorm: scratch partial too small (${t.partial.size})`);
  return {
    chunks: plan.chunks,
    dispatch: makeDispatch(ctx, {
      label: `batchNorm sums (mode ${mode}) ${shapeString(t.x.shape)}`,
      spec: { shader: 'channel_sums.wgsl', constants: { MODE: mode, WG: REDUCE_WG } },
      uniforms: new Uniforms().u32(plan.chunks * C).u32(C).u32(rows).u32(plan.chunkLen),
      // Unused operands of a mode are bound to x (read-only twice is allowed).
      buffers: [t.x, t.dy ?? t.x, t.mean ?? t.x, t.partial],
      workgroups: linearGrid(ctx, plan.chunks * C, REDUCE_WG),
    }),
  };
}

export interface BatchNormTrainTensors {
  x: GpuTensor;
  gamma: GpuTensor;
  beta: GpuTensor;
  /** Updated in place. */
  runningMean: GpuTensor;
  runningVar: GpuTensor;
  y: GpuTensor;
  /** [C] outputs: the batch mean and biased variance (the backward reads them). */
  mean: GpuTensor;
  variance: GpuTensor;
  /** batchNormScratchShapes. */
  partial: GpuTensor;
  sums: GpuTensor;
}

export function prepareBatchNormTrain(ctx: GpuContext, t: BatchNormTrainTensors, p: BatchNormTrainParams): Dispatch[] {
  const { C, rows } = channelsAndRows(t.x.shape);
  for (const [name, v] of [['gamma', t.gamma], ['beta', t.beta], ['runningMean', t.runningMean], ['runningVar', t.runningVar], ['mean', t.mean], ['variance', t.variance]] as const) {
    expectShape(v.shape, [C], 'batchNormTrain', name);
  }
  expectShape(t.y.shape, t.x.shape, 'batchNormTrain', 'y');
  if (!(p.momentum >= 0 && p.momentum <= 1)) throw new Error(`batchNormTrain: momentum must be in [0, 1], got ${p.momentum}`);
  // The forward's sums use the first C entries of the [2C] scratch.
  const sumsC = new GpuTensor(ctx, t.sums.buffer, [C], 'f32', 'borrowed', t.sums.byteOffset);
  const finalize = (mode: number, out: GpuTensor): Dispatch =>
    makeDispatch(ctx, {
      label: `batchNorm ${mode === 0 ? 'mean' : 'variance + running statistics'} ${shapeString(t.x.shape)}`,
      spec: { shader: 'bn_finalize.wgsl', constants: { MODE: mode, WG: FINAL_WG } },
      uniforms: new Uniforms().u32(C).u32(rows).f32(p.momentum),
      buffers: [t.sums, mode === 0 ? t.sums : t.mean, out, t.runningMean, t.runningVar],
      workgroups: [Math.ceil(C / FINAL_WG), 1, 1],
    });
  const first = reduceDispatch(ctx, 0, { x: t.x, partial: t.partial }, 1);
  const second = reduceDispatch(ctx, 1, { x: t.x, mean: t.mean, partial: t.partial }, 1);
  return [
    first.dispatch,
    prepareChunkSum(ctx, { partial: t.partial, out: sumsC }, first.chunks),
    finalize(0, t.mean),
    second.dispatch,
    prepareChunkSum(ctx, { partial: t.partial, out: sumsC }, second.chunks),
    finalize(1, t.variance),
    prepareBatchNorm(ctx, { input: t.x, gamma: t.gamma, beta: t.beta, mean: t.mean, variance: t.variance, out: t.y }, { eps: p.eps }),
  ];
}

export interface BatchNormGradTensors {
  x: GpuTensor;
  dy: GpuTensor;
  gamma: GpuTensor;
  /** The statistics the forward normalised with: batch (train) or running (frozen). */
  mean: GpuTensor;
  variance: GpuTensor;
  partial: GpuTensor;
  sums: GpuTensor;
  dx: GpuTensor;
  dgamma: GpuTensor;
  dbeta: GpuTensor;
}

export function prepareBatchNormGrad(ctx: GpuContext, t: BatchNormGradTensors, eps: number, mode: BatchNormGradMode): Dispatch[] {
  const { C, rows } = channelsAndRows(t.x.shape);
  expectShape(t.dy.shape, t.x.shape, 'batchNormGrad', 'dy');
  expectShape(t.dx.shape, t.x.shape, 'batchNormGrad', 'dx');
  for (const [name, v] of [['gamma', t.gamma], ['mean', t.mean], ['variance', t.variance], ['dgamma', t.dgamma], ['dbeta', t.dbeta]] as const) {
    expectShape(v.shape, [C], 'batchNormGrad', name);
  }
  expectShape(t.sums.shape, [2 * C], 'batchNormGrad', 'sums');
  const r = reduceDispatch(ctx, 2, { x: t.x, dy: t.dy, mean: t.mean, partial: t.partial }, 2);
  return [
    r.dispatch,
    prepareChunkSum(ctx, { partial: t.partial, out: t.sums }, r.chunks),
    makeDispatch(ctx, {
      label: `batchNormGrad(${mode}) ${shapeString(t.x.shape)}`,
      spec: { shader: 'bn_grad_input.wgsl', constants: { MODE: mode === 'train' ? 1 : 0, WG: GRAD_WG } },
      uniforms: new Uniforms().u32(t.x.size).u32(C).u32(rows).f32(eps),
      buffers: [t.x, t.dy, t.gamma, t.mean, t.variance, t.sums, t.dx],
      workgroups: linearGrid(ctx, t.x.size, GRAD_WG),
    }),
    makeDispatch(ctx, {
      label: `batchNormParamGrads ${C}`,
      spec: PARAM_GRADS_SPEC,
      uniforms: new Uniforms().u32(C).f32(eps),
      buffers: [t.variance, t.sums, t.dgamma, t.dbeta],
      workgroups: linearGrid(ctx, C, FINAL_WG),
    }),
  ];
}

// ---------------------------------------------------------------- CPU references (float64 inside)

export interface BatchNormTrainResult<T> {
  y: T;
  mean: Float64Array;
  variance: Float64Array;
  runningMean: Float64Array;
  runningVar: Float64Array;
}

export function batchNormTrainCpu<T extends Float32Array | Float64Array>(
  x: T,
  shape: Shape,
  gamma: ArrayLike<number>,
  beta: ArrayLike<number>,
  runningMean: ArrayLike<number>,
  runningVar: ArrayLike<number>,
  p: BatchNormTrainParams,
): BatchNormTrainResult<T> {
  const { C, rows } = channelsAndRows(shape);
  const mean = new Float64Array(C);
  const variance = new Float64Array(C);
  for (let i = 0; i < x.length; i++) mean[i % C] += x[i];
  for (let c = 0; c < C; c++) mean[c] /= rows;
  for (let i = 0; i < x.length; i++) variance[i % C] += (x[i] - mean[i % C]) ** 2;
  for (let c = 0; c < C; c++) variance[c] /= rows;
  const y = new (x.constructor as { new (n: number): T })(x.length);
  for (let i = 0; i < x.length; i++) {
    const c = i % C;
    y[i] = ((x[i] - mean[c]) / Math.sqrt(variance[c] + p.eps)) * gamma[c] + beta[c];
  }
  const m = p.momentum;
  const rm = Float64Array.from({ length: C }, (_, c) => (1 - m) * runningMean[c] + m * mean[c]);
  const rv = Float64Array.from({ length: C }, (_, c) => (1 - m) * runningVar[c] + (m * variance[c] * rows) / Math.max(rows - 1, 1));
  return { y, mean, variance, runningMean: rm, runningVar: rv };
}

export function batchNormGradCpu<T extends Float32Array | Float64Array>(
  x: T,
  dy: T,
  shape: Shape,
  gamma: ArrayLike<number>,
  mean: ArrayLike<number>,
  variance: ArrayLike<number>,
  eps: number,
  mode: BatchNormGradMode,
): { dx: T; dgamma: Float64Array; dbeta: Float64Array } {
  const { C, rows } = channelsAndRows(shape);
  const invstd = Float64Array.from({ length: C }, (_, c) => 1 / Math.sqrt(variance[c] + eps));
  const dbeta = new Float64Array(C);
  const dgamma = new Float64Array(C);
  for (let i = 0; i < x.length; i++) {
    const c = i % C;
    dbeta[c] += dy[i];
    dgamma[c] += dy[i] * (x[i] - mean[c]) * invstd[c];
  }
  const dx = new (x.constructor as { new (n: number): T })(x.length);
  for (let i = 0; i < x.length; i++) {
    const c = i % C;
    if (mode === 'frozen') dx[i] = dy[i] * gamma[c] * invstd[c];
    else {
      const xhat = (x[i] - mean[c]) * invstd[c];
      dx[i] = ((gamma[c] * invstd[c]) / rows) * (rows * dy[i] - dbeta[c] - xhat * dgamma[c]);
    }
  }
  return { dx, dgamma, dbeta };
}
