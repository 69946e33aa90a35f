// Fused bilinear resize + argmax over channels (see resize_argmax.wgsl): the class map
// at a photo's size without materialising logits at that size.
import type { GpuContext } from '../../gpu/context.js';
import type { Dispatch } from '../../gpu/dispatch.js';
import { linearGrid, makeDispatch } from '../../gpu/dispatch.js';
import type { KernelSpec } from '../../gpu/pipeline-cache.js';
import { type GpuTensor, type Shape, numel, shapeString } from '../../gpu/tensor.js';
import { expectShape } from '../checks.js';
import { type ResizeParams, resizeBilinearOutputShape, resizeBilinearRowsCpu, resizeModeCode, resizeUniforms } from './resize.js';
import { argmaxCpu } from '../softmax/softmax.js';

const WG = 256;
const KERNEL = 'resizeArgmax';

/** [N,H,W,C] -> [N,outH,outW] (u32). */
export function resizeArgmaxOutputShape(shape: Shape, p: ResizeParams): number[] {
  return resizeBilinearOutputShape(shape, p).slice(0, 3);
}

export function resizeArgmaxSpec(p: ResizeParams): KernelSpec {
  return { shader: 'resize_argmax.wgsl', constants: { MODE: resizeModeCode(p.mode), WG } };
}

export function prepareResizeArgmax(ctx: GpuContext, t: { input: GpuTensor; out: GpuTensor }, p: ResizeParams): Dispatch {
  const outShape = resizeArgmaxOutputShape(t.input.shape, p);
  expectShape(t.out.shape, outShape, KERNEL, 'out');
  if (t.input.dtype !== 'f32' || t.out.dtype !== 'u32') {
    throw new Error(`${KERNEL}: expects f32 input and u32 output, got ${t.input.dtype} and ${t.out.dtype}`);
  }
  const total = numel(outShape);
  return makeDispatch(ctx, {
    label: `${KERNEL}(${p.mode}) ${shapeString(t.input.shape)} -> ${p.outH}x${p.outW}`,
    spec: resizeArgmaxSpec(p),
    uniforms: resizeUniforms(total, t.input.shape, p),
    buffers: [t.input, t.out],
    workgroups: linearGrid(ctx, total, WG),
  });
}

/** CPU reference: the resize, then the argmax, a row at a time (no full-size logits). */
export function resizeArgmaxCpu(x: Float32Array, shape: Shape, p: ResizeParams): Uint32Array {
  const out = new Uint32Array(numel(resizeArgmaxOutputShape(shape, p)));
  const C = shape[3];
  resizeBilinearRowsCpu(x, shape, p, (n, oy, row) => out.set(argmaxCpu(row, [p.outW, C]), (n * p.outH + oy) * p.outW));
  return out;
}
