// Inference batch norm as its own op, normalising the last (channel) axis with running
// statistics; optionally followed by an activation. Deployment graphs fold BN into the
// convolution instead; this op serves graphs that keep BN separate (training checkpoints).
import type { GpuContext } from '../../gpu/context.js';
import type { Dispatch } from '../../gpu/dispatch.js';
import { Uniforms, linearGrid, makeDispatch, runToNewTensor } from '../../gpu/dispatch.js';
import type { KernelSpec } from '../../gpu/pipeline-cache.js';
import { type GpuTensor, type Shape, numel, shapeString, validateShape } from '../../gpu/tensor.js';
import { type Activation, activateCpu, activationCode } from '../activation/activation.js';
import { expectShape } from '../checks.js';
import { type FloatArray, zerosLike } from '../cpu-arrays.js';

export interface BatchNormParams {
  eps: number;
  activation?: Activation;
}

/** Per-channel statistics; each holds C values (shape [C], or [1,1,1,C]). */
export interface BatchNormStats<T> {
  gamma: T;
  beta: T;
  mean: T;
  variance: T;
}

const WG = 256;
const STAT_NAMES = ['gamma', 'beta', 'mean', 'variance'] as const;

function validateParams(p: BatchNormParams): void {
  if (!Number.isFinite(p.eps) || p.eps < 0) throw new Error(`batchNorm: eps must be a finite number >= 0, got ${p.eps}`);
  activationCode(p.activation ?? 'none');
}

/** Checks the input and that every statistic holds exactly C = input's last axis values. */
function validateShapes(input: Shape, stats: BatchNormStats<Shape>): void {
  validateShape(input, 'batchNorm: input');
  const C = input[input.length - 1];
  for (const name of STAT_NAMES) {
    const s = stats[name];
    if (s.length === 0 || numel(s) !== C || s[s.length - 1] !== C) {
      throw new Error(
        `batchNorm: ${name} has shape ${shapeString(s)}, expected [${C}] (C of input ${shapeString(input)})`,
      );
    }
  }
}

export function batchNormSpec(p: BatchNormParams): KernelSpec {
  return { shader: 'batchnorm.wgsl', constants: { ACTIVATION: activationCode(p.activation ?? 'none'), WG } };
}

/** Same shape as the input. */
export function batchNormOutputShape(shape: Shape): number[] {
  validateShape(shape, 'batchNorm: input');
  return [...shape];
}

export function prepareBatchNorm(
  ctx: GpuContext,
  t: { input: GpuTensor; gamma: GpuTensor; beta: GpuTensor; mean: GpuTensor; variance: GpuTensor; out: GpuTensor },
  p: BatchNormParams,
): Dispatch {
  validateParams(p);
  validateShapes(t.input.shape, { gamma: t.gamma.shape, beta: t.beta.shape, mean: t.mean.shape, variance: t.variance.shape });
  expectShape(t.out.shape, t.input.shape, 'batchNorm', 'out');
  const C = t.input.shape[t.input.shape.length - 1];
  return makeDispatch(ctx, {
    label: `batchNorm(${p.activation ?? 'none'}) ${shapeString(t.input.shape)}`,
    spec: batchNormSpec(p),
    uniforms: new Uniforms().u32(t.input.size).u32(C).f32(p.eps),
    buffers: [t.input, t.gamma, t.beta, t.mean, t.variance, t.out],
    workgroups: linearGrid(ctx, t.input.size, WG),
  });
}

export function batchNorm(
  ctx: GpuContext,
  input: GpuTensor,
  stats: BatchNormStats<GpuTensor>,
  p: BatchNormParams,
): Promise<GpuTensor> {
  return runToNewTensor(ctx, batchNormOutputShape(input.shape), `batchNorm(${p.activation ?? 'none'})`, (out) =>
    prepareBatchNorm(ctx, { input, ...stats, out }, p),
  );
}

/** CPU reference: activate((x - mean) / sqrt(variance + eps) * gamma + beta) per channel. */
export function batchNormCpu<T extends FloatArray>(
  x: T,
  shape: Shape,
  stats: BatchNormStats<FloatArray>,
  p: BatchNormParams,
): T {
  validateParams(p);
  const C = shape[shape.length - 1];
  validateShapes(shape, { gamma: [stats.gamma.length], beta: [stats.beta.length], mean: [stats.mean.length], variance: [stats.variance.length] });
  const act = p.activation ?? 'none';
  const out = zerosLike(x, x.length);
  for (let i = 0; i < x.length; i++) {
    const c = i % C;
    const normalised = (x[i] - stats.mean[c]) / Math.sqrt(stats.variance[c] + p.eps);
    out[i] = activateCpu(normalised * stats.gamma[c] + stats.beta[c], act);
  }
  return out;
}
