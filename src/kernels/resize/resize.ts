// Bilinear resize of NHWC maps (ASPP image-pool broadcast, logits upsampled to the input).
// The three coordinate conventions in use give different numbers, so the mode is explicit.
import type { GpuContext } from '../../gpu/context.js';
import type { Dispatch } from '../../gpu/dispatch.js';
import { Uniforms, linearGrid, makeDispatch, runToNewTensor } from '../../gpu/dispatch.js';
import type { KernelSpec } from '../../gpu/pipeline-cache.js';
import { type GpuTensor, type Shape, numel, shapeString, validateShape } from '../../gpu/tensor.js';
import { expectPositiveInt, expectRank, expectShape } from '../checks.js';
import type { FloatType } from '../../gpu/tuning.js';
import { pixelBucket } from '../candidates.js';
import { precisionCandidates, precisionOf } from '../precision.js';
import { type LayerSpace, type TunableLayer, chosenCandidate, layerSpace, sourcesVersion, tunableLayer } from '../tuning.js';

/**
 * Source coordinate of output index d (in = input size, out = output size):
 *   align_corners: d*(in-1)/(out-1), 0 when out == 1 (PyTorch / TF align_corners=True)
 *   half_pixel:    max((d+0.5)*in/out - 0.5, 0) (PyTorch align_corners=False, TF2, TF half_pixel_centers)
 *   asymmetric:    d*in/out (TF1 default: align_corners=False, half_pixel_centers=False)
 */
export type ResizeMode = 'align_corners' | 'half_pixel' | 'asymmetric';

export const RESIZE_MODES: readonly ResizeMode[] = ['align_corners', 'half_pixel', 'asymmetric'];

export interface ResizeParams {
  outH: number;
  outW: number;
  mode: ResizeMode;
}

const WG = 256;

export function resizeModeCode(mode: ResizeMode): number {
  const code = RESIZE_MODES.indexOf(mode);
  if (code < 0) {
    throw new Error(`resizeBilinear: unknown mode '${String(mode)}' (expected one of ${RESIZE_MODES.join(', ')})`);
  }
  return code;
}

/** [N,H,W,C] -> [N,outH,outW,C]. */
export function resizeBilinearOutputShape(shape: Shape, p: ResizeParams): number[] {
  resizeModeCode(p.mode);
  expectRank(shape, 4, 'resizeBilinear', 'input');
  validateShape(shape, 'resizeBilinear: input');
  expectPositiveInt(p.outH, 'resizeBilinear', 'outH');
  expectPositiveInt(p.outW, 'resizeBilinear', 'outW');
  return [shape[0], p.outH, p.outW, shape[3]];
}

/** The factor the shader multiplies output indices by (see ResizeMode). */
export function resizeScale(inSize: number, outSize: number, mode: ResizeMode): number {
  if (mode === 'align_corners') return outSize > 1 ? (inSize - 1) / (outSize - 1) : 0;
  return inSize / outSize;
}

/** The params struct of bilinear_taps.wgsl (`total` = invocations the kernel runs). */
export function resizeUniforms(total: number, inputShape: Shape, p: ResizeParams): Uniforms {
  const [, H, W, C] = inputShape;
  return new Uniforms()
    .u32(total)
    .u32(C)
    .u32(H)
    .u32(W)
    .u32(p.outH)
    .u32(p.outW)
    .f32(resizeScale(H, p.outH, p.mode))
    .f32(resizeScale(W, p.outW, p.mode));
}

/**
 * How the resize kernel spreads its work: an output element per invocation (`main`: on GPUs
 * neighbouring invocations touch neighbouring words), or an output pixel per invocation with its
 * channels in a loop (`pixels`: the taps worked out once a pixel). Both give the same bits. The
 * tuner times both on the adapter (src/graph/tune.ts); untuned, software adapters take `pixel`
 * (on lavapipe, 2-core EPYC, 33x33 -> 257x257 with 21 channels took 6.7 ms against 18.7) and
 * GPUs `element`.
 */
export type ResizeLayout = 'element' | 'pixel';

/** The candidates, in the order a tuner times them after the default. */
export const RESIZE_LAYOUTS: readonly ResizeLayout[] = ['element', 'pixel'];


/** The tuning store's name of the resize kernel family. */
export const RESIZE_TUNE_KERNEL = 'resize_bilinear';

/** What runs untuned on an adapter of this class. */
export function defaultResizeLayout(software: boolean): ResizeLayout {
  return software ? 'pixel' : 'element';
}

/** A resize's tuning key's shape: output pixels (bucketed to powers of 2) and channels. */
function resizeShapeKey(inputShape: Shape, p: ResizeParams): string {
  return `m${pixelBucket(inputShape[0] * p.outH * p.outW)}.c${inputShape[3]}`;
}

/** A resize's two layouts on `ctx` on tensors stored as `dtype`, the adapter class's default first (it sums in f32 only). */
export function resizeSpace(ctx: GpuContext, inputShape: Shape, p: ResizeParams, dtype: FloatType = 'f32'): LayerSpace<ResizeLayout> {
  const first = defaultResizeLayout(ctx.isSoftware);
  const layouts = [first, ...RESIZE_LAYOUTS.filter((l) => l !== first)];
  const precision = precisionOf(dtype);
  const candidates = precisionCandidates(precision, layouts).map((c) => ({ ...c, name: c.variant }));
  return layerSpace({ kernel: RESIZE_TUNE_KERNEL, shape: resizeShapeKey(inputShape, p), precision }, sourcesVersion(['resize_bilinear.wgsl']), candidates);
}

/** The layout a resize runs on `ctx`: the one measured fastest for its shape and precision on this adapter, else its class's default. */
export function resizeLayout(ctx: GpuContext, inputShape: Shape, p: ResizeParams, dtype: FloatType = 'f32'): ResizeLayout {
  return chosenCandidate(ctx, resizeSpace(ctx, inputShape, p, dtype)).variant;
}

/** A resize's layouts as the tuner times them, on tensors stored as `dtype`. */
export function resizeTunable(ctx: GpuContext, inputShape: Shape, p: ResizeParams, dtype: FloatType = 'f32'): TunableLayer {
  const operands = [{ shape: [...inputShape], fill: true, dtype }, { shape: resizeBilinearOutputShape(inputShape, p), fill: false, dtype }];
  return tunableLayer(resizeSpace(ctx, inputShape, p, dtype), operands, (ctx, [input, out], c) => [prepareResizeBilinear(ctx, { input, out }, p, c.variant)]);
}

export function resizeBilinearSpec(p: ResizeParams, layout: ResizeLayout = 'element'): KernelSpec {
  return { shader: 'resize_bilinear.wgsl', entryPoint: layout === 'pixel' ? 'pixels' : 'main', constants: { MODE: resizeModeCode(p.mode), WG } };
}

export function prepareResizeBilinear(ctx: GpuContext, t: { input: GpuTensor; out: GpuTensor }, p: ResizeParams, layout = resizeLayout(ctx, t.input.shape, p, t.input.dtype === 'f16' ? 'f16' : 'f32')): Dispatch {
  const outShape = resizeBilinearOutputShape(t.input.shape, p);
  expectShape(t.out.shape, outShape, `resizeBilinear(${p.mode})`, 'out');
  const total = layout === 'pixel' ? numel(outShape) / outShape[3] : numel(outShape);
  return makeDispatch(ctx, {
    label: `resizeBilinear(${p.mode}) ${shapeString(t.input.shape)} -> ${p.outH}x${p.outW}`,
    spec: resizeBilinearSpec(p, layout),
    uniforms: resizeUniforms(total, t.input.shape, p),
    buffers: [t.input, t.out],
    workgroups: linearGrid(ctx, total, WG),
  });
}

export function resizeBilinear(ctx: GpuContext, input: GpuTensor, p: ResizeParams): Promise<GpuTensor> {
  return runToNewTensor(ctx, resizeBilinearOutputShape(input.shape, p), `resizeBilinear(${p.mode})`, (out) =>
    prepareResizeBilinear(ctx, { input, out }, p),
  );
}

/** Source coordinate straight from the published formulas, in double precision. */
function sourceCoord(d: number, inSize: number, outSize: number, mode: ResizeMode): number {
  switch (mode) {
    case 'align_corners':
      return outSize > 1 ? (d * (inSize - 1)) / (outSize - 1) : 0;
    case 'half_pixel':
      return Math.max(((d + 0.5) * inSize) / outSize - 0.5, 0);
    case 'asymmetric':
      return (d * inSize) / outSize;
  }
}

/** Neighbours and weight of the upper neighbour along one axis. */
function taps(src: number, inSize: number): [number, number, number] {
  const i0 = Math.min(Math.floor(src), inSize - 1);
  const i1 = Math.min(i0 + 1, inSize - 1);
  return [i0, i1, src - i0];
}

/** Each output index's two source indices along one axis and the second's weight. */
export function axisTapsCpu(inSize: number, outSize: number, mode: ResizeMode): [number, number, number][] {
  return Array.from({ length: outSize }, (_, o) => taps(sourceCoord(o, inSize, outSize, mode), inSize));
}

/**
 * The resize one output row at a time: `emit(n, oy, row)` gets row oy of item n ([outW, C], in
 * x's precision: a float32 input's values rounded as stored). The taps along the width are the
 * same for every row, so they are computed once.
 */
export function resizeBilinearRowsCpu<T extends Float32Array | Float64Array>(x: T, shape: Shape, p: ResizeParams, emit: (n: number, oy: number, row: T) => void): void {
  resizeBilinearOutputShape(shape, p);
  const [N, H, W, C] = shape;
  const { outH, outW, mode } = p;
  const xs = axisTapsCpu(W, outW, mode);
  const ys = axisTapsCpu(H, outH, mode);
  const row = new (x.constructor as { new (n: number): T })(outW * C);
  for (let n = 0; n < N; n++) {
    for (let oy = 0; oy < outH; oy++) {
      const [y0, y1, ly] = ys[oy];
      const top0 = (n * H + y0) * W * C;
      const bottom0 = (n * H + y1) * W * C;
      for (let ox = 0; ox < outW; ox++) {
        const [x0, x1, lx] = xs[ox];
        blendPixel(x, row, ox * C, C, top0 + x0 * C, top0 + x1 * C, bottom0 + x0 * C, bottom0 + x1 * C, lx, ly);
      }
      emit(n, oy, row);
    }
  }
}

/** One output pixel's C values at `o` in `out`: the bilinear blend of the pixels at a, b (top) and c, d (bottom). */
export function blendPixel(x: ArrayLike<number>, out: { [i: number]: number }, o: number, C: number, a: number, b: number, c: number, d: number, lx: number, ly: number): void {
  for (let k = 0; k < C; k++) {
    const top = (1 - lx) * x[a + k] + lx * x[b + k];
    const bottom = (1 - lx) * x[c + k] + lx * x[d + k];
    out[o + k] = (1 - ly) * top + ly * bottom;
  }
}

/** CPU reference (float64 in, float64 out). */
export function resizeBilinearCpu<T extends Float32Array | Float64Array>(x: T, shape: Shape, p: ResizeParams): T {
  const out = new (x.constructor as { new (n: number): T })(numel(resizeBilinearOutputShape(shape, p)));
  const rowSize = p.outW * shape[3];
  resizeBilinearRowsCpu(x, shape, p, (n, oy, row) => out.set(row, (n * p.outH + oy) * rowSize));
  return out;
}

// ---------------------------------------------------------------- gradient

const GRAD_WG = 256;

export function resizeBilinearGradSpec(mode: ResizeMode): KernelSpec {
  return { shader: 'resize_grad_axis.wgsl', constants: { MODE: resizeModeCode(mode), WG: GRAD_WG } };
}

/** The scratch the gradient needs between its two passes: [N, outH, W, C]. */
export function resizeBilinearGradScratchShape(inputShape: Shape, p: ResizeParams): number[] {
  return [inputShape[0], p.outH, inputShape[2], inputShape[3]];
}

/**
 * dx [N,H,W,C] from dy [N,outH,outW,C]: along W into `scratch` [N,outH,W,C], then along H into
 * dx. Two gathers (no atomics), exactly the transpose of the forward's taps.
 */
export function prepareResizeBilinearGrad(
  ctx: GpuContext,
  t: { dy: GpuTensor; scratch: GpuTensor; dx: GpuTensor },
  p: ResizeParams,
): Dispatch[] {
  const inShape = t.dx.shape;
  const outShape = resizeBilinearOutputShape(inShape, p);
  const kernel = `resizeBilinearGrad(${p.mode})`;
  expectShape(t.dy.shape, outShape, kernel, 'dy');
  expectShape(t.scratch.shape, resizeBilinearGradScratchShape(inShape, p), kernel, 'scratch');
  const [N, H, W, C] = inShape;
  const offset = p.mode === 'half_pixel' ? 0.5 : 0;
  const pass = (label: string, from: GpuTensor, to: GpuTensor, outer: number, inLen: number, outLen: number, inner: number, scale: number): Dispatch => {
    const total = outer * inLen * inner;
    return makeDispatch(ctx, {
      label: `${kernel} ${label} ${shapeString(from.shape)} -> ${shapeString(to.shape)}`,
      spec: resizeBilinearGradSpec(p.mode),
      uniforms: new Uniforms().u32(total).u32(inner).u32(inLen).u32(outLen).f32(scale).f32(offset),
      buffers: [from, to],
      workgroups: linearGrid(ctx, total, GRAD_WG),
    });
  };
  return [
    pass('along W', t.dy, t.scratch, N * p.outH, W, p.outW, C, resizeScale(W, p.outW, p.mode)),
    pass('along H', t.scratch, t.dx, N, H, p.outH, W * C, resizeScale(H, p.outH, p.mode)),
  ];
}

/** CPU reference: the forward's taps, scattered (float64 in, float64 out). */
export function resizeBilinearGradCpu<T extends Float32Array | Float64Array>(dy: T, inputShape: Shape, p: ResizeParams): T {
  const outShape = resizeBilinearOutputShape(inputShape, p);
  if (dy.length !== numel(outShape)) throw new Error(`resizeBilinearGrad: dy has ${dy.length} values, expected ${shapeString(outShape)}`);
  const [N, H, W, C] = inputShape;
  const { outH, outW, mode } = p;
  const dx = new (dy.constructor as { new (n: number): T })(numel(inputShape));
  const at = (n: number, h: number, w: number, c: number): number => ((n * H + h) * W + w) * C + c;
  for (let n = 0; n < N; n++) {
    for (let oy = 0; oy < outH; oy++) {
      const [y0, y1, ly] = taps(sourceCoord(oy, H, outH, mode), H);
      for (let ox = 0; ox < outW; ox++) {
        const [x0, x1, lx] = taps(sourceCoord(ox, W, outW, mode), W);
        for (let c = 0; c < C; c++) {
          const g = dy[((n * outH + oy) * outW + ox) * C + c];
          dx[at(n, y0, x0, c)] += (1 - ly) * (1 - lx) * g;
          dx[at(n, y0, x1, c)] += (1 - ly) * lx * g;
          dx[at(n, y1, x0, c)] += ly * (1 - lx) * g;
          dx[at(n, y1, x1, c)] += ly * lx * g;
        }
      }
    }
  }
  return dx;
}
