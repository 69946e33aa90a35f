// Channel concatenation of NHWC tensors (ASPP's five branches -> 1280 channels). One copy
// dispatch per input, each writing its own channel range of the shared output.
import type { GpuContext } from '../../gpu/context.js';
import type { Dispatch } from '../../gpu/dispatch.js';
import { Uniforms, disposeDispatch, linearGrid, makeDispatch, runToNewTensor } from '../../gpu/dispatch.js';
import type { KernelSpec } from '../../gpu/pipeline-cache.js';
import { type GpuTensor, type Shape, numel, shapeString, validateShape } from '../../gpu/tensor.js';
import { expectRank, expectShape } from '../checks.js';
import { type FloatArray, zerosLike } from '../cpu-arrays.js';

const WG = 256;

export function concatSpec(): KernelSpec {
  return { shader: 'concat.wgsl', constants: { WG } };
}

/** [N,H,W,C_i]... -> [N,H,W,sum C_i]; every input must agree on N, H and W. */
export function concatOutputShape(shapes: readonly Shape[]): number[] {
  if (shapes.length === 0) throw new Error('concat: needs at least one input');
  shapes.forEach((s, i) => {
    expectRank(s, 4, 'concat', `inputs[${i}]`);
    validateShape(s, `concat: inputs[${i}]`);
  });
  const [N, H, W] = shapes[0];
  let channels = 0;
  shapes.forEach((s, i) => {
    if (s[0] !== N || s[1] !== H || s[2] !== W) {
      throw new Error(
        `concat: inputs[${i}] has shape ${shapeString(s)} but inputs[0] is ${shapeString(shapes[0])}; ` +
          `N, H and W must match (only channels may differ)`,
      );
    }
    channels += s[3];
  });
  return [N, H, W, channels];
}

export function prepareConcat(ctx: GpuContext, t: { inputs: GpuTensor[]; out: GpuTensor }): Dispatch[] {
  const shapes = t.inputs.map((x) => x.shape);
  const outShape = concatOutputShape(shapes);
  expectShape(t.out.shape, outShape, 'concat', 'out');
  const Cout = outShape[3];
  const dispatches: Dispatch[] = [];
  let offset = 0;
  try {
    t.inputs.forEach((input, i) => {
      const total = input.size;
      dispatches.push(
        makeDispatch(ctx, {
          label: `concat[${i}] ${shapeString(input.shape)} -> channels ${offset}..${offset + input.shape[3] - 1} of ${Cout}`,
          spec: concatSpec(),
          uniforms: new Uniforms().u32(total).u32(input.shape[3]).u32(Cout).u32(offset),
          buffers: [input, t.out],
          workgroups: linearGrid(ctx, total, WG),
        }),
      );
      offset += input.shape[3];
    });
  } catch (e) {
    // Do not leak the uniform buffers of the dispatches made before the failure.
    for (const d of dispatches) disposeDispatch(ctx, d);
    throw e;
  }
  return dispatches;
}

export function concat(ctx: GpuContext, inputs: GpuTensor[]): Promise<GpuTensor> {
  return runToNewTensor(ctx, concatOutputShape(inputs.map((x) => x.shape)), 'concat', (out) =>
    prepareConcat(ctx, { inputs, out }),
  );
}

/** CPU reference. */
export function concatCpu<T extends FloatArray>(xs: readonly T[], shapes: readonly Shape[]): T {
  if (xs.length !== shapes.length) throw new Error(`concat: ${xs.length} arrays but ${shapes.length} shapes`);
  const outShape = concatOutputShape(shapes);
  const pixels = outShape[0] * outShape[1] * outShape[2];
  const Cout = outShape[3];
  const out = zerosLike(xs[0], numel(outShape));
  let offset = 0;
  xs.forEach((x, i) => {
    const Ci = shapes[i][3];
    for (let p = 0; p < pixels; p++) {
      for (let c = 0; c < Ci; c++) out[p * Cout + offset + c] = x[p * Ci + c];
    }
    offset += Ci;
  });
  return out;
}

// ---------------------------------------------------------------- channel slice (concat's gradient)

export function channelSliceSpec(): KernelSpec {
  return { shader: 'channel_slice.wgsl', constants: { WG } };
}

/** out [N,H,W,C] = channels [offset, offset + C) of input [N,H,W,Cin]. */
export function prepareChannelSlice(ctx: GpuContext, t: { input: GpuTensor; out: GpuTensor }, offset: number): Dispatch {
  expectRank(t.input.shape, 4, 'channelSlice', 'input');
  expectRank(t.out.shape, 4, 'channelSlice', 'out');
  const [N, H, W, Cin] = t.input.shape;
  const C = t.out.shape[3];
  expectShape(t.out.shape, [N, H, W, C], 'channelSlice', 'out');
  if (!Number.isInteger(offset) || offset < 0 || offset + C > Cin) {
    throw new Error(`channelSlice: channels [${offset}, ${offset + C}) are outside the input's ${Cin}`);
  }
  return makeDispatch(ctx, {
    label: `channelSlice ${shapeString(t.input.shape)}[${offset}:${offset + C}]`,
    spec: channelSliceSpec(),
    uniforms: new Uniforms().u32(t.out.size).u32(C).u32(Cin).u32(offset),
    buffers: [t.input, t.out],
    workgroups: linearGrid(ctx, t.out.size, WG),
  });
}

/** CPU reference. */
export function channelSliceCpu<T extends Float32Array | Float64Array>(x: T, shape: Shape, offset: number, channels: number): T {
  const [N, H, W, Cin] = shape;
  if (offset < 0 || offset + channels > Cin) throw new Error(`channelSlice: channels [${offset}, ${offset + channels}) are outside the input's ${Cin}`);
  const out = new (x.constructor as { new (n: number): T })(N * H * W * channels);
  for (let p = 0; p < N * H * W; p++) for (let c = 0; c < channels; c++) out[p * channels + c] = x[p * Cin + offset + c];
  return out;
}
