// What every kernel family's candidate space is built from: the adapter class a default is
// chosen for, lane counts, and the list of valid, distinct candidates.
import type { GpuContext } from '../gpu/context.js';

/**
 * Candidate spaces and defaults are chosen per adapter class: 'gpu'; 'software', a CPU driver
 * whose shader compiler unrolls loops and vectorises across lanes (lavapipe, and software
 * adapters we do not know); 'swiftshader', Chromium's CPU adapter, which runs a shader as
 * written (loops stay loops, private arrays indexed in them stay in memory, every storage load
 * is a per-lane gather), so straight-line kernels with large register tiles run best there.
 * The two CPU classes share the looped kernels' candidate spaces; SwiftShader's also hold the
 * kernels written out as straight-line code (lavapipe's compiler makes those from the looped
 * ones itself, and would only compile them slowly). Their defaults differ, and tuning measures
 * which candidate runs fastest on the adapter at hand. A CPU adapter under wgpu (Firefox, Deno)
 * is of the 'swiftshader' class too: naga's loops reach the driver in a form it does not unroll,
 * so lavapipe runs them as SwiftShader does (measured: the written-out kernels 2.1x the looped
 * ones there, docs/performance.md).
 */
export type AdapterClass = 'software' | 'swiftshader' | 'gpu';

export function adapterClass(ctx: Pick<GpuContext, 'isSoftware' | 'adapterInfo' | 'implementation'>): AdapterClass {
  if (!ctx.isSoftware) return 'gpu';
  if (ctx.implementation === 'wgpu') return 'swiftshader';
  return /swiftshader/i.test(`${ctx.adapterInfo.vendor} ${ctx.adapterInfo.architecture} ${ctx.adapterInfo.description}`) ? 'swiftshader' : 'software';
}

/** Whether the class runs on the CPU (its candidate spaces are the software ones). */
export function onCpu(cls: AdapterClass): boolean {
  return cls !== 'gpu';
}

/** Lanes per workgroup: enough to cover Cout in steps of `perLane` channels, 8..max. */
export function lanesFor(cout: number, perLane: number, max: number): number {
  let lanes = 8;
  while (lanes < max && lanes * perLane < cout) lanes *= 2;
  return lanes;
}

/** `list` in order without repeats (by name) and without the variants that cannot run. */
export function distinctValid<T>(list: readonly T[], name: (v: T) => string, problem: (v: T) => string | null): T[] {
  const seen = new Set<string>();
  return list.filter((v) => {
    const key = name(v);
    if (seen.has(key) || problem(v)) return false;
    seen.add(key);
    return true;
  });
}

/** A layer's tuning key part for its pixels: bucketed to powers of 2 (nearby sizes share a choice). */
export function pixelBucket(pixels: number): number {
  return 2 ** Math.ceil(Math.log2(Math.max(1, pixels)));
}
