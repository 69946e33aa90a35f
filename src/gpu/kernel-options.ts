// The kernel options a context carries: choices that tests and benchmarks may change, which the
// kernels read where they choose (pipelines are keyed by what they choose, never by these).
// The context only holds them; what they mean is the kernels' (split-K is the convolution GEMM's,
// src/kernels/conv2d/gemm/).
import { readFlag } from '../util/flags.js';

/** Split-K for convolutions with few output tiles and long reductions: 'auto' (hardware adapters only), 'never' or 'always'. */
export type SplitKMode = 'auto' | 'never' | 'always';

export interface KernelOptions {
  splitK: SplitKMode;
  /** Whether kernels may use subgroups (false: every kernel takes its path for adapters without them). */
  subgroups: boolean;
  /**
   * Whether the matrix kernel runs with its built-ins emulated on the shapes adapters report
   * (tests on adapters without subgroup matrices; slow, never for production).
   */
  emulateMatrix: boolean;
}

/** The split-K mode: `mode` where given, else DEEPLAB_SPLIT_K; anything else is refused, naming the modes. */
export function splitKMode(mode: string | undefined): SplitKMode {
  const value = mode ?? readFlag('DEEPLAB_SPLIT_K');
  if (value !== 'auto' && value !== 'never' && value !== 'always') throw new Error(`splitK must be 'auto', 'never' or 'always', got '${value}'`);
  return value;
}
