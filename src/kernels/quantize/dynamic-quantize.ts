// Dynamic quantisation as onnxruntime's DynamicQuantizeLinear computes it (its q8 files quantise
// every convolution's and matrix product's input this way at run time), in three dispatches:
// the tensor's range with zero in it (../reduce/min_max.wgsl, then quantize_range.wgsl's fold),
//   scale = (max - min) / 255 (1 where max == min), zero_point = round(clamp(-min / scale, 0, 255)),
// and each value's code less the zero point (quantize_dynamic.wgsl),
//   values = clamp(round(x / scale), -zero_point, 255 - zero_point),
// every operation rounded once as f32 and every rounding to an integer to even, as onnxruntime's
// (x / scale an IEEE division: div_rn.wgsl, WGSL's `/` may err by 2.5 ULP). The values are
// integers in [-255, 255] held as f32, so a convolution or product of them with integer weights
// sums exactly in f32 while its sums stay within 2^24.
import type { GpuContext } from '../../gpu/context.js';
import { type Dispatch, Uniforms, disposeDispatch, linearGrid, makeDispatch } from '../../gpu/dispatch.js';
import type { KernelSpec } from '../../gpu/pipeline-cache.js';
import { STORAGE_USAGE } from '../../gpu/buffer-pool.js';
import { type GpuTensor, shapeString } from '../../gpu/tensor.js';
import { roundHalfEven } from '../../util/round-half-even.js';
import { expectShape } from '../checks.js';
import { MAX_RANGE_GROUPS, minMaxSpec, prepareMinMax, rangeGroups } from '../reduce/min-max.js';

const WG = 256;
const f32 = Math.fround;

export function quantizeRangeSpec(): KernelSpec {
  return { shader: 'quantize_range.wgsl' };
}

export function quantizeDynamicSpec(): KernelSpec {
  return { shader: 'quantize_dynamic.wgsl', constants: { WG } };
}

/** The kernels one dynamic quantisation compiles. */
export function dynamicQuantizeSpecs(): KernelSpec[] {
  return [minMaxSpec(), quantizeRangeSpec(), quantizeDynamicSpec()];
}

export interface DynamicQuantizeTensors {
  input: GpuTensor;
  /** The codes less the zero point, as `input`. */
  values: GpuTensor;
  /** [1] each. */
  scale: GpuTensor;
  zeroPoint: GpuTensor;
}

/** The three dispatches (the first owns the partial ranges' scratch). */
export function prepareDynamicQuantize(ctx: GpuContext, t: DynamicQuantizeTensors): Dispatch[] {
  expectShape(t.values.shape, t.input.shape, 'dynamicQuantize', 'values');
  expectShape(t.scale.shape, [1], 'dynamicQuantize', 'scale');
  expectShape(t.zeroPoint.shape, [1], 'dynamicQuantize', 'zeroPoint');
  for (const [name, x] of Object.entries(t)) if (x.dtype !== 'f32') throw new Error(`dynamicQuantize: ${name} must be f32, got ${x.dtype}`);
  const total = t.input.size;
  const { groups } = rangeGroups(total);
  const label = `dynamicQuantize ${shapeString(t.input.shape)}`;
  const partial = ctx.createBuffer(8 * MAX_RANGE_GROUPS, STORAGE_USAGE, `${label}:ranges`);
  const made: Dispatch[] = [];
  try {
    made.push({ ...prepareMinMax(ctx, { input: t.input, partial }), ownedBuffers: [partial] });
    made.push(
      makeDispatch(ctx, {
        label: `${label} scale`,
        spec: quantizeRangeSpec(),
        uniforms: new Uniforms().u32(groups),
        buffers: [partial, t.scale, t.zeroPoint],
        workgroups: [1, 1, 1],
      }),
    );
    made.push(
      makeDispatch(ctx, {
        label,
        spec: quantizeDynamicSpec(),
        uniforms: new Uniforms().u32(total),
        buffers: [t.input, t.scale, t.zeroPoint, t.values],
        workgroups: linearGrid(ctx, total, WG),
      }),
    );
    return made;
  } catch (e) {
    // Nothing made is kept: the scratch and the uniforms of the dispatches made so far.
    if (made.length === 0) ctx.destroyBuffer(partial);
    for (const d of made) disposeDispatch(ctx, d);
    throw e;
  }
}

export interface DynamicQuantized {
  values: Float32Array;
  scale: number;
  zeroPoint: number;
}

/**
 * CPU reference, onnxruntime's arithmetic: each f32 operation as a double rounded to f32, which
 * is the f32 operation's correctly rounded result for +, - and / (53 >= 2 * 24 + 2 bits).
 */
export function dynamicQuantizeCpu(x: ArrayLike<number>): DynamicQuantized {
  let [lo, hi] = [0, 0];
  for (let i = 0; i < x.length; i++) [lo, hi] = [Math.min(lo, x[i]), Math.max(hi, x[i])];
  const scale = hi === lo ? 1 : f32(f32(hi - lo) / 255);
  const zeroPoint = roundHalfEven(Math.min(255, Math.max(0, f32(0 - f32(lo / scale)))));
  const values = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) values[i] = Math.min(255 - zeroPoint, Math.max(-zeroPoint, roundHalfEven(f32(x[i] / scale))));
  return { values, scale, zeroPoint };
}
