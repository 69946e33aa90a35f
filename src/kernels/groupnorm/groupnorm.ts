// Group normalisation with one group (nn.GroupNorm(1, C), MobileViTV2's "layer norm"): each
// batch item of an NHWC map normalised over all its values (H, W and C) with the biased
// variance, then scaled and shifted per channel: y = (x - mean) / sqrt(var + eps) * gamma[c] +
// beta[c]; and its gradients with respect to x, gamma and beta. Each item's statistics are
// reduced by one workgroup into a scratch buffer the first dispatch owns.
import type { GpuContext } from '../../gpu/context.js';
import { STORAGE_USAGE } from '../../gpu/buffer-pool.js';
import type { Dispatch } from '../../gpu/dispatch.js';
import { Uniforms, disposeDispatch, linearGrid, makeDispatch, runToNewTensor } from '../../gpu/dispatch.js';
import type { KernelSpec } from '../../gpu/pipeline-cache.js';
import { type GpuTensor, type Shape, numel, shapeString, validateShape } from '../../gpu/tensor.js';
import { expectRank, expectShape } from '../checks.js';
import type { FloatArray } from '../cpu-arrays.js';
import { checkEps, checkLengths, normalizeGroupsCpu, normalizeGroupsGradCpu } from '../normalization-cpu.js';

/** Lanes of the elementwise passes. */
const WG = 256;
/** Lanes of the parameter gradients' workgroups; layernorm_grad_params.wgsl's const WG is the same. */
const PARAMS_WG = 64;

export interface GroupNormParams {
  /** Added to the variance (nn.GroupNorm's eps; MobileViTV2's config calls it layer_norm_eps). */
  eps: number;
}

/** Items (the batch), values per item and channels, checking the map. */
function geometry(shape: Shape, kernel: string): { items: number; count: number; channels: number } {
  expectRank(shape, 4, kernel, 'input');
  validateShape(shape, `${kernel}: input`);
  return { items: shape[0], count: numel(shape) / shape[0], channels: shape[3] };
}

/** A scratch buffer of `floats` f32 values for one dispatch to own. */
function scratch(ctx: GpuContext, floats: number, label: string): GPUBuffer {
  return ctx.createBuffer(floats * 4, STORAGE_USAGE, `${label}:stats`);
}

export function groupNormSpecs(): KernelSpec[] {
  return [{ shader: 'groupnorm_stats.wgsl' }, { shader: 'groupnorm.wgsl', constants: { WG } }];
}

/** Two dispatches: each item's mean and rstd, then the normalised, scaled and shifted output. */
export function prepareGroupNorm(ctx: GpuContext, t: { input: GpuTensor; gamma: GpuTensor; beta: GpuTensor; out: GpuTensor }, p: GroupNormParams): Dispatch[] {
  const { items, count, channels } = geometry(t.input.shape, 'groupNorm');
  checkEps(p.eps, 'groupNorm');
  expectShape(t.gamma.shape, [channels], 'groupNorm', 'gamma');
  expectShape(t.beta.shape, [channels], 'groupNorm', 'beta');
  expectShape(t.out.shape, t.input.shape, 'groupNorm', 'out');
  const label = `groupNorm ${shapeString(t.input.shape)}`;
  const [statsSpec, applySpec] = groupNormSpecs();
  const stats = scratch(ctx, items * 2, label);
  let first: Dispatch | undefined;
  try {
    first = makeDispatch(ctx, {
      label: `${label} statistics`,
      spec: statsSpec,
      uniforms: new Uniforms().u32(items).u32(count).f32(p.eps),
      buffers: [t.input, stats],
      // One workgroup per item (linearGrid with one "thread" a group spills into y).
      workgroups: linearGrid(ctx, items, 1),
    });
    const apply = makeDispatch(ctx, {
      label,
      spec: applySpec,
      uniforms: new Uniforms().u32(t.input.size).u32(count).u32(channels),
      buffers: [t.input, t.gamma, t.beta, stats, t.out],
      workgroups: linearGrid(ctx, t.input.size, WG),
    });
    return [{ ...first, ownedBuffers: [stats] }, apply];
  } catch (e) {
    if (first) disposeDispatch(ctx, first);
    ctx.destroyBuffer(stats);
    throw e;
  }
}

export function groupNorm(ctx: GpuContext, input: GpuTensor, gamma: GpuTensor, beta: GpuTensor, p: GroupNormParams): Promise<GpuTensor> {
  return runToNewTensor(ctx, input.shape, 'groupNorm', (out) => prepareGroupNorm(ctx, { input, gamma, beta, out }, p));
}

/** CPU reference; float64 in, float64 out (and float32 likewise). */
export function groupNormCpu<T extends FloatArray>(x: T, shape: Shape, gamma: FloatArray, beta: FloatArray, p: GroupNormParams): T {
  const { count, channels: C } = geometry(shape, 'groupNorm');
  checkEps(p.eps, 'groupNorm');
  checkLengths('groupNorm', shape, C, { x, gamma, beta }, ['gamma', 'beta']);
  return normalizeGroupsCpu(x, count, C, gamma, beta, p.eps);
}

// ---------------------------------------------------------------- gradients

export function groupNormGradSpecs(): KernelSpec[] {
  return [{ shader: 'groupnorm_grad_stats.wgsl' }, { shader: 'groupnorm_grad_input.wgsl', constants: { WG } }, { shader: 'layernorm_grad_params.wgsl' }];
}

export interface GroupNormGradTensors {
  x: GpuTensor;
  gamma: GpuTensor;
  dy: GpuTensor;
  dx: GpuTensor;
  dgamma: GpuTensor;
  dbeta: GpuTensor;
}

/** Three dispatches: each item's statistics and means of the gradient, dx, then dgamma and dbeta summed over every pixel. */
export function prepareGroupNormGrad(ctx: GpuContext, t: GroupNormGradTensors, p: GroupNormParams): Dispatch[] {
  const { items, count, channels } = geometry(t.x.shape, 'groupNormGrad');
  checkEps(p.eps, 'groupNormGrad');
  for (const name of ['dy', 'dx'] as const) expectShape(t[name].shape, t.x.shape, 'groupNormGrad', name);
  for (const name of ['gamma', 'dgamma', 'dbeta'] as const) expectShape(t[name].shape, [channels], 'groupNormGrad', name);
  const label = `groupNormGrad ${shapeString(t.x.shape)}`;
  const [statsSpec, inputSpec, paramsSpec] = groupNormGradSpecs();
  const stats = scratch(ctx, items * 4, label);
  const made: Dispatch[] = [];
  try {
    made.push(
      makeDispatch(ctx, {
        label: `${label} statistics`,
        spec: statsSpec,
        uniforms: new Uniforms().u32(items).u32(count).u32(channels).f32(p.eps),
        buffers: [t.x, t.gamma, t.dy, stats],
        workgroups: linearGrid(ctx, items, 1),
      }),
    );
    made.push(
      makeDispatch(ctx, {
        label: `${label} input`,
        spec: inputSpec,
        uniforms: new Uniforms().u32(t.x.size).u32(count).u32(channels),
        buffers: [t.x, t.gamma, t.dy, stats, t.dx],
        workgroups: linearGrid(ctx, t.x.size, WG),
      }),
    );
    made.push(
      makeDispatch(ctx, {
        label: `${label} params`,
        spec: paramsSpec,
        // The parameter gradients layer norm's kernel sums, each item a group of four statistics.
        uniforms: new Uniforms().u32(t.x.size / channels).u32(count / channels).u32(channels).u32(4),
        buffers: [t.x, t.dy, stats, t.dgamma, t.dbeta],
        workgroups: linearGrid(ctx, channels * PARAMS_WG, PARAMS_WG),
      }),
    );
    return [{ ...made[0], ownedBuffers: [stats] }, ...made.slice(1)];
  } catch (e) {
    for (const d of made) disposeDispatch(ctx, d);
    ctx.destroyBuffer(stats);
    throw e;
  }
}

/** CPU reference: dx, dgamma, dbeta in the input's precision. */
export function groupNormGradCpu<T extends FloatArray>(x: T, shape: Shape, gamma: FloatArray, dy: FloatArray, p: GroupNormParams): { dx: T; dgamma: T; dbeta: T } {
  const { count, channels: C } = geometry(shape, 'groupNormGrad');
  checkEps(p.eps, 'groupNormGrad');
  checkLengths('groupNormGrad', shape, C, { x, gamma, dy }, ['gamma']);
  return normalizeGroupsGradCpu(x, count, C, gamma, dy, p.eps);
}
