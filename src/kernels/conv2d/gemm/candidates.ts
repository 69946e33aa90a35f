// The implicit GEMM's candidate space (groups == 1 convolutions): its variants, what makes one
// valid on a device, and the default for each adapter class when nothing was measured.
//
// Five kernels: conv2d_gemm.wgsl, a register tile (R output pixels per workgroup, CN output
// channels per lane) on a lane count, with no shared memory (what software adapters run best);
// conv2d_gemm_subgroup.wgsl, the same tile with its input operand shared through subgroups
// (adapters whose subgroups are all one size); conv2d_gemm_tiled.wgsl, a BM x BN workgroup tile
// staged through workgroup memory in BK steps, double-buffered, TM x TN outputs per thread (the
// GPU kind; conv2d_gemm_tiled_vec4.wgsl stages a vec4 of channels a thread); and
// conv2d_gemm_matrix.wgsl, a workgroup tile multiplied on subgroup matrices (tensor cores),
// where the adapter offers `chromium-experimental-subgroup-matrix`; and
// conv2d_gemm_unrolled.wgsl, the register tile written out as straight-line code (drivers that
// run shaders as written: SwiftShader), its input shared by subgroup broadcasts where subgroups
// are at most 8 lanes (conv2d_gemm_unrolled_subgroup.wgsl). Each with a split-K factor
// (conv2d_splitk_reduce.wgsl adds the splits up).
//
// Defaults, as measured (they are what runs untuned, and the tuner starts from them):
// - software adapters (lavapipe) with fixed-size subgroups: the subgroup kernel, 16 pixels and
//   8 lanes (one SIMD batch), 2 to 8 channels a lane as Cout fits (channelsPerLane), never
//   split: on a 2-core EPYC 12-31 GFLOP/s on the ASPP and 1x1 layers, against 4.2-5.8 for the
//   register kernel.
// - software adapters without them: the register kernel's 16 x 8 with 8 lanes.
// - SwiftShader: the unrolled kernel on one subgroup, 8 pixels (4 where not pointwise) by 1 to 4
//   channels a lane: 5-8x
//   faster there than the best of the looped kernels on the ASPP and 1x1 layers, which lavapipe
//   runs 5-10x faster than the unrolled kernel.
// - GPUs: the tiled kernel's 64 x 64 block (vec4 where the channels allow), split at least two
//   ways: what tuning chose on an H100 for 21 of MobileNetV2 513's 23 GEMM shapes (defaults.ts
//   has the figures); the register kernel's 8 x 4 where the tile cannot run.
import type { KernelLimits } from '../../../gpu/kernel-limits.js';
import { type AdapterClass, distinctValid, onCpu } from '../../candidates.js';
import { normaliseSplits } from '../split.js';
import type { ConvGeometry } from '../params.js';
import { SOFTWARE_LANES, defaultGemmVariant } from './defaults.js';
import { matrixCandidates } from './matrix.js';
import { gemmVariantName } from './names.js';
import { autoSplits } from './split-k.js';
import { type GemmVariant, UNROLLED_SUBGROUP_MAX } from './types.js';
import { gemmVariantProblem } from './validity.js';

/**
 * The candidates a tuner times for `g` on an adapter of class `cls`, the default first. Software
 * adapters run lanes as SIMD on few cores: large register tiles and small workgroups, no split
 * (workgroup memory and barriers measured ~4x slower there). GPUs: the register kernel on
 * warp-sized and larger workgroups, the tiled kernel at 64 x 64 to 128 x 128 with 4 x 4 to 8 x 8
 * outputs a thread (256 threads), each without and with split-K where output tiles are few.
 * Where the device has subgroups of one fixed size, the subgroup kernel's tiles join both;
 * where it has f32 subgroup matrices, the matrix kernel's tilings join the GPU class's.
 */
export function gemmCandidates(g: ConvGeometry, cls: AdapterClass, limits: KernelLimits, dtype: 'f32' | 'f16' = 'f32'): GemmVariant[] {
  const out: GemmVariant[] = [defaultGemmVariant(g, cls, limits)];
  const withSplits = (v: GemmVariant): GemmVariant[] =>
    onCpu(cls) ? [v] : [...new Set([1, autoSplits(g, v), normaliseSplits(g.cin, 2 * autoSplits(g, v))])].map((splits) => ({ ...v, splits }));
  const tiles: [number, number][] = onCpu(cls) ? [[8, 4], [8, 8], [16, 2], [16, 4], [16, 8]] : [[4, 4], [8, 4], [8, 8], [16, 4], [16, 8]];
  const laneChoices = onCpu(cls) ? [8, 16] : [32, 64, 128];
  for (const [R, CN] of tiles) {
    for (const lanes of laneChoices) {
      // More lanes than Cout needs only idles them.
      if (lanes > 8 && (lanes / 2) * CN >= g.cout) continue;
      out.push(...withSplits({ kind: 'register', R, CN, lanes, splits: 1 }));
    }
  }
  if (limits.subgroupSize) {
    // Tiles with the input shared through subgroups (invalid ones are dropped below): on
    // software adapters the register kernel's; on GPUs two of them, for the tuner to weigh
    // shuffles against broadcast loads (not yet measured on a GPU).
    const subgroupTiles: [number, number][] = onCpu(cls) ? [[8, 4], [8, 8], [16, 2], [16, 4], [16, 8]] : [[8, 4], [16, 4]];
    for (const [R, CN] of subgroupTiles) {
      for (const lanes of laneChoices) {
        if (lanes > 8 && (lanes / 2) * CN >= g.cout) continue;
        out.push(...withSplits({ kind: 'subgroup', R, CN, lanes, splits: 1 }));
      }
    }
  }
  if (cls === 'gpu') {
    // Subgroup matrices in the layer's precision: only adapters with configurations of it.
    for (const v of matrixCandidates(g, limits, dtype)) out.push(...withSplits(v));
    const tiled: [number, number, number, number, number][] = [[64, 64, 16, 4, 4], [64, 128, 8, 4, 8], [128, 64, 8, 8, 4], [128, 128, 8, 8, 8]];
    for (const [BM, BN, BK, TM, TN] of tiled) {
      // A channel block over twice Cout is mostly idle.
      if (BN > 64 && BN / 2 >= g.cout) continue;
      // Each tiling also staged a vec4 at a time (dropped below where the channels do not allow it).
      for (const vec4 of [false, true]) out.push(...withSplits({ kind: 'tiled', BM, BN, BK, TM, TN, vec4, splits: 1 }));
    }
  }
  if (cls === 'swiftshader') {
    // The register tile written out, for drivers that keep loops and arrays as written: on one
    // subgroup, its input shared by broadcasts, where subgroups are narrow; and on 8 lanes
    // without. (Lavapipe's compiler unrolls the looped kernels into the same code itself.)
    const size = limits.subgroupSize ?? 0;
    if (size && size <= UNROLLED_SUBGROUP_MAX) {
      // (16-pixel tiles: SwiftShader's compile ran past Chromium's GPU watchdog.)
      const tiles = g.pointwise ? [[8, 4], [8, 2], [4, 4], [8, 8], [8, 1]] : [[4, 4], [4, 2], [4, 8], [4, 1]];
      for (const [PX, CG] of tiles) out.push({ kind: 'unrolled', PX, CG, lanes: size, subgroups: true, splits: 1 });
    }
    for (const [PX, CG] of g.pointwise ? [[8, 4], [8, 8]] : [[4, 4], [4, 8]]) out.push({ kind: 'unrolled', PX, CG, lanes: SOFTWARE_LANES, subgroups: false, splits: 1 });
  }
  const valid = distinctValid(out, gemmVariantName, (v) => gemmVariantProblem(g, v, limits, dtype));
  // Most promising first (a budgeted tuner tries them in this order): on SwiftShader the
  // written-out kernels, which its looped ones trail 5-8x; on GPUs the tiled and matrix
  // kernels, which won 21 of 23 shapes on an H100.
  const first = (kinds: GemmVariant['kind'][]) => [valid[0], ...valid.slice(1).filter((v) => kinds.includes(v.kind)), ...valid.slice(1).filter((v) => !kinds.includes(v.kind))];
  return cls === 'swiftshader' ? first(['unrolled']) : cls === 'gpu' ? first(['tiled', 'matrix']) : valid;
}
