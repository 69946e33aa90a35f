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
// - GPUs: the register kernel's 8 x 4 with as many lanes as cover Cout (8 to 32), what ran on an
//   H100 (the tiled kernel is not yet measured on one, so it is a candidate, not the default);
//   split-K where the output gives fewer than SPLIT_TARGET_GROUPS workgroups.
import type { KernelLimits } from '../../../gpu/kernel-limits.js';
import { type AdapterClass, distinctValid, lanesFor, onCpu } from '../../candidates.js';
import type { ConvGeometry } from '../params.js';

/** conv2d_gemm.wgsl: registers only. */
export interface RegisterGemm {
  kind: 'register';
  /** Output pixels per workgroup. */
  R: number;
  /** Output channels per lane. */
  CN: number;
  /** Lanes per workgroup (the workgroup size). */
  lanes: number;
  /** Ways the input channels are split (1: no split-K). */
  splits: number;
}

/** conv2d_gemm_subgroup.wgsl: the register tile, each input value loaded once per subgroup. */
export type SubgroupGemm = Omit<RegisterGemm, 'kind'> & { kind: 'subgroup' };

/** conv2d_gemm_tiled.wgsl: workgroup tiles staged in workgroup memory. */
export interface TiledGemm {
  kind: 'tiled';
  /** Output pixels and channels per workgroup. */
  BM: number;
  BN: number;
  /** Reduction step staged at once. */
  BK: number;
  /** Pixels and channels per thread. */
  TM: number;
  TN: number;
  /** Tiles staged four channels a thread (conv2d_gemm_tiled_vec4.wgsl; channel counts multiples of 4). */
  vec4: boolean;
  splits: number;
}

/**
 * conv2d_gemm_matrix.wgsl: a workgroup tile multiplied on subgroup matrices. A workgroup is
 * SGM x SGN subgroups, each holding TMS x TNS result matrices of m x n (f32); inputs are the
 * program's storage type (f32, or f16 in half-precision programs), staged KS matrix steps of k
 * at a time. Block: SGM * TMS * m pixels by SGN * TNS * n channels.
 */
export interface MatrixGemm {
  kind: 'matrix';
  m: number;
  n: number;
  k: number;
  SGM: number;
  SGN: number;
  TMS: number;
  TNS: number;
  KS: number;
  /** Lanes per subgroup the workgroup is sized for: the adapter's largest subgroup. */
  lanes: number;
  /**
   * The subgroup-matrix built-ins replaced by plain WGSL doing the same arithmetic
   * (conv2d_gemm_matrix_emulated.wgsl): how the kernel's tiling runs on adapters without them
   * (tests on lavapipe). Never a production choice.
   */
  emulated: boolean;
  splits: number;
}

/**
 * conv2d_gemm_unrolled.wgsl: the register tile as straight-line code, PX pixels (workgroup-uniform)
 * by CG channels a lane, each accumulator a variable of its own.
 */
export interface UnrolledGemm {
  kind: 'unrolled';
  /** Output pixels per workgroup. */
  PX: number;
  /** Output channels per lane. */
  CG: number;
  /** Lanes per workgroup; with `subgroups`, exactly one subgroup. */
  lanes: number;
  /** The input shared through the subgroup by broadcasts (conv2d_gemm_unrolled_subgroup.wgsl). */
  subgroups: boolean;
  splits: number;
}

export type GemmVariant = RegisterGemm | SubgroupGemm | TiledGemm | MatrixGemm | UnrolledGemm;

/** The register kernel's arrays: R_MAX x CN_MAX accumulators (conv2d_gemm.wgsl). */
export const GEMM_R_MAX = 16;
export const GEMM_CN_MAX = 8;
/** The tiled kernel's per-thread arrays: TM, TN at most 8 (conv2d_gemm_tiled.wgsl). */
export const GEMM_T_MAX = 8;
/**
 * The unrolled kernel's accumulators (PX * CG) at most: each is written out in the source, so a
 * larger tile compiles slowly and spills. Its subgroup variant writes out one broadcast per lane:
 * subgroups of at most UNROLLED_SUBGROUP_MAX lanes.
 */
export const UNROLLED_ACCUMULATORS_MAX = 64;
/** The unrolled kernel's pixels a workgroup on layers that are not pointwise (their offsets are worked out every step). */
export const UNROLLED_TAP_PIXELS_MAX = 4;
export const UNROLLED_SUBGROUP_MAX = 8;

// Split-K: below this many workgroups the GEMM leaves a large GPU mostly idle (an H100 holds
// ~4000 of these 32-lane groups at once); split until it is reached, at most MAX_SPLITS ways,
// each split keeping at least MIN_SPLIT_CHANNELS input channels.
const SPLIT_TARGET_GROUPS = 1024;
const MAX_SPLITS = 16;
const MIN_SPLIT_CHANNELS = 32;

/** A short stable name: the tuning cache stores choices by it. */
export function gemmVariantName(v: GemmVariant): string {
  if (v.kind === 'matrix') return `x${v.m}x${v.n}x${v.k}g${v.SGM}x${v.SGN}t${v.TMS}x${v.TNS}b${v.KS}l${v.lanes}${v.emulated ? 'e' : ''}k${v.splits}`;
  if (v.kind === 'tiled') return `w${v.BM}x${v.BN}b${v.BK}t${v.TM}x${v.TN}${v.vec4 ? 'v4' : ''}k${v.splits}`;
  if (v.kind === 'unrolled') return `u${v.PX}c${v.CG}l${v.lanes}${v.subgroups ? 's' : ''}k${v.splits}`;
  return `${v.kind === 'register' ? 'r' : 's'}${v.R}c${v.CN}l${v.lanes}k${v.splits}`;
}

export function parseGemmVariant(name: string): GemmVariant | null {
  const r = /^([rs])(\d+)c(\d+)l(\d+)k(\d+)$/.exec(name);
  if (r) return { kind: r[1] === 'r' ? 'register' : 'subgroup', R: Number(r[2]), CN: Number(r[3]), lanes: Number(r[4]), splits: Number(r[5]) };
  const t = /^w(\d+)x(\d+)b(\d+)t(\d+)x(\d+)(v4)?k(\d+)$/.exec(name);
  if (t) return { kind: 'tiled', BM: Number(t[1]), BN: Number(t[2]), BK: Number(t[3]), TM: Number(t[4]), TN: Number(t[5]), vec4: t[6] === 'v4', splits: Number(t[7]) };
  const u = /^u(\d+)c(\d+)l(\d+)(s?)k(\d+)$/.exec(name);
  if (u) return { kind: 'unrolled', PX: Number(u[1]), CG: Number(u[2]), lanes: Number(u[3]), subgroups: u[4] === 's', splits: Number(u[5]) };
  const x = /^x(\d+)x(\d+)x(\d+)g(\d+)x(\d+)t(\d+)x(\d+)b(\d+)l(\d+)(e?)k(\d+)$/.exec(name);
  if (x) {
    const [m, n, k, SGM, SGN, TMS, TNS, KS, lanes] = x.slice(1, 10).map(Number);
    return { kind: 'matrix', m, n, k, SGM, SGN, TMS, TNS, KS, lanes, emulated: x[10] === 'e', splits: Number(x[11]) };
  }
  return null;
}

/** Pixels and channels one workgroup computes. */
export function gemmBlock(v: GemmVariant): { pixels: number; channels: number } {
  if (v.kind === 'matrix') return { pixels: v.SGM * v.TMS * v.m, channels: v.SGN * v.TNS * v.n };
  if (v.kind === 'unrolled') return { pixels: v.PX, channels: v.lanes * v.CG };
  return v.kind === 'tiled' ? { pixels: v.BM, channels: v.BN } : { pixels: v.R, channels: v.lanes * v.CN };
}

/** Workgroups of one split: pixel blocks x channel blocks. */
export function gemmTiles(g: ConvGeometry, v: GemmVariant): number {
  const b = gemmBlock(v);
  return Math.ceil((g.N * g.OH * g.OW) / b.pixels) * Math.ceil(g.cout / b.channels);
}

/** `splits` made valid for `cin`: no empty split (as many as chunks of ceil(cin / splits) cover). */
export function normaliseSplits(cin: number, splits: number): number {
  if (splits < 2) return 1;
  return Math.ceil(cin / Math.ceil(cin / Math.min(splits, cin)));
}

/** Split-K where the output alone gives too few workgroups to fill a GPU (1: none). */
export function autoSplits(g: ConvGeometry, v: GemmVariant): number {
  const groups = gemmTiles(g, v);
  if (groups >= SPLIT_TARGET_GROUPS) return 1;
  return normaliseSplits(g.cin, Math.min(MAX_SPLITS, Math.ceil(SPLIT_TARGET_GROUPS / groups), Math.floor(g.cin / MIN_SPLIT_CHANNELS)));
}

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
  const tile: GemmVariant = { kind: 'register', R: 8, CN: 4, lanes: lanesFor(g.cout, 4, 32), splits: 1 };
  return { ...tile, splits: autoSplits(g, tile) };
}

/** Software adapters: one SIMD batch of lanes (lavapipe's 8) per workgroup. */
const SOFTWARE_LANES = 8;

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

/** Why `v` cannot run `g` within `limits` in a program whose tensors are `dtype`, or null. */
export function gemmVariantProblem(g: ConvGeometry, v: GemmVariant, limits: KernelLimits, dtype: 'f32' | 'f16' = 'f32'): string | null {
  const sizes =
    v.kind === 'matrix' ? [v.m, v.n, v.k, v.SGM, v.SGN, v.TMS, v.TNS, v.KS, v.lanes, v.splits]
    : v.kind === 'tiled' ? [v.BM, v.BN, v.BK, v.TM, v.TN, v.splits]
    : v.kind === 'unrolled' ? [v.PX, v.CG, v.lanes, v.splits]
    : [v.R, v.CN, v.lanes, v.splits];
  if (!sizes.every((x) => Number.isInteger(x) && x >= 1)) return 'sizes must be positive integers';
  if (v.splits > 1 && normaliseSplits(g.cin, v.splits) !== v.splits) return `${v.splits} splits leave an empty split of ${g.cin} input channels`;
  if (v.kind === 'matrix') return matrixVariantProblem(v, limits, dtype);
  if (v.kind === 'unrolled') {
    if (v.PX * v.CG > UNROLLED_ACCUMULATORS_MAX) return `the tile ${v.PX} x ${v.CG} has more than ${UNROLLED_ACCUMULATORS_MAX} accumulators`;
    // Where each step works out its pixels' tap offsets, more than 4 pixels made SwiftShader's
    // compile take 8-25 s (or fail) against 0.2 s.
    if (v.PX > UNROLLED_TAP_PIXELS_MAX && !g.pointwise) return `${v.PX} pixels a workgroup are for pointwise layers (1x1, no padding); others take at most ${UNROLLED_TAP_PIXELS_MAX}`;
    if (v.lanes > limits.maxComputeInvocationsPerWorkgroup) return `${v.lanes} lanes exceed the device's ${limits.maxComputeInvocationsPerWorkgroup} invocations per workgroup`;
    if (!v.subgroups) return null;
    // The workgroup is one full subgroup, whose broadcasts are written out lane by lane.
    const size = limits.subgroupSize ?? 0;
    if (!size) return 'the device has no subgroups of one fixed size';
    if (size > UNROLLED_SUBGROUP_MAX) return `its broadcasts are written out for subgroups of at most ${UNROLLED_SUBGROUP_MAX} lanes, not ${size}`;
    if (v.lanes !== size) return `${v.lanes} lanes are not one ${size}-wide subgroup`;
    return null;
  }
  if (v.kind !== 'tiled') {
    if (v.R > GEMM_R_MAX || v.CN > GEMM_CN_MAX) return `the tile ${v.R} x ${v.CN} exceeds the shader's ${GEMM_R_MAX} x ${GEMM_CN_MAX}`;
    if (v.lanes > limits.maxComputeInvocationsPerWorkgroup) return `${v.lanes} lanes exceed the device's ${limits.maxComputeInvocationsPerWorkgroup} invocations per workgroup`;
    if (v.kind === 'subgroup') {
      // The shader shuffles among every lane of a subgroup: each must be full.
      const size = limits.subgroupSize ?? 0;
      if (!size) return 'the device has no subgroups of one fixed size';
      if (v.lanes % size) return `${v.lanes} lanes are not a whole number of ${size}-wide subgroups`;
    }
    return null;
  }
  if (v.TM > GEMM_T_MAX || v.TN > GEMM_T_MAX) return `${v.TM} x ${v.TN} outputs per thread exceed the shader's ${GEMM_T_MAX} x ${GEMM_T_MAX}`;
  if (v.BM % v.TM || v.BN % v.TN) return `the ${v.BM} x ${v.BN} tile is not a whole number of ${v.TM} x ${v.TN} thread tiles`;
  const [x, y] = [v.BN / v.TN, v.BM / v.TM];
  if (x * y > limits.maxComputeInvocationsPerWorkgroup || x > limits.maxComputeWorkgroupSizeX || y > limits.maxComputeWorkgroupSizeY) {
    return `a ${x} x ${y} workgroup exceeds the device's limits`;
  }
  const bytes = 2 * v.BK * (v.BM + v.BN) * 4;
  if (bytes > limits.maxComputeWorkgroupStorageSize) return `${bytes} bytes of staged tiles exceed the device's ${limits.maxComputeWorkgroupStorageSize} bytes of workgroup memory`;
  if (v.vec4) {
    // Four consecutive k of a tap must be four channels of one split, four outputs one vec4.
    if (g.cin % 4 || g.cout % 4) return `vec4 staging needs channel counts that are multiples of 4, not ${g.cin} -> ${g.cout}`;
    if (Math.ceil(g.cin / v.splits) % 4) return `vec4 staging needs splits of a multiple of 4 channels, not ${Math.ceil(g.cin / v.splits)}`;
    if (v.BK % 4 || v.BN % 4) return 'vec4 staging needs BK and BN multiples of 4';
  }
  return null;
}

/** Lanes an emulated subgroup has (each holds an equal share of every result matrix). */
const EMULATED_LANES = 8;

/** The matrix kernel's arrays: at most this many result matrices per subgroup (conv2d_gemm_matrix.wgsl). */
export const MATRIX_TILES_MAX = 16;

function matrixVariantProblem(v: MatrixGemm, limits: KernelLimits, dtype: 'f32' | 'f16'): string | null {
  const matrix = limits.matrix;
  if (!matrix || !matrix.configs.length) return 'the device offers no subgroup matrices';
  if (v.emulated !== matrix.emulated) return v.emulated ? 'an emulated variant on a device with real subgroup matrices' : 'the device only emulates subgroup matrices';
  const shape = `${dtype} ${v.m} x ${v.n} x ${v.k}`;
  if (!matrix.configs.some((c) => c.component === dtype && c.m === v.m && c.n === v.n && c.k === v.k)) return `the device has no ${shape} subgroup matrices accumulating in f32`;
  if (v.TMS * v.TNS > MATRIX_TILES_MAX) return `${v.TMS} x ${v.TNS} matrices per subgroup exceed the shader's ${MATRIX_TILES_MAX}`;
  if (v.emulated) {
    // Each emulating lane holds an equal share of a result matrix.
    if ((v.m * v.n) % v.lanes) return `an ${v.m} x ${v.n} matrix does not split evenly over ${v.lanes} emulating lanes`;
  } else if (v.lanes !== matrix.subgroupMaxSize) {
    return `${v.lanes} lanes a subgroup, but the device's subgroups are up to ${matrix.subgroupMaxSize} wide`;
  }
  const threads = v.SGM * v.SGN * v.lanes;
  if (threads > limits.maxComputeInvocationsPerWorkgroup || threads > limits.maxComputeWorkgroupSizeX) return `${threads} invocations a workgroup exceed the device's limits`;
  const bytes = matrixWorkgroupBytes(v, dtype);
  if (bytes > limits.maxComputeWorkgroupStorageSize) return `${bytes} bytes of staged tiles exceed the device's ${limits.maxComputeWorkgroupStorageSize} bytes of workgroup memory`;
  return null;
}

/** Workgroup memory of the matrix kernel: two stages of the A and B tiles in the storage type, and an f32 result matrix per subgroup. */
export function matrixWorkgroupBytes(v: MatrixGemm, dtype: 'f32' | 'f16'): number {
  const { pixels, channels } = gemmBlock(v);
  const bk = v.KS * v.k;
  return 2 * (pixels + channels) * bk * (dtype === 'f16' ? 2 : 4) + v.SGM * v.SGN * v.m * v.n * 4;
}

/** Tilings the matrix kernel is offered in: [SGM, SGN, TMS, TNS, KS], the default first. */
const MATRIX_TILINGS: readonly (readonly [number, number, number, number, number])[] = [
  [2, 2, 2, 2, 2],
  [4, 2, 2, 2, 1],
  [2, 4, 2, 2, 1],
  [2, 2, 4, 2, 1],
  [1, 1, 2, 2, 2],
];

/** The matrix variants for `g` on `limits`' configurations of `dtype`, valid ones only, the preferred first. */
export function matrixCandidates(g: ConvGeometry, limits: KernelLimits, dtype: 'f32' | 'f16'): MatrixGemm[] {
  const matrix = limits.matrix;
  if (!matrix) return [];
  const out: MatrixGemm[] = [];
  for (const c of matrix.configs.filter((c) => c.component === dtype)) {
    const lanes = matrix.emulated ? EMULATED_LANES : matrix.subgroupMaxSize;
    for (const [SGM, SGN, TMS, TNS, KS] of MATRIX_TILINGS) {
      const v: MatrixGemm = { kind: 'matrix', m: c.m, n: c.n, k: c.k, SGM, SGN, TMS, TNS, KS, lanes, emulated: matrix.emulated, splits: 1 };
      if (!gemmVariantProblem(g, v, limits, dtype)) out.push(v);
    }
  }
  return out;
}

/**
 * The matrix variant a half-precision program runs where the adapter has f16 subgroup matrices
 * (tensor cores): the first valid tiling, split where output tiles are few. Undefined where
 * there is none. (f32 programs take matrix variants only where tuning measured them faster.)
 */
export function defaultMatrixVariant(g: ConvGeometry, limits: KernelLimits, dtype: 'f32' | 'f16'): MatrixGemm | undefined {
  const v = matrixCandidates(g, limits, dtype)[0];
  return v && { ...v, splits: autoSplits(g, v) };
}

/**
 * The candidates a tuner times for `g` on an adapter of class `cls`, the default first. Software
 * adapters run lanes as SIMD on few cores: large register tiles and small workgroups, no split
 * (workgroup memory and barriers measured ~4x slower there). GPUs: the register kernel on
 * warp-sized and larger workgroups, the tiled kernel at 64 x 64 to 128 x 128 with 4 x 4 to 8 x 8
 * outputs a thread (256 threads), each without and with split-K where output tiles are few.
 * Where the device has subgroups of one fixed size, the subgroup kernel's tiles join both;
 * where it has f32 subgroup matrices, the matrix kernel's tilings join the GPU class's.
 */
export function gemmCandidates(g: ConvGeometry, cls: AdapterClass, limits: KernelLimits): GemmVariant[] {
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
    // Subgroup matrices in the tuner's precision (f32): only adapters with f32 configurations.
    for (const v of matrixCandidates(g, limits, 'f32')) out.push(...withSplits(v));
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
  const valid = distinctValid(out, gemmVariantName, (v) => gemmVariantProblem(g, v, limits));
  // Most promising first (a budgeted tuner tries them in this order): on SwiftShader the
  // written-out kernels, which its looped ones trail 5-8x.
  return cls === 'swiftshader' ? [valid[0], ...valid.slice(1).filter((v) => v.kind === 'unrolled'), ...valid.slice(1).filter((v) => v.kind !== 'unrolled')] : valid;
}
