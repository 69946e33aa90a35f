// The Winograd algorithm's candidate space: which layers it runs, its variants (the tile size and
// the tiling of its batched GEMM), what makes one valid, and the candidates each adapter class
// is offered. The kernels are winograd.ts'.
import type { KernelLimits } from '../../../gpu/kernel-limits.js';
import type { FloatType } from '../../../gpu/tuning.js';
import { type AdapterClass, distinctValid, lanesFor, onCpu } from '../../candidates.js';
import { channelsPerLane } from '../gemm/defaults.js';
import type { Conv2dParams, ConvGeometry } from '../params.js';

export interface WinogradVariant {
  /** Outputs a tile has along each axis: F(2x2, 3x3) or F(4x4, 3x3). */
  tile: 2 | 4;
  /** The GEMM written out as straight-line code (conv2d_winograd_gemm_unrolled.wgsl), else looped (conv2d_winograd_gemm.wgsl). */
  unrolled: boolean;
  /** Tiles (GEMM rows) a workgroup computes. */
  rows: number;
  /** Output channels a lane computes. */
  channels: number;
  /** Lanes a workgroup has; with `subgroups` and `unrolled`, exactly one subgroup. */
  lanes: number;
  /** The GEMM's input operand shared through subgroups. */
  subgroups: boolean;
}

/** The looped GEMM's arrays (conv2d_winograd_gemm.wgsl): at most this many rows by channels a lane. */
export const WINOGRAD_ROWS_MAX = 16;
export const WINOGRAD_CHANNELS_MAX = 8;
/** The written-out GEMM's accumulators at most (each a variable in the source), and its subgroups' width. */
export const WINOGRAD_UNROLLED_ACCUMULATORS_MAX = 64;
export const WINOGRAD_UNROLLED_SUBGROUP_MAX = 8;
/**
 * Bytes one scratch buffer (V, U or M) may have: WebGPU's guaranteed maxStorageBufferBindingSize
 * (128 MiB), so a candidate offered runs on every device; larger layers are left to the GEMM.
 */
export const WINOGRAD_SCRATCH_MAX = 128 * 2 ** 20;

/** 'f2r16c8l8s': tile, kernel (r looped, u written out), rows, channels a lane, lanes, subgroups. */
export function winogradVariantName(v: WinogradVariant): string {
  return `f${v.tile}${v.unrolled ? 'u' : 'r'}${v.rows}c${v.channels}l${v.lanes}${v.subgroups ? 's' : ''}`;
}

export function parseWinogradVariant(name: string): WinogradVariant | null {
  const m = /^f([24])([ru])(\d+)c(\d+)l(\d+)(s?)$/.exec(name);
  if (!m) return null;
  return { tile: Number(m[1]) as 2 | 4, unrolled: m[2] === 'u', rows: Number(m[3]), channels: Number(m[4]), lanes: Number(m[5]), subgroups: m[6] === 's' };
}

/**
 * 3x3, stride 1, one group: the layers Winograd computes (any padding, channels and rate), but
 * for rates at least the output's size, where every output's outer taps fall outside the input
 * (ASPP on small maps): the GEMM skips those taps, the transforms would not.
 */
export function runsWinograd({ g, p }: { g: ConvGeometry; p: Conv2dParams }): boolean {
  return p.groups === 1 && g.KH === 3 && g.KW === 3 && p.strideH === 1 && p.strideW === 1 && p.dilationH < g.OH && p.dilationW < g.OW;
}

/** Tiles along one axis of `outSize` outputs at rate `dilation`: phases x tiles a phase (see conv2d_winograd_params.wgsl). */
export function axisTiles(outSize: number, dilation: number, tile: number): { perPhase: number; tiles: number } {
  const perPhase = Math.ceil(Math.ceil(outSize / dilation) / tile);
  return { perPhase, tiles: Math.min(dilation, outSize) * perPhase };
}

/** The tiling of a layer: tiles along each axis and in all (the GEMM's rows). */
export function winogradTiles(g: ConvGeometry, p: Conv2dParams, tile: number): { h: { perPhase: number; tiles: number }; w: { perPhase: number; tiles: number }; tiles: number } {
  const h = axisTiles(g.OH, p.dilationH, tile);
  const w = axisTiles(g.OW, p.dilationW, tile);
  return { h, w, tiles: g.N * h.tiles * w.tiles };
}

/**
 * Bytes of the three scratch buffers: V [ALPHA^2, tiles, Cin], U [ALPHA^2, Cin, Cout], M
 * [ALPHA^2, tiles, Cout], f32 (or f16 where the GEMM sums in f16).
 */
export function winogradScratchBytes(g: ConvGeometry, p: Conv2dParams, tile: 2 | 4, accumulate: FloatType = 'f32'): { v: number; u: number; m: number } {
  const positions = (tile + 2) ** 2;
  const { tiles } = winogradTiles(g, p, tile);
  const bytes = accumulate === 'f16' ? 2 : 4;
  return { v: positions * tiles * g.cin * bytes, u: positions * g.cin * g.cout * bytes, m: positions * tiles * g.cout * bytes };
}

/** Why `v` cannot run the layer within `limits` (with f32 scratch, the larger), or null. */
export function winogradVariantProblem(layer: { g: ConvGeometry; p: Conv2dParams }, v: WinogradVariant, limits: KernelLimits): string | null {
  if (!runsWinograd(layer)) return 'Winograd runs 3x3 convolutions of stride 1 and one group at rates below the output size';
  if (v.tile !== 2 && v.tile !== 4) return `tiles of ${v.tile} outputs: F(2x2, 3x3) and F(4x4, 3x3) only`;
  if (![v.rows, v.channels, v.lanes].every((x) => Number.isInteger(x) && x >= 1)) return 'sizes must be positive integers';
  if (v.lanes > limits.maxComputeInvocationsPerWorkgroup) return `${v.lanes} lanes exceed the device's ${limits.maxComputeInvocationsPerWorkgroup} invocations per workgroup`;
  const scratch = winogradScratchBytes(layer.g, layer.p, v.tile);
  const largest = Math.max(scratch.v, scratch.u, scratch.m);
  if (largest > WINOGRAD_SCRATCH_MAX) return `a scratch buffer of ${largest} bytes exceeds the ${WINOGRAD_SCRATCH_MAX} every device binds`;
  const size = limits.subgroupSize ?? 0;
  if (v.unrolled) {
    if (v.rows * v.channels > WINOGRAD_UNROLLED_ACCUMULATORS_MAX) return `the tile ${v.rows} x ${v.channels} has more than ${WINOGRAD_UNROLLED_ACCUMULATORS_MAX} accumulators`;
    if (!v.subgroups) return null;
    if (!size) return 'the device has no subgroups of one fixed size';
    if (size > WINOGRAD_UNROLLED_SUBGROUP_MAX) return `its broadcasts are written out for subgroups of at most ${WINOGRAD_UNROLLED_SUBGROUP_MAX} lanes, not ${size}`;
    if (v.lanes !== size) return `${v.lanes} lanes are not one ${size}-wide subgroup`;
    return null;
  }
  if (v.rows > WINOGRAD_ROWS_MAX || v.channels > WINOGRAD_CHANNELS_MAX) return `the tile ${v.rows} x ${v.channels} exceeds the shader's ${WINOGRAD_ROWS_MAX} x ${WINOGRAD_CHANNELS_MAX}`;
  if (!v.subgroups) return null;
  if (!size) return 'the device has no subgroups of one fixed size';
  if (v.lanes % size) return `${v.lanes} lanes are not a whole number of ${size}-wide subgroups`;
  return null;
}

/** Software adapters: one SIMD batch of lanes (lavapipe's 8) a workgroup, as the GEMM's. */
const SOFTWARE_LANES = 8;

/**
 * The candidates for a layer on an adapter of class `cls`, the most promising first: F(4x4)
 * before F(2x2) (on lavapipe and SwiftShader F(4x4) ran fastest on every ResNet-50 3x3 layer
 * measured), each with the GEMM tilings the class runs best. Software adapters: the looped GEMM,
 * its input shared through subgroups where they fit, 16 rows by as many channels a lane as
 * Cout fits (the GEMM's default tile) on 8 lanes, 16 x 8 on 16 lanes and 8 x 8 on 8; SwiftShader
 * first the GEMM written out, on one subgroup (8 x 4, 16 x 4 and 8 x 2: 8 x 4 ran fastest, 8 x 8
 * spilled) and on 8 lanes without; GPUs: the register tile on as many lanes as cover Cout.
 * None where Winograd cannot run the layer.
 */
export function winogradCandidates(layer: { g: ConvGeometry; p: Conv2dParams }, cls: AdapterClass, limits: KernelLimits): WinogradVariant[] {
  if (!runsWinograd(layer)) return [];
  const { cout } = layer.g;
  const size = limits.subgroupSize ?? 0;
  const tiles = [4, 2] as const;
  const out: WinogradVariant[] = [];
  if (cls === 'swiftshader') {
    for (const tile of tiles) {
      if (size && size <= WINOGRAD_UNROLLED_SUBGROUP_MAX) {
        for (const [rows, channels] of [[8, 4], [16, 4], [8, 2]]) out.push({ tile, unrolled: true, rows, channels, lanes: size, subgroups: true });
      }
      out.push({ tile, unrolled: true, rows: 8, channels: 4, lanes: SOFTWARE_LANES, subgroups: false });
    }
  }
  for (const tile of tiles) {
    if (onCpu(cls)) {
      const subgroups = size > 0 && SOFTWARE_LANES % size === 0;
      const tilings = [[16, channelsPerLane(cout, SOFTWARE_LANES), SOFTWARE_LANES], [16, 8, 2 * SOFTWARE_LANES], [8, 8, SOFTWARE_LANES]];
      for (const [rows, channels, lanes] of tilings) out.push({ tile, unrolled: false, rows, channels, lanes, subgroups: subgroups && lanes % size === 0 });
    } else {
      for (const rows of [8, 16]) out.push({ tile, unrolled: false, rows, channels: 4, lanes: lanesFor(cout, 4, 32), subgroups: false });
    }
  }
  return distinctValid(out, winogradVariantName, (v) => winogradVariantProblem(layer, v, limits));
}
