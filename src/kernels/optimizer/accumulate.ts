// In-place gradient accumulation: acc = (first ? 0 : acc) + g, with `first` read from a
// one-element u32 tensor so the same dispatch serves the first and later micro-batches.
import type { GpuContext } from '../../gpu/context.js';
import type { Dispatch } from '../../gpu/dispatch.js';
import { Uniforms, linearGrid, makeDispatch } from '../../gpu/dispatch.js';
import type { KernelSpec } from '../../gpu/pipeline-cache.js';
import { type GpuTensor, shapeString } from '../../gpu/tensor.js';
import { expectShape } from '../checks.js';

const WG = 256;

export function accumulateSpec(): KernelSpec {
  return { shader: 'accumulate.wgsl', constants: { WG } };
}

export function prepareAccumulate(ctx: GpuContext, t: { g: GpuTensor; first: GpuTensor; acc: GpuTensor }): Dispatch {
  expectShape(t.g.shape, t.acc.shape, 'accumulate', 'g');
  if (t.first.size !== 1 || t.first.dtype !== 'u32') throw new Error(`accumulate: first must be one u32, got ${t.first.dtype} ${shapeString(t.first.shape)}`);
  if (t.g.dtype !== 'f32' || t.acc.dtype !== 'f32') throw new Error('accumulate: g and acc must be f32');
  return makeDispatch(ctx, {
    label: `accumulate ${shapeString(t.acc.shape)}`,
    spec: accumulateSpec(),
    uniforms: new Uniforms().u32(t.acc.size),
    buffers: [t.g, t.first, t.acc],
    workgroups: linearGrid(ctx, t.acc.size, WG),
  });
}

/** CPU reference (returns the new accumulator). */
export function accumulateCpu(acc: Float32Array, g: Float32Array, first: boolean): Float32Array {
  if (acc.length !== g.length) throw new Error(`accumulate: ${g.length} values into ${acc.length}`);
  return first ? Float32Array.from(g) : acc.map((a, i) => a + g[i]);
}
