// What an adapter says of itself, read the same way everywhere: its vendor and names, whether it is
// a CPU implementation, and the subgroup-matrix shapes it offers that our kernels can use.
import type { MatrixConfig } from './kernel-limits.js';

/** The feature's name in Dawn (not yet in @webgpu/types). */
export const SUBGROUP_MATRIX_FEATURE = 'chromium-experimental-subgroup-matrix' as GPUFeatureName;

/**
 * What the adapter says of itself, every field optional: Safari 26.0.1 has no `adapter.info` at
 * all, and Firefox gives empty strings. Everything that reads the info reads it through this.
 */
export type AdapterInfoFields = Partial<Pick<GPUAdapterInfo, 'vendor' | 'architecture' | 'device' | 'description'>> & {
  isFallbackAdapter?: boolean;
  subgroupMinSize?: number;
  subgroupMaxSize?: number;
  subgroupMatrixConfigs?: { componentType: string; resultComponentType: string; M: number; N: number; K: number }[];
};

export function adapterInfoOf(adapter: Pick<GPUAdapter, 'info'>): AdapterInfoFields {
  return ((adapter as { info?: unknown }).info ?? {}) as AdapterInfoFields;
}

/** Whether an adapter is a CPU implementation (lavapipe / llvmpipe, SwiftShader, WARP). */
export function isSoftwareAdapter(adapter: Pick<GPUAdapter, 'info'>): boolean {
  const info = adapterInfoOf(adapter);
  const text = [info.vendor, info.architecture, info.device, info.description].join(' ');
  return !!info.isFallbackAdapter || /llvmpipe|lavapipe|swiftshader|software|warp/i.test(text);
}

export interface AdapterDescription {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** One line for tables and logs. */
  name: string;
}

export function describeAdapter(adapter: Pick<GPUAdapter, 'info'>): AdapterDescription {
  const info = adapterInfoOf(adapter);
  const vendor = info.vendor ?? '';
  const architecture = info.architecture ?? '';
  const device = info.device ?? '';
  const description = info.description ?? '';
  const name = [description || device, vendor && `(${vendor}${architecture ? ' ' + architecture : ''})`]
    .filter(Boolean)
    .join(' ') || (info.isFallbackAdapter ? 'unknown fallback adapter' : 'unknown adapter');
  return { vendor, architecture, device, description, name };
}


/** The subgroup-matrix shapes of `adapter` the matrix kernel can use: f32 or f16 inputs (f16 with shader-f16), f32 sums. */
export function offeredMatrixConfigs(adapter: GPUAdapter, hasHalf: boolean): MatrixConfig[] {
  const offered = adapterInfoOf(adapter).subgroupMatrixConfigs ?? [];
  const out: MatrixConfig[] = [];
  for (const c of offered) {
    if (c.resultComponentType !== 'f32' || !(c.componentType === 'f32' || (c.componentType === 'f16' && hasHalf))) continue;
    const config: MatrixConfig = { component: c.componentType, m: c.M, n: c.N, k: c.K };
    if (!out.some((o) => o.component === config.component && o.m === config.m && o.n === config.n && o.k === config.k)) out.push(config);
  }
  return out;
}
