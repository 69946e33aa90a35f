// What a GEMM layer runs when nothing was measured on the adapter, per adapter class (the
// measurements behind each are in candidates.ts' header).
import type { KernelLimits } from '../../../gpu/kernel-limits.js';
import { type AdapterClass, lanesFor } from '../../candidates.js';
import type { ConvGeometry } from '../params.js';
import { normaliseSplits } from '../split.js';
import { autoSplits } from './split-k.js';
import { gemmVariantProblem } from './validity.js';
import { type GemmVariant, UNROLLED_SUBGROUP_MAX, UNROLLED_TAP_PIXELS_MAX } from './types.js';

/**
 * What runs when nothing was measured on the adapter. `limits` tells whether a software
 * adapter's subgroups can share the input operand (then the subgroup kernel is the default).
 */
export function defaultGemmVariant(g: ConvGeometry, cls: AdapterClass, limits?: KernelLimits): GemmVariant {
  const size = limits?.subgroupSize ?? 0;
  if (cls === 'swiftshader') {
    const PX = g.pointwise ? 8 : UNROLLED_TAP_PIXELS_MAX;
    if (size && size <= UNROLLED_SUBGROUP_MAX) return { kind: 'unrolled', PX, CG: channelsPerLane(g.cout, size, [4, 2, 1]), lanes: size, subgroups: true, splits: 1 };
    return { kind: 'unrolled', PX, CG: channelsPerLane(g.cout, SOFTWARE_LANES, [4, 2, 1]), lanes: SOFTWARE_LANES, subgroups: false, splits: 1 };
  }
  if (cls === 'software') {
    if (size && SOFTWARE_LANES % size === 0) return { kind: 'subgroup', R: 16, CN: channelsPerLane(g.cout, SOFTWARE_LANES), lanes: SOFTWARE_LANES, splits: 1 };
    return { kind: 'register', R: 16, CN: 8, lanes: SOFTWARE_LANES, splits: 1 };
  }
  return defaultGpuGemm(g, limits);
}

/**
 * GPUs: the tiled kernel's 64 x 64 block, 16 deep, 4 x 4 outputs a thread (256 threads), staged a
 * vec4 at a time where the channels allow, split at least two ways. On the H100 (Dawn's Vulkan
 * backend, bench/results/h100-tune-513.json) tuning chose the tiled kernel for 21 of
 * MobileNetV2 513's 23 GEMM shapes, 1.2-4.5x faster than the register kernel's 8 x 4 (the
 * default before); this tiling at these splits was within 1.4x of the shape's best in 22 of
 * them, and summed over the 23 shapes took 0.50x the register default's time (1.16x the best's). Unsplit, every tiled
 * variant ran 2-10x slower than its split twin, on large maps too (66049 pixels, 16 -> 96
 * channels: 0.209 ms against 0.110 split two ways): not understood yet, so the default splits
 * at least two ways. Where the tile cannot run (workgroup limits), the register kernel's 8 x 4.
 */
function defaultGpuGemm(g: ConvGeometry, limits?: KernelLimits): GemmVariant {
  const block = { kind: 'tiled' as const, BM: 64, BN: 64, BK: 16, TM: 4, TN: 4, splits: 1 };
  const splits = normaliseSplits(g.cin, Math.max(2, autoSplits(g, { ...block, vec4: false })));
  for (const vec4 of [true, false]) {
    const tiled: GemmVariant = { ...block, vec4, splits };
    if (!limits || !gemmVariantProblem(g, tiled, limits)) return tiled;
  }
  const register: GemmVariant = { kind: 'register', R: 8, CN: 4, lanes: lanesFor(g.cout, 4, 32), splits: 1 };
  return { ...register, splits: autoSplits(g, register) };
}

/** Software adapters: one SIMD batch of lanes (lavapipe's 8) per workgroup. */
export const SOFTWARE_LANES = 8;

/**
 * Output channels per lane for the subgroup kernel's default: the most (8, 4 or 2) whose channel
 * blocks overshoot Cout by at most an eighth, else the one that overshoots least. Measured on
 * lavapipe (2-core EPYC, single-layer timings): 16 x 8 ran 256-channel layers fastest (12-15 GFLOP/s, against 4-5 for
 * the register kernel); 80 channels ran fastest at 16 x 2, 96 at 16 x 4.
 */
export function channelsPerLane(cout: number, lanes: number, choices: readonly number[] = [8, 4, 2]): number {
  const overshoot = (cn: number) => Math.ceil(cout / (lanes * cn)) * lanes * cn - cout;
  return choices.find((cn) => overshoot(cn) <= cout / 8) ?? choices.reduce((best, cn) => (overshoot(cn) < overshoot(best) ? cn : best));
}

