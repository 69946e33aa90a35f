// The GEMM variants' names: short and stable, since the tuning store keeps choices by them
// ('r16c8l8k1', 'w64x64b16t4x4v4k2', ...), and parsed back.
import type { GemmVariant } from './types.js';

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

