// Float precision casts between f32 and f16 tensors (cast.wgsl): where a
// half-precision program (src/graph/half.ts) takes its f32 input, hands back f32 outputs, and
// keeps f16 copies of the weights.
import type { GpuContext } from '../../gpu/context.js';
import type { Dispatch } from '../../gpu/dispatch.js';
import { Uniforms, linearGrid, makeDispatch, runToNewTensor } from '../../gpu/dispatch.js';
import { roundToHalf } from '../../gpu/half.js';
import type { KernelSpec } from '../../gpu/pipeline-cache.js';
import { type GpuTensor, shapeString } from '../../gpu/tensor.js';
import { expectShape } from '../checks.js';

export type FloatType = 'f32' | 'f16';

const WG = 256;

/** The kernel casting to `to` (always the shader's f16 variant: one side is f16). */
export function castSpec(to: FloatType): KernelSpec {
  return { shader: 'cast.wgsl', entryPoint: to === 'f16' ? 'to_half' : 'to_single', constants: { WG }, half: true };
}

export function prepareCast(ctx: GpuContext, t: { input: GpuTensor; out: GpuTensor }): Dispatch {
  const from = t.input.dtype;
  const to = t.out.dtype;
  if (!((from === 'f32' && to === 'f16') || (from === 'f16' && to === 'f32'))) {
    throw new Error(`cast: converts between f32 and f16, got ${from} -> ${to}`);
  }
  expectShape(t.out.shape, t.input.shape, 'cast', 'out');
  return makeDispatch(ctx, {
    label: `cast ${from}->${to} ${shapeString(t.input.shape)}`,
    spec: castSpec(to),
    uniforms: new Uniforms().u32(t.input.size),
    buffers: [t.input, t.out],
    workgroups: linearGrid(ctx, t.input.size, WG),
    mixesPrecision: true,
  });
}

/** Allocates the output and runs once. */
export function cast(ctx: GpuContext, input: GpuTensor, to: FloatType): Promise<GpuTensor> {
  return runToNewTensor(ctx, input.shape, `cast(${to})`, (out) => prepareCast(ctx, { input, out }), to);
}

/** CPU reference: f16 values are kept in f32 arrays, rounded to what f16 can hold. */
export function castCpu(x: Float32Array, to: FloatType): Float32Array {
  return to === 'f16' ? roundToHalf(x) : x.slice();
}
