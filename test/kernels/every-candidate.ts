// Every candidate a tuner may choose for a layer, run against the CPU reference: tuning may
// change only speed. A family's space (every variant of every algorithm that can run the layer)
// is taken on each adapter class, so the candidates lavapipe would never be offered (SwiftShader's
// written-out kernels, the GPU's wide workgroups and split-K) run here too. A new algorithm or
// variant is tested by being in its family's space: no test is copied for it.
import { expect } from 'chai';
import type { GpuContext } from '../../src/gpu/context.js';
import type { AdapterClass } from '../../src/kernels/candidates.js';
import { UNROLLED_SUBGROUP_MAX } from '../../src/kernels/conv2d/gemm/types.js';
import type { Candidate, LayerSpace } from '../../src/kernels/tuning.js';

export const ADAPTER_CLASSES: readonly AdapterClass[] = ['software', 'swiftshader', 'gpu'];

/**
 * Runs `check` on every candidate of the layer's space on every adapter class (each name once,
 * in the order the classes offer them) and returns the candidates run. `spaceOn` gives the
 * layer's space as an adapter of class `cls` would see it.
 */
export async function everyCandidate<V>(spaceOn: (cls: AdapterClass) => LayerSpace<V>, check: (variant: V, name: string) => Promise<unknown>): Promise<Candidate<V>[]> {
  const seen = new Set<string>();
  const candidates = ADAPTER_CLASSES.flatMap((cls) => spaceOn(cls).candidates).filter((c) => !seen.has(c.name) && seen.add(c.name));
  expect(candidates.length, 'candidates').to.be.at.least(1);
  for (const c of candidates) await check(c.variant, c.name);
  console.log(`      (${candidates.length} candidates)`);
  return candidates;
}

/**
 * Whether the adapter's subgroups are as narrow as lavapipe's (8 lanes): there the tests' small
 * layers are offered every subgroup variant (the written-out tiles' broadcasts are written for at
 * most UNROLLED_SUBGROUP_MAX lanes; the others' lanes are whole subgroups, so NVIDIA's 32-wide
 * ones leave the 8- and 16-lane variants out). The tests expect those variants only here.
 */
export function narrowSubgroups(ctx: GpuContext): boolean {
  const size = ctx.kernelLimits.subgroupSize ?? 0;
  return size > 0 && size <= UNROLLED_SUBGROUP_MAX;
}
