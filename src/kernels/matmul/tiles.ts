// The batched matmul's variants (matmul.wgsl): the block of outputs an invocation computes and
// the workgroup's shape; what makes one valid on a device, the default for each adapter class
// when nothing was measured, and the candidates a tuner times.
import type { KernelLimits } from '../../gpu/kernel-limits.js';
import { type AdapterClass, distinctValid, onCpu } from '../candidates.js';

export interface MatmulTile {
  /** Output rows and columns an invocation computes (TM x TN accumulators, written out). */
  TM: number;
  TN: number;
  /** Invocations a workgroup has along the output's columns (x) and rows (y). */
  WGX: number;
  WGY: number;
}

/** The written-out block's accumulators at most: each is a variable in the source. */
const MATMUL_ACCUMULATORS_MAX = 64;

/** 't4x4w8x8': the block, then the workgroup. */
export function matmulTileName(v: MatmulTile): string {
  return `t${v.TM}x${v.TN}w${v.WGX}x${v.WGY}`;
}

/** Why `v` cannot run within `limits`, or null. */
export function matmulTileProblem(v: MatmulTile, limits: KernelLimits): string | null {
  if (![v.TM, v.TN, v.WGX, v.WGY].every((x) => Number.isInteger(x) && x >= 1)) return 'sizes must be positive integers';
  if (v.TM * v.TN > MATMUL_ACCUMULATORS_MAX) return `a ${v.TM} x ${v.TN} block has more than ${MATMUL_ACCUMULATORS_MAX} accumulators`;
  const lanes = v.WGX * v.WGY;
  if (lanes > limits.maxComputeInvocationsPerWorkgroup || v.WGX > limits.maxComputeWorkgroupSizeX || v.WGY > limits.maxComputeWorkgroupSizeY) {
    return `a ${v.WGX} x ${v.WGY} workgroup exceeds the device's limits`;
  }
  return null;
}

/** The kernel's one tiling before it had choices: 4 x 4 blocks on 8 x 8 invocations. */
export const FIRST_MATMUL_TILE: MatmulTile = { TM: 4, TN: 4, WGX: 8, WGY: 8 };

/**
 * What runs untuned. Lavapipe ('software'): 8 x 8 blocks on 8 x 1 invocations (one SIMD batch):
 * on MobileViT x-small's attention products 8-row blocks won every one and this tile most
 * (bench/matmul.ts on a 2-core Xeon: 1.04-1.75x the first tiling's speed in one run,
 * bench/results/lavapipe-xeon2-matmul.json). SwiftShader and GPUs keep the first tiling until
 * measured there.
 */
export function defaultMatmulTile(cls: AdapterClass): MatmulTile {
  return cls === 'software' ? { TM: 8, TN: 8, WGX: 8, WGY: 1 } : FIRST_MATMUL_TILE;
}

/**
 * The candidates for an adapter of class `cls`, the default first (the first tiling among them).
 * CPU adapters run lanes as SIMD on few cores: blocks of 4 or 8 rows by 4 or 8 columns on one
 * SIMD batch (8 x 1) or eight (8 x 8); on lavapipe 2-row blocks never won, nor did 16 x 4
 * workgroups beyond noise. GPUs: 2 x 2 to 8 x 4 blocks on 64 to 256 invocations.
 */
export function matmulTiles(cls: AdapterClass, limits: KernelLimits): MatmulTile[] {
  const blocks = onCpu(cls) ? [[8, 8], [8, 4], [4, 8], [4, 4]] : [[4, 4], [2, 2], [8, 4], [4, 8]];
  const groups = onCpu(cls) ? [[8, 1], [8, 8]] : [[16, 16], [8, 8], [32, 8]];
  const out = [defaultMatmulTile(cls)];
  for (const [TM, TN] of blocks) for (const [WGX, WGY] of groups) out.push({ TM, TN, WGX, WGY });
  return distinctValid(out, matmulTileName, (v) => matmulTileProblem(v, limits));
}
