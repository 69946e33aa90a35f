// Fused bilinear resize + argmax over channels (see resize_argmax.wgsl): the class map
// at a photo's size without materialising logits at that size.
import type { GpuContext } from '../../gpu/context.js';
import type { Dispatch } from '../../gpu/dispatch.js';
import { linearGrid, makeDispatch } from '../../gpu/dispatch.js';
import type { KernelSpec } from '../../gpu/pipeline-cache.js';
import { type GpuTensor, type Shape, numel, shapeString } from '../../gpu/tensor.js';
import { expectShape } from '../checks.js';
import { type ResizeParams, axisTapsCpu, blendPixel, resizeBilinearOutputShape, resizeModeCode, resizeUniforms } from './resize.js';

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

/**
 * Each source pixel's class where it wins by a margin no rounding of a blend can overturn, else
 * -1: the top value (the lowest class on ties) must beat the second by more than 1e-5 x (1 + the
 * largest |value| of the input).
 */
function clearWinners(x: Float32Array, pixels: number, C: number): Int32Array {
  let largest = 0;
  for (let i = 0; i < x.length; i++) largest = Math.max(largest, Math.abs(x[i]));
  const margin = 1e-5 * (1 + largest);
  const winners = new Int32Array(pixels);
  for (let p = 0; p < pixels; p++) {
    let best = 0;
    let second = -Infinity;
    for (let k = 1; k < C; k++) {
      const v = x[p * C + k];
      if (v > x[p * C + best]) [second, best] = [x[p * C + best], k];
      else if (v > second) second = v;
    }
    // NaN fails the comparison: such a pixel takes the full computation.
    winners[p] = C === 1 || x[p * C + best] - second > margin ? best : -1;
  }
  return winners;
}

/**
 * CPU reference: the resize, then the argmax (ties to the lowest class), a row at a time with no
 * full-size logits. An output pixel whose four source pixels share a clear winner (clearWinners)
 * takes that class without blending: a blend is a convex combination, so for every class k its
 * blended value is below the winner's by at least the smallest of the four margins, and that
 * margin (1e-5 of the largest value) exceeds any rounding of the blend (a few parts in 1e8 of it)
 * by orders of magnitude: the same class the full computation gives. Most of an image's pixels
 * lie inside a region of one class, so this is most of the work saved.
 */
export function resizeArgmaxCpu(x: Float32Array, shape: Shape, p: ResizeParams): Uint32Array {
  const out = new Uint32Array(numel(resizeArgmaxOutputShape(shape, p)));
  const [N, H, W, C] = shape;
  const { outH, outW, mode } = p;
  const winners = clearWinners(x, N * H * W, C);
  const xs = axisTapsCpu(W, outW, mode);
  const ys = axisTapsCpu(H, outH, mode);
  // One pixel's blended values, rounded to float32 as the resize stores them.
  const values = new Float32Array(C);
  for (let n = 0; n < N; n++) {
    for (let oy = 0; oy < outH; oy++) {
      const [y0, y1, ly] = ys[oy];
      const [top, bottom] = [(n * H + y0) * W, (n * H + y1) * W];
      for (let ox = 0; ox < outW; ox++) {
        const [x0, x1, lx] = xs[ox];
        const [a, b, c, d] = [top + x0, top + x1, bottom + x0, bottom + x1];
        const w = winners[a];
        const o = (n * outH + oy) * outW + ox;
        if (w >= 0 && winners[b] === w && winners[c] === w && winners[d] === w) {
          out[o] = w;
          continue;
        }
        blendPixel(x, values, 0, C, a * C, b * C, c * C, d * C, lx, ly);
        let best = 0;
        for (let k = 1; k < C; k++) if (values[k] > values[best]) best = k;
        out[o] = best;
      }
    }
  }
  return out;
}
