// What a device lets kernel variants do, as the kernels layer reads it (GpuContext.kernelLimits):
// its workgroup limits, the size of its subgroups where they all have one size, and the
// subgroup-matrix shapes (tensor cores) convolutions may multiply on.

/**
 * A subgroup-matrix shape an adapter multiplies (GPUAdapterInfo.subgroupMatrixConfigs): left
 * m x k by right k x n of `component`, accumulated in f32 (configurations that accumulate in
 * f16 are not used: a 2304-long reduction loses too much in f16).
 */
export interface MatrixConfig {
  component: 'f32' | 'f16';
  m: number;
  n: number;
  k: number;
}

/** "f16 16x16x16" */
export function matrixConfigName(c: MatrixConfig): string {
  return `${c.component} ${c.m}x${c.n}x${c.k}`;
}

/**
 * The shapes adapters report (Apple and the f32 configurations: 8 x 8 x 8; NVIDIA, AMD: f16
 * 16 x 16 x 16; Intel: f16 8 x 16 x 16): what the matrix kernel runs with its built-ins emulated
 * on adapters without them (tests on lavapipe).
 */
export const EMULATED_MATRIX_CONFIGS: readonly MatrixConfig[] = [
  { component: 'f32', m: 8, n: 8, k: 8 },
  { component: 'f16', m: 8, n: 8, k: 8 },
  { component: 'f16', m: 16, n: 16, k: 16 },
  { component: 'f16', m: 8, n: 16, k: 16 },
];

/**
 * The limits a variant must fit (a device's), and its subgroup size where the device has the
 * `subgroups` feature and every subgroup has that one size; absent or 0: no subgroup kernels.
 */
export type KernelLimits = Pick<
  GPUSupportedLimits,
  'maxComputeInvocationsPerWorkgroup' | 'maxComputeWorkgroupStorageSize' | 'maxComputeWorkgroupSizeX' | 'maxComputeWorkgroupSizeY'
> & {
  subgroupSize?: number;
  /**
   * Subgroup-matrix shapes the matrix kernel may use (those that passed their check on the
   * adapter), the adapter's largest subgroup (the workgroup is sized in whole ones), and whether
   * they are emulated (tests: EMULATED_MATRIX_CONFIGS on an adapter without them).
   */
  matrix?: { configs: readonly MatrixConfig[]; subgroupMaxSize: number; emulated: boolean };
};
