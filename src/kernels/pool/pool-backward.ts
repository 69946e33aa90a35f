// Backward of the pooling kernels (src/kernels/pool/pool.ts).
//
// Global average pool: dx = dy / (H*W) broadcast over H and W.
// 2-D pooling: a gather over the output windows that contain each input element.
//   average: dy / count per window, with the forward's count (countIncludePad);
//   max: dy goes to the element the forward chose, the FIRST maximum of the window in
//   row-major scan order (PyTorch's rule for ties). The kernel regenerates each window's
//   argmax from the forward input instead of storing an index buffer: no extra forward
//   output to keep alive for training, at the cost of re-reading ~kernel^2 inputs per window.
import type { GpuContext } from '../../gpu/context.js';
import type { Dispatch } from '../../gpu/dispatch.js';
import { Uniforms, linearGrid, makeDispatch, runToNewTensor } from '../../gpu/dispatch.js';
import type { KernelSpec } from '../../gpu/pipeline-cache.js';
import { type GpuTensor, type Shape, numel, shapeString } from '../../gpu/tensor.js';
import { expectShape } from '../checks.js';
import { type FloatArray, zerosLike } from '../cpu-arrays.js';
import { type Pool2dParams, globalAvgPoolOutputShape, pool2dOutputShape, pool2dSpec } from './pool.js';

const WG = 256;

// ---------------------------------------------------------------- global average pool

export function globalAvgPoolBackwardSpec(): KernelSpec {
  return { shader: 'global_avg_pool_backward.wgsl', constants: { WG } };
}

/** dy [N,1,1,C] -> dx [N,H,W,C] (the forward input's shape). */
export function prepareGlobalAvgPoolBackward(ctx: GpuContext, t: { dy: GpuTensor; dx: GpuTensor }): Dispatch {
  expectShape(t.dy.shape, globalAvgPoolOutputShape(t.dx.shape), 'globalAvgPoolBackward', 'dy');
  const [, H, W, C] = t.dx.shape;
  const total = t.dx.size;
  return makeDispatch(ctx, {
    label: `globalAvgPoolBackward ${shapeString(t.dx.shape)}`,
    spec: globalAvgPoolBackwardSpec(),
    uniforms: new Uniforms().u32(total).u32(H * W).u32(C),
    buffers: [t.dy, t.dx],
    workgroups: linearGrid(ctx, total, WG),
  });
}

export function globalAvgPoolBackward(ctx: GpuContext, dy: GpuTensor, inputShape: Shape): Promise<GpuTensor> {
  globalAvgPoolOutputShape(inputShape);
  return runToNewTensor(ctx, inputShape, 'globalAvgPoolBackward', (dx) => prepareGlobalAvgPoolBackward(ctx, { dy, dx }));
}

/** CPU reference. */
export function globalAvgPoolBackwardCpu<T extends FloatArray>(dy: T, inputShape: Shape): T {
  const [, H, W, C] = inputShape;
  expectShape([dy.length], [numel(globalAvgPoolOutputShape(inputShape))], 'globalAvgPoolBackward', 'dy');
  const dx = zerosLike(dy, numel(inputShape));
  for (let i = 0; i < dx.length; i++) {
    const n = Math.floor(i / (H * W * C));
    dx[i] = dy[n * C + (i % C)] / (H * W);
  }
  return dx;
}

// ---------------------------------------------------------------- 2-D pooling

function name(p: Pool2dParams): string {
  return `pool2dBackward(${p.kind} ${p.kernelH}x${p.kernelW} s${p.strideH},${p.strideW})`;
}

export function pool2dBackwardSpec(p: Pool2dParams): KernelSpec {
  // Same specialisation constants as the forward.
  return { ...pool2dSpec(p), shader: 'pool2d_backward.wgsl' };
}

/**
 * dy [N,OH,OW,C] -> dx [N,H,W,C]. `input` is the forward input x, needed by max pooling
 * (to find each window's argmax) and ignored by average pooling.
 */
export function preparePool2dBackward(
  ctx: GpuContext,
  t: { input?: GpuTensor; dy: GpuTensor; dx: GpuTensor },
  p: Pool2dParams,
): Dispatch {
  const outShape = pool2dOutputShape(t.dx.shape, p);
  expectShape(t.dy.shape, outShape, name(p), 'dy');
  if (p.kind === 'max') {
    if (!t.input) throw new Error(`${name(p)}: max pooling needs the forward input to find each window's maximum`);
    expectShape(t.input.shape, t.dx.shape, name(p), 'input');
  }
  const [, H, W, C] = t.dx.shape;
  const [, OH, OW] = outShape;
  const total = t.dx.size;
  return makeDispatch(ctx, {
    label: `${name(p)} ${shapeString(t.dy.shape)} -> ${shapeString(t.dx.shape)}`,
    spec: pool2dBackwardSpec(p),
    uniforms: new Uniforms()
      .u32(total)
      .u32(C)
      .u32(H)
      .u32(W)
      .u32(OH)
      .u32(OW)
      .u32(p.kernelH)
      .u32(p.kernelW)
      .u32(p.strideH)
      .u32(p.strideW)
      .u32(p.padTop)
      .u32(p.padLeft)
      .u32(p.padBottom)
      .u32(p.padRight),
    // Average pooling binds dy in the (unread) input slot.
    buffers: [p.kind === 'max' ? t.input! : t.dy, t.dy, t.dx],
    workgroups: linearGrid(ctx, total, WG),
  });
}

/** One-shot: dx with the forward input's shape (`input` is required for max pooling). */
export function pool2dBackward(
  ctx: GpuContext,
  dy: GpuTensor,
  inputShape: Shape,
  p: Pool2dParams,
  input?: GpuTensor,
): Promise<GpuTensor> {
  pool2dOutputShape(inputShape, p);
  return runToNewTensor(ctx, inputShape, name(p), (dx) => preparePool2dBackward(ctx, { input, dy, dx }, p));
}

/**
 * CPU reference, the scatter of the definition: each window passes dy / count to every real
 * tap (average) or dy to its first maximum in scan order (max; needs the forward input x).
 */
export function pool2dBackwardCpu<T extends FloatArray>(dy: T, inputShape: Shape, p: Pool2dParams, x?: FloatArray): T {
  const outShape = pool2dOutputShape(inputShape, p);
  if (dy.length !== numel(outShape)) throw new Error(`${name(p)}: ${dy.length} values of dy do not fill ${shapeString(outShape)}`);
  if (p.kind === 'max' && (!x || x.length !== numel(inputShape))) {
    throw new Error(`${name(p)}: max pooling needs the forward input x of shape ${shapeString(inputShape)}`);
  }
  const [N, H, W, C] = inputShape;
  const [, OH, OW] = outShape;
  const includePad = p.countIncludePad ?? true;
  const dx = zerosLike(dy, numel(inputShape));
  const at = (n: number, h: number, w: number, c: number): number => ((n * H + h) * W + w) * C + c;
  for (let n = 0; n < N; n++) {
    for (let oh = 0; oh < OH; oh++) {
      for (let ow = 0; ow < OW; ow++) {
        for (let c = 0; c < C; c++) {
          const g = dy[((n * OH + oh) * OW + ow) * C + c];
          const real: number[] = [];
          let padded = 0;
          for (let kh = 0; kh < p.kernelH; kh++) {
            for (let kw = 0; kw < p.kernelW; kw++) {
              const h = oh * p.strideH - p.padTop + kh;
              const w = ow * p.strideW - p.padLeft + kw;
              padded++;
              if (h >= 0 && h < H && w >= 0 && w < W) real.push(at(n, h, w, c));
            }
          }
          if (p.kind === 'max') {
            let best = real[0];
            for (const j of real) if (x![j] > x![best]) best = j;
            dx[best] += g;
          } else {
            const count = includePad ? padded : real.length;
            for (const j of real) dx[j] += g / count;
          }
        }
      }
    }
  }
  return dx;
}
