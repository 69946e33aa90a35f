// Activation functions shared by every kernel epilogue; codes match activation.wgsl.
import { erf, erfc } from './erf.js';

export type Activation = 'none' | 'relu' | 'relu6' | 'hardswish' | 'hardsigmoid' | 'silu' | 'sigmoid' | 'gelu' | 'tanh' | 'erf';

export const ACTIVATIONS: readonly Activation[] = ['none', 'relu', 'relu6', 'hardswish', 'hardsigmoid', 'silu', 'sigmoid', 'gelu', 'tanh', 'erf'];

export function activationCode(a: Activation): number {
  const code = ACTIVATIONS.indexOf(a);
  if (code < 0) throw new Error(`unknown activation '${a}' (expected one of ${ACTIVATIONS.join(', ')})`);
  return code;
}

/** CPU reference of each activation. */
export function activateCpu(x: number, a: Activation): number {
  switch (a) {
    case 'none':
      return x;
    case 'relu':
      return Math.max(x, 0);
    case 'relu6':
      return Math.min(Math.max(x, 0), 6);
    case 'hardswish':
      return (x * Math.min(Math.max(x + 3, 0), 6)) / 6;
    case 'hardsigmoid':
      return Math.min(Math.max(x + 3, 0), 6) / 6;
    case 'silu':
      return x / (1 + Math.exp(-x));
    case 'sigmoid':
      return 1 / (1 + Math.exp(-x));
    case 'gelu':
      // PyTorch's exact GELU, x Phi(x); 1 + erf(x / sqrt 2) as erfc(-x / sqrt 2), exact for very negative x too.
      return 0.5 * x * erfc(-x * Math.SQRT1_2);
    case 'tanh':
      return Math.tanh(x);
    case 'erf':
      return erf(x);
  }
}
