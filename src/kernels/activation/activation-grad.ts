// Gradient of an activation, dx = dy * f'(x) from the activation's input x (PyTorch's
// derivatives at the kinks; see activation_grad.wgsl).
import type { GpuContext } from '../../gpu/context.js';
import type { Dispatch } from '../../gpu/dispatch.js';
import { Uniforms, linearGrid, makeDispatch } from '../../gpu/dispatch.js';
import type { KernelSpec } from '../../gpu/pipeline-cache.js';
import { type GpuTensor, shapeString } from '../../gpu/tensor.js';
import { type Activation, activationCode } from './activation.js';
import { erfc } from './erf.js';
import { expectShape } from '../checks.js';

const WG = 256;

export function activationGradSpec(a: Activation): KernelSpec {
  return { shader: 'activation_grad.wgsl', constants: { ACTIVATION: activationCode(a), WG } };
}

export function prepareActivationGrad(ctx: GpuContext, t: { x: GpuTensor; dy: GpuTensor; dx: GpuTensor }, a: Activation): Dispatch {
  expectShape(t.dy.shape, t.x.shape, `activationGrad(${a})`, 'dy');
  expectShape(t.dx.shape, t.x.shape, `activationGrad(${a})`, 'dx');
  return makeDispatch(ctx, {
    label: `activationGrad(${a}) ${shapeString(t.x.shape)}`,
    spec: activationGradSpec(a),
    uniforms: new Uniforms().u32(t.x.size),
    buffers: [t.x, t.dy, t.dx],
    workgroups: linearGrid(ctx, t.x.size, WG),
  });
}

/** f'(x), PyTorch's convention at the kinks. */
export function activationDerivative(x: number, a: Activation): number {
  switch (a) {
    case 'none':
      return 1;
    case 'relu':
      return x > 0 ? 1 : 0;
    case 'relu6':
      return x > 0 && x < 6 ? 1 : 0;
    case 'hardswish':
      return x < -3 ? 0 : x <= 3 ? (2 * x + 3) / 6 : 1;
    case 'hardsigmoid':
      return x > -3 && x < 3 ? 1 / 6 : 0;
    case 'silu': {
      const s = 1 / (1 + Math.exp(-x));
      return s * (1 + x * (1 - s));
    }
    case 'sigmoid': {
      const s = 1 / (1 + Math.exp(-x));
      return s * (1 - s);
    }
    case 'gelu':
      // Phi(x) + x phi(x).
      return 0.5 * erfc(-x * Math.SQRT1_2) + (x * Math.exp(-0.5 * x * x)) / Math.sqrt(2 * Math.PI);
    case 'tanh': {
      const e = Math.exp(-2 * Math.abs(x));
      return (4 * e) / (1 + e) ** 2;
    }
    case 'erf':
      // 2 / sqrt(pi) exp(-x^2).
      return (2 / Math.sqrt(Math.PI)) * Math.exp(-x * x);
  }
}

/** CPU reference; float64 in, float64 out (and float32 likewise). */
export function activationGradCpu<T extends Float32Array | Float64Array>(x: T, dy: T, a: Activation): T {
  if (x.length !== dy.length) throw new Error(`activationGrad(${a}): ${dy.length} gradients for ${x.length} values`);
  const dx = new (x.constructor as { new (n: number): T })(x.length);
  for (let i = 0; i < x.length; i++) dx[i] = dy[i] * activationDerivative(x[i], a);
  return dx;
}
