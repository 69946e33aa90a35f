// SGD with momentum and weight decay in PyTorch's semantics (torch.optim.SGD, dampening 0, no
// Nesterov), updating a parameter and its momentum buffer in place. The per-step values come
// from a 4-float tensor the caller rewrites each step: [lr, momentum, weight decay, first],
// first = 1 on the first step (the buffer then starts as the gradient, as PyTorch's does).
import type { GpuContext } from '../../gpu/context.js';
import type { Dispatch } from '../../gpu/dispatch.js';
import { Uniforms, linearGrid, makeDispatch } from '../../gpu/dispatch.js';
import type { KernelSpec } from '../../gpu/pipeline-cache.js';
import { type GpuTensor, shapeString } from '../../gpu/tensor.js';
import { expectShape } from '../checks.js';

const WG = 256;

export interface SgdHyper {
  lr: number;
  momentum: number;
  weightDecay: number;
  /** True on the first step: the momentum buffer starts as the gradient. */
  first: boolean;
}

/** Fixed per parameter group: multipliers of the learning rate and of the weight decay. */
export interface SgdGroup {
  lrScale?: number;
  decayScale?: number;
}

/** The per-step tensor's contents. */
export function sgdHyperData(h: SgdHyper): Float32Array<ArrayBuffer> {
  for (const [k, v] of [['lr', h.lr], ['momentum', h.momentum], ['weight decay', h.weightDecay]] as const) {
    if (!Number.isFinite(v) || v < 0) throw new Error(`sgd: ${k} must be a finite number >= 0, got ${v}`);
  }
  return Float32Array.of(h.lr, h.momentum, h.weightDecay, h.first ? 1 : 0);
}

export function sgdSpec(): KernelSpec {
  return { shader: 'sgd.wgsl', constants: { WG } };
}

export function prepareSgd(
  ctx: GpuContext,
  t: { param: GpuTensor; grad: GpuTensor; momentum: GpuTensor; hyper: GpuTensor },
  g: SgdGroup = {},
): Dispatch {
  expectShape(t.grad.shape, t.param.shape, 'sgd', 'grad');
  expectShape(t.momentum.shape, t.param.shape, 'sgd', 'momentum buffer');
  expectShape(t.hyper.shape, [4], 'sgd', 'hyper');
  return makeDispatch(ctx, {
    label: `sgd ${shapeString(t.param.shape)}`,
    spec: sgdSpec(),
    uniforms: new Uniforms().u32(t.param.size).f32(g.lrScale ?? 1).f32(g.decayScale ?? 1),
    buffers: [t.grad, t.hyper, t.param, t.momentum],
    workgroups: linearGrid(ctx, t.param.size, WG),
  });
}

/** CPU reference (float64): the updated parameter and momentum buffer. */
export function sgdCpu(param: ArrayLike<number>, grad: ArrayLike<number>, momentum: ArrayLike<number>, h: SgdHyper, g: SgdGroup = {}): { param: Float64Array; momentum: Float64Array } {
  const p = Float64Array.from(param);
  const buf = Float64Array.from(momentum);
  const lr = h.lr * (g.lrScale ?? 1);
  const wd = h.weightDecay * (g.decayScale ?? 1);
  for (let i = 0; i < p.length; i++) {
    const d = grad[i] + wd * p[i];
    buf[i] = h.first ? d : h.momentum * buf[i] + d;
    p[i] -= lr * buf[i];
  }
  return { param: p, momentum: buf };
}
