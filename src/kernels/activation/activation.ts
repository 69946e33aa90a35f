// Activation functions shared by every kernel epilogue; codes match activation.wgsl.
export type Activation = 'none' | 'relu' | 'relu6' | 'hardswish' | 'hardsigmoid' | 'silu' | 'sigmoid';

export const ACTIVATIONS: readonly Activation[] = ['none', 'relu', 'relu6', 'hardswish', 'hardsigmoid', 'silu', 'sigmoid'];

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
  }
}
