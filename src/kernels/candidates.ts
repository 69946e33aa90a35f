// What every kernel family's candidate space is built from: the adapter class a default is
// chosen for, lane counts, and the list of valid, distinct candidates.
import type { GpuContext } from '../gpu/context.js';

/** Defaults are chosen per adapter class: CPU implementations (lavapipe, SwiftShader) and GPUs. */
export type AdapterClass = 'software' | 'gpu';

export function adapterClass(ctx: GpuContext): AdapterClass {
  return ctx.isSoftware ? 'software' : 'gpu';
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
