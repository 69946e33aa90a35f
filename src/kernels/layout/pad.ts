// Zero padding and cropping of an NHWC map's sides, each side by its own amount: positive pads
// with zeros, negative crops. Its gradient is the same op with every amount negated.
import type { GpuContext } from '../../gpu/context.js';
import type { Dispatch } from '../../gpu/dispatch.js';
import { Uniforms, linearGrid, makeDispatch } from '../../gpu/dispatch.js';
import type { KernelSpec } from '../../gpu/pipeline-cache.js';
import { type GpuTensor, type Shape, numel, shapeString, validateShape } from '../../gpu/tensor.js';
import { expectRank, expectShape } from '../checks.js';
import { type FloatArray, zerosLike } from '../cpu-arrays.js';

const WG = 256;

/** Rows or columns added (positive, zeros) or removed (negative) on each side. */
export interface PadParams {
  top: number;
  bottom: number;
  left: number;
  right: number;
}

export function padSpec(): KernelSpec {
  return { shader: 'pad.wgsl', constants: { WG } };
}

/** The amounts that undo `p`: the gradient of a pad. */
export function inversePad(p: PadParams): PadParams {
  return { top: -p.top, bottom: -p.bottom, left: -p.left, right: -p.right };
}

/** Checks the input and the amounts; returns the output shape [N, H + top + bottom, W + left + right, C]. */
export function padOutputShape(shape: Shape, p: PadParams): number[] {
  expectRank(shape, 4, 'pad', 'input');
  validateShape(shape, 'pad: input');
  for (const [side, v] of Object.entries(p)) if (!Number.isInteger(v)) throw new Error(`pad: ${side} must be an integer, got ${String(v)}`);
  const [N, H, W, C] = shape;
  const [outH, outW] = [H + p.top + p.bottom, W + p.left + p.right];
  if (outH < 1 || outW < 1) throw new Error(`pad: cropping ${shapeString(shape)} by ${JSON.stringify(p)} leaves ${outH}x${outW}`);
  return [N, outH, outW, C];
}

export function preparePad(ctx: GpuContext, t: { input: GpuTensor; out: GpuTensor }, p: PadParams): Dispatch {
  const shape = padOutputShape(t.input.shape, p);
  expectShape(t.out.shape, shape, 'pad', 'out');
  const [, H, W, C] = t.input.shape;
  const total = numel(shape);
  return makeDispatch(ctx, {
    label: `pad ${shapeString(t.input.shape)} -> ${shapeString(shape)}`,
    spec: padSpec(),
    uniforms: new Uniforms().u32(total).u32(shape[1]).u32(shape[2]).u32(C).u32(H).u32(W).i32(p.top).i32(p.left),
    buffers: [t.input, t.out],
    workgroups: linearGrid(ctx, total, WG),
  });
}

/** CPU reference. */
export function padCpu<T extends FloatArray>(x: T, shape: Shape, p: PadParams): T {
  const [N, outH, outW, C] = padOutputShape(shape, p);
  const [, H, W] = shape;
  if (x.length !== numel(shape)) throw new Error(`pad: ${x.length} values for ${shapeString(shape)}`);
  const out = zerosLike(x, N * outH * outW * C);
  // Each row's kept pixels are contiguous in both: one copy a row.
  const [x0, x1] = [Math.max(0, p.left), Math.min(outW, W + p.left)];
  if (x1 <= x0) return out;
  for (let n = 0; n < N; n++)
    for (let y = Math.max(0, p.top); y < Math.min(outH, H + p.top); y++) {
      const src = ((n * H + y - p.top) * W + x0 - p.left) * C;
      out.set(x.subarray(src, src + (x1 - x0) * C), ((n * outH + y) * outW + x0) * C);
    }
  return out;
}
