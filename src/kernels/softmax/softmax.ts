// Softmax and argmax over the last axis: class probabilities and the label map at the end of
// the network (the channels of NHWC), and attention's weights over the keys; softmax's gradient.
import type { GpuContext } from '../../gpu/context.js';
import type { Dispatch } from '../../gpu/dispatch.js';
import { Uniforms, linearGrid, makeDispatch, runToNewTensor } from '../../gpu/dispatch.js';
import type { KernelSpec } from '../../gpu/pipeline-cache.js';
import { type DType, type GpuTensor, type Shape, numel, shapeString, validateShape } from '../../gpu/tensor.js';
import { expectShape } from '../checks.js';
import { type FloatArray, zerosLike } from '../cpu-arrays.js';

const WG = 256;

function expectDtype(t: GpuTensor, dtype: DType, kernel: string, operand: string): void {
  if (t.dtype !== dtype) {
    throw new Error(`${kernel}: ${operand} ${shapeString(t.shape)} must be ${dtype}, got ${t.dtype}`);
  }
}

/** Rows (all leading axes) and channels (last axis) of a tensor. */
function rowsAndChannels(shape: Shape): [number, number] {
  const C = shape[shape.length - 1];
  return [numel(shape) / C, C];
}

// ---------------------------------------------------------------- softmax

export function softmaxSpec(): KernelSpec {
  return { shader: 'softmax.wgsl', constants: { WG } };
}

/** Same shape as the input. */
export function softmaxOutputShape(shape: Shape): number[] {
  validateShape(shape, 'softmax: input');
  return [...shape];
}

/** f32 tensors, or f16 ones (half precision: f16 storage, f32 arithmetic). */
export function prepareSoftmax(ctx: GpuContext, t: { input: GpuTensor; out: GpuTensor }): Dispatch {
  expectShape(t.out.shape, softmaxOutputShape(t.input.shape), 'softmax', 'out');
  expectDtype(t.input, t.input.dtype === 'f16' ? 'f16' : 'f32', 'softmax', 'input');
  expectDtype(t.out, t.input.dtype, 'softmax', 'out');
  const [rows, C] = rowsAndChannels(t.input.shape);
  return makeDispatch(ctx, {
    label: `softmax ${shapeString(t.input.shape)}`,
    spec: softmaxSpec(),
    uniforms: new Uniforms().u32(rows).u32(C),
    buffers: [t.input, t.out],
    workgroups: linearGrid(ctx, rows, WG),
  });
}

export function softmax(ctx: GpuContext, input: GpuTensor): Promise<GpuTensor> {
  return runToNewTensor(ctx, softmaxOutputShape(input.shape), 'softmax', (out) => prepareSoftmax(ctx, { input, out }));
}

/** CPU reference: exp(x - max) / sum over the last axis, in double precision. */
export function softmaxCpu<T extends FloatArray>(x: T, shape: Shape): T {
  softmaxOutputShape(shape);
  const [rows, C] = rowsAndChannels(shape);
  const out = zerosLike(x, x.length);
  for (let r = 0; r < rows; r++) {
    const row = x.subarray(r * C, (r + 1) * C);
    const m = Math.max(...row);
    let sum = 0;
    for (const v of row) sum += Math.exp(v - m);
    for (let c = 0; c < C; c++) out[r * C + c] = Math.exp(row[c] - m) / sum;
  }
  return out;
}

// ---------------------------------------------------------------- softmax's gradient

export function softmaxGradSpec(): KernelSpec {
  return { shader: 'softmax_grad.wgsl', constants: { WG } };
}

/** dx = y * (dy - sum(dy * y)) over the last axis, from the softmax's output y. */
export function prepareSoftmaxGrad(ctx: GpuContext, t: { y: GpuTensor; dy: GpuTensor; dx: GpuTensor }): Dispatch {
  validateShape(t.y.shape, 'softmaxGrad: y');
  expectShape(t.dy.shape, t.y.shape, 'softmaxGrad', 'dy');
  expectShape(t.dx.shape, t.y.shape, 'softmaxGrad', 'dx');
  for (const [name, x] of Object.entries(t)) expectDtype(x, 'f32', 'softmaxGrad', name);
  const [rows, C] = rowsAndChannels(t.y.shape);
  return makeDispatch(ctx, {
    label: `softmaxGrad ${shapeString(t.y.shape)}`,
    spec: softmaxGradSpec(),
    uniforms: new Uniforms().u32(rows).u32(C),
    buffers: [t.y, t.dy, t.dx],
    workgroups: linearGrid(ctx, rows, WG),
  });
}

/** CPU reference; float64 in, float64 out (and float32 likewise). */
export function softmaxGradCpu<T extends FloatArray>(y: T, dy: FloatArray, shape: Shape): T {
  validateShape(shape, 'softmaxGrad: y');
  if (y.length !== numel(shape) || dy.length !== y.length) throw new Error(`softmaxGrad: ${y.length} outputs and ${dy.length} gradients for ${shapeString(shape)}`);
  const [rows, C] = rowsAndChannels(shape);
  const dx = zerosLike(y, y.length);
  for (let r = 0; r < rows; r++) {
    let dot = 0;
    for (let c = 0; c < C; c++) dot += dy[r * C + c] * y[r * C + c];
    for (let c = 0; c < C; c++) dx[r * C + c] = y[r * C + c] * (dy[r * C + c] - dot);
  }
  return dx;
}

// ---------------------------------------------------------------- argmax

export function argmaxSpec(): KernelSpec {
  return { shader: 'argmax.wgsl', constants: { WG } };
}

/** The input shape without its last axis: [N,H,W,C] -> [N,H,W]. */
export function argmaxOutputShape(shape: Shape): number[] {
  if (shape.length < 2) throw new Error(`argmax: input must have rank >= 2, got shape ${shapeString(shape)}`);
  validateShape(shape, 'argmax: input');
  return shape.slice(0, -1);
}

/** Ties go to the lowest channel index (numpy / torch). NaN inputs are never selected. */
export function prepareArgmax(ctx: GpuContext, t: { input: GpuTensor; out: GpuTensor }): Dispatch {
  expectShape(t.out.shape, argmaxOutputShape(t.input.shape), 'argmax', 'out');
  expectDtype(t.input, 'f32', 'argmax', 'input');
  expectDtype(t.out, 'u32', 'argmax', 'out');
  const [rows, C] = rowsAndChannels(t.input.shape);
  return makeDispatch(ctx, {
    label: `argmax ${shapeString(t.input.shape)}`,
    spec: argmaxSpec(),
    uniforms: new Uniforms().u32(rows).u32(C),
    buffers: [t.input, t.out],
    workgroups: linearGrid(ctx, rows, WG),
  });
}

/** Returns a u32 tensor of channel indices. */
export function argmax(ctx: GpuContext, input: GpuTensor): Promise<GpuTensor> {
  return runToNewTensor(ctx, argmaxOutputShape(input.shape), 'argmax', (out) => prepareArgmax(ctx, { input, out }), 'u32');
}

/** CPU reference: first index of the maximum of each row. */
export function argmaxCpu(x: Float32Array, shape: Shape): Uint32Array {
  argmaxOutputShape(shape);
  const [rows, C] = rowsAndChannels(shape);
  const out = new Uint32Array(rows);
  for (let r = 0; r < rows; r++) {
    let best = 0;
    for (let c = 1; c < C; c++) if (x[r * C + c] > x[r * C + best]) best = c;
    out[r] = best;
  }
  return out;
}
