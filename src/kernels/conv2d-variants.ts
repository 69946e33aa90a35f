// The ways the convolution kernels can run a layer, in one place: for each kernel with choices,
// the candidate space a tuner times, what makes a candidate valid, and the default for each
// adapter class when nothing was measured.
//
// GEMM (conv2d_gemm.wgsl, groups == 1): a register tile (R output pixels per workgroup, CN
// output channels per lane), a lane count (the workgroup size) and a split-K factor.
// Depthwise (conv2d_direct.wgsl `depthwise4`): the lanes per workgroup (4 channels each) and how
// many consecutive 4 x 4 output tiles one workgroup walks.
//
// Defaults, as measured (they are what runs untuned, and the tuner starts from them):
// - software adapters (lavapipe): 16 x 8 with 8 lanes (one SIMD batch), never split. On the
//   machine it was tuned on the MobileNetV2 513 pass ran 1.4x faster than with 8 x 4 and the
//   ASPP convolutions 1.3-1.5x; on a 2-core EPYC the same tile was not the best, hence tuning.
// - GPUs: 8 x 4 with as many lanes as cover Cout (8 to 32), what ran on an H100; split-K where
//   the output gives fewer than SPLIT_TARGET_GROUPS workgroups.
import type { ConvGeometry } from './conv2d.js';

export interface GemmVariant {
  /** Output pixels per workgroup. */
  R: number;
  /** Output channels per lane. */
  CN: number;
  /** Lanes per workgroup (the workgroup size). */
  lanes: number;
  /** Ways the input channels are split (1: no split-K). */
  splits: number;
}

export type AdapterClass = 'software' | 'gpu';

/** The shader's register arrays: R_MAX x CN_MAX accumulators (conv2d_gemm.wgsl). */
export const GEMM_R_MAX = 16;
export const GEMM_CN_MAX = 8;

// Split-K: below this many workgroups the GEMM leaves a large GPU mostly idle (an H100 holds
// ~4000 of these 32-lane groups at once); split until it is reached, at most MAX_SPLITS ways,
// each split keeping at least MIN_SPLIT_CHANNELS input channels.
const SPLIT_TARGET_GROUPS = 1024;
const MAX_SPLITS = 16;
const MIN_SPLIT_CHANNELS = 32;

/** A short stable name: the tuning cache stores choices by it. */
export function gemmVariantName(v: GemmVariant): string {
  return `r${v.R}c${v.CN}l${v.lanes}k${v.splits}`;
}

export function parseGemmVariant(name: string): GemmVariant | null {
  const m = /^r(\d+)c(\d+)l(\d+)k(\d+)$/.exec(name);
  return m ? { R: Number(m[1]), CN: Number(m[2]), lanes: Number(m[3]), splits: Number(m[4]) } : null;
}

/** Lanes per workgroup: enough to cover Cout in steps of `perLane` channels, 8..max. */
export function lanesFor(cout: number, perLane: number, max: number): number {
  let lanes = 8;
  while (lanes < max && lanes * perLane < cout) lanes *= 2;
  return lanes;
}

/** Workgroups of one split: pixel tiles x channel tiles. */
export function gemmTiles(g: ConvGeometry, v: Pick<GemmVariant, 'R' | 'CN' | 'lanes'>): number {
  return Math.ceil((g.N * g.OH * g.OW) / v.R) * Math.ceil(g.cout / (v.lanes * v.CN));
}

/** `splits` made valid for `cin`: no empty split (as many as chunks of ceil(cin / splits) cover). */
export function normaliseSplits(cin: number, splits: number): number {
  if (splits < 2) return 1;
  return Math.ceil(cin / Math.ceil(cin / Math.min(splits, cin)));
}

/** Split-K where the output alone gives too few workgroups to fill a GPU (1: none). */
export function autoSplits(g: ConvGeometry, v: Pick<GemmVariant, 'R' | 'CN' | 'lanes'>): number {
  const groups = gemmTiles(g, v);
  if (groups >= SPLIT_TARGET_GROUPS) return 1;
  return normaliseSplits(g.cin, Math.min(MAX_SPLITS, Math.ceil(SPLIT_TARGET_GROUPS / groups), Math.floor(g.cin / MIN_SPLIT_CHANNELS)));
}

/** What runs when nothing was measured on the adapter. */
export function defaultGemmVariant(g: ConvGeometry, cls: AdapterClass): GemmVariant {
  if (cls === 'software') return { R: 16, CN: 8, lanes: 8, splits: 1 };
  const tile = { R: 8, CN: 4, lanes: lanesFor(g.cout, 4, 32) };
  return { ...tile, splits: autoSplits(g, tile) };
}

/** Why `v` cannot run `g` on a device with `maxInvocations` lanes per workgroup, or null. */
export function gemmVariantProblem(g: ConvGeometry, v: GemmVariant, maxInvocations: number): string | null {
  if (![v.R, v.CN, v.lanes, v.splits].every((x) => Number.isInteger(x) && x >= 1)) return 'sizes must be positive integers';
  if (v.R > GEMM_R_MAX || v.CN > GEMM_CN_MAX) return `the tile ${v.R} x ${v.CN} exceeds the shader's ${GEMM_R_MAX} x ${GEMM_CN_MAX}`;
  if (v.lanes > maxInvocations) return `${v.lanes} lanes exceed the device's ${maxInvocations} invocations per workgroup`;
  if (v.splits > 1 && normaliseSplits(g.cin, v.splits) !== v.splits) return `${v.splits} splits leave an empty split of ${g.cin} input channels`;
  return null;
}

/**
 * The candidates a tuner times for `g` on an adapter of class `cls`, the default first. Software
 * adapters run lanes as SIMD on few cores: large register tiles and small workgroups, no split.
 * GPUs: warp-sized and larger workgroups, and split-K where the output tiles are few.
 */
export function gemmCandidates(g: ConvGeometry, cls: AdapterClass, maxInvocations: number): GemmVariant[] {
  const out: GemmVariant[] = [defaultGemmVariant(g, cls)];
  const tiles: [number, number][] = cls === 'software' ? [[8, 4], [8, 8], [16, 4], [16, 8], [32 / 2, 2]] : [[4, 4], [8, 4], [8, 8], [16, 4], [16, 8]];
  const laneChoices = cls === 'software' ? [8, 16] : [32, 64, 128];
  for (const [R, CN] of tiles) {
    for (const lanes of laneChoices) {
      // More lanes than Cout needs only idles them.
      if (lanes > 8 && (lanes / 2) * CN >= g.cout) continue;
      const base = { R, CN, lanes };
      const splitChoices = cls === 'software' ? [1] : [...new Set([1, autoSplits(g, base), normaliseSplits(g.cin, 2 * autoSplits(g, base))])];
      for (const splits of splitChoices) out.push({ ...base, splits });
    }
  }
  const seen = new Set<string>();
  return out.filter((v) => {
    const name = gemmVariantName(v);
    if (seen.has(name) || gemmVariantProblem(g, v, maxInvocations)) return false;
    seen.add(name);
    return true;
  });
}

/** The layer's tuning key: what changes which variant is fastest (pixels bucketed to powers of 2). */
export function gemmShapeKey(g: ConvGeometry, strideH: number, dilationH: number): string {
  const pixels = 2 ** Math.ceil(Math.log2(g.N * g.OH * g.OW));
  return `m${pixels}.ci${g.cin}.co${g.cout}.k${g.KH}x${g.KW}.s${strideH}.d${dilationH}`;
}

// ---------------------------------------------------------------- depthwise (depthwise4)

export interface DepthwiseVariant {
  /** Lanes per workgroup, 4 channels each. */
  lanes: number;
  /** Consecutive output tiles a workgroup walks, sharing its weight loads and cached input columns. */
  tilesPerGroup: number;
}

export function depthwiseVariantName(v: DepthwiseVariant): string {
  return `l${v.lanes}t${v.tilesPerGroup}`;
}

export function parseDepthwiseVariant(name: string): DepthwiseVariant | null {
  const m = /^l(\d+)t(\d+)$/.exec(name);
  return m ? { lanes: Number(m[1]), tilesPerGroup: Number(m[2]) } : null;
}

/**
 * The default everywhere: 8 lanes (one lavapipe SIMD batch; divides the common channel counts,
 * 32 .. 960) and 8 tiles a workgroup (1.1-1.4x faster than 1 on lavapipe). The launch takes fewer
 * tiles a workgroup where that would leave too few workgroups (conv2d.ts).
 */
export function defaultDepthwiseVariant(): DepthwiseVariant {
  return { lanes: 8, tilesPerGroup: 8 };
}

/** The candidates for a depthwise layer of `channels` channels, the default first. */
export function depthwiseCandidates(channels: number, maxInvocations: number): DepthwiseVariant[] {
  const out = [defaultDepthwiseVariant()];
  for (const lanes of [8, 16, 32, 64]) {
    // Lanes past what the channels need would idle.
    if (lanes > 8 && (lanes / 2) * 4 >= channels) continue;
    if (lanes > maxInvocations) continue;
    for (const tilesPerGroup of [1, 2, 4, 8, 16]) out.push({ lanes, tilesPerGroup });
  }
  const seen = new Set<string>();
  return out.filter((v) => !seen.has(depthwiseVariantName(v)) && !!seen.add(depthwiseVariantName(v)));
}

/** A depthwise layer's tuning key. */
export function depthwiseShapeKey(g: ConvGeometry, strideH: number, dilationH: number): string {
  const pixels = 2 ** Math.ceil(Math.log2(g.N * g.OH * g.OW));
  return `m${pixels}.c${g.cout}.k${g.KH}x${g.KW}.s${strideH}.d${dilationH}`;
}
