// What a GEMM variant covers of a layer: the pixels and channels a workgroup computes, the
// workgroups a split launches, the workgroup memory the matrix kernel stages.
import type { ConvGeometry } from '../params.js';
import type { GemmVariant, MatrixGemm } from './types.js';

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

/** Workgroup memory of the matrix kernel: two stages of the A and B tiles in the storage type, and an f32 result matrix per subgroup. */
export function matrixWorkgroupBytes(v: MatrixGemm, dtype: 'f32' | 'f16'): number {
  const { pixels, channels } = gemmBlock(v);
  const bk = v.KS * v.k;
  return 2 * (pixels + channels) * bk * (dtype === 'f16' ? 2 : 4) + v.SGM * v.SGN * v.m * v.n * 4;
}

