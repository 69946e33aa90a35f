// A tensor's range with zero in it, min(0, min x) and max(0, max x), in two passes without
// atomics: min_max.wgsl folds equal shares of the values into one pair per workgroup (at most
// MAX_RANGE_GROUPS), and the caller's one-workgroup pass folds the pairs (dynamic quantisation's
// quantize_range.wgsl, which computes its scale there too).
import type { GpuContext } from '../../gpu/context.js';
import { type Dispatch, Uniforms, makeDispatch } from '../../gpu/dispatch.js';
import type { KernelSpec } from '../../gpu/pipeline-cache.js';
import type { GpuTensor } from '../../gpu/tensor.js';

/** Invocations a workgroup of min_max.wgsl has (its WG, a constant of the shader). */
const WG = 256;
/** The most partial pairs: what one workgroup of the folding pass takes, one pair an invocation. */
export const MAX_RANGE_GROUPS = 256;
/** Values an invocation folds at least before another workgroup is worth starting. */
const PER_INVOCATION = 8;

/** How many workgroups share `total` values, and how many each folds. */
export function rangeGroups(total: number): { groups: number; perGroup: number } {
  if (!Number.isInteger(total) || total < 1) throw new Error(`minMax: needs at least one value, got ${total}`);
  const groups = Math.min(MAX_RANGE_GROUPS, Math.ceil(total / (WG * PER_INVOCATION)));
  const perGroup = Math.ceil(total / groups);
  return { groups: Math.ceil(total / perGroup), perGroup };
}

export function minMaxSpec(): KernelSpec {
  return { shader: 'min_max.wgsl' };
}

/** The dispatch writing `partial` (f32 [2 * groups]): each workgroup's (min(0, min), max(0, max)) of its share of `input`. */
export function prepareMinMax(ctx: GpuContext, t: { input: GpuTensor; partial: GPUBuffer }): Dispatch {
  if (t.input.dtype !== 'f32') throw new Error(`minMax: reads f32, got ${t.input.dtype}`);
  const { groups, perGroup } = rangeGroups(t.input.size);
  if (t.partial.size < 8 * groups) throw new Error(`minMax: partial holds ${t.partial.size} bytes, needs ${8 * groups}`);
  return makeDispatch(ctx, {
    label: `minMax ${t.input.size} in ${groups} groups`,
    spec: minMaxSpec(),
    uniforms: new Uniforms().u32(t.input.size).u32(perGroup),
    buffers: [t.input, t.partial],
    workgroups: [groups, 1, 1],
  });
}

/** CPU reference of the partial pairs, workgroup by workgroup. */
export function minMaxPartialsCpu(x: Float32Array): Float32Array {
  const { groups, perGroup } = rangeGroups(x.length);
  const out = new Float32Array(2 * groups);
  for (let g = 0; g < groups; g++) {
    let [lo, hi] = [0, 0];
    for (let i = g * perGroup; i < Math.min(x.length, (g + 1) * perGroup); i++) [lo, hi] = [Math.min(lo, x[i]), Math.max(hi, x[i])];
    [out[2 * g], out[2 * g + 1]] = [lo, hi];
  }
  return out;
}
