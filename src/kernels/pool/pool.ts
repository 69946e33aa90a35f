// Pooling over NHWC maps: global average pooling (ASPP image-pooling branch) and 2-D
// average / max pooling with explicit pads (ResNet stem max pool, TF 'SAME' average pools).
import type { GpuContext } from '../../gpu/context.js';
import type { Dispatch } from '../../gpu/dispatch.js';
import { Uniforms, linearGrid, makeDispatch, runToNewTensor } from '../../gpu/dispatch.js';
import type { KernelSpec } from '../../gpu/pipeline-cache.js';
import { type GpuTensor, type Shape, numel, shapeString, validateShape } from '../../gpu/tensor.js';
import { expectPositiveInt, expectRank, expectShape } from '../checks.js';
import { type FloatArray, zerosLike } from '../cpu-arrays.js';

const WG = 256;
/** Channels per global-pool workgroup; must match TC in global_avg_pool.wgsl. */
const GAP_CHANNEL_BLOCK = 16;

// ---------------------------------------------------------------- global average pool

export function globalAvgPoolSpec(): KernelSpec {
  return { shader: 'global_avg_pool.wgsl' };
}

/** [N,H,W,C] -> [N,1,1,C]. */
export function globalAvgPoolOutputShape(shape: Shape): number[] {
  expectRank(shape, 4, 'globalAvgPool', 'input');
  validateShape(shape, 'globalAvgPool: input');
  return [shape[0], 1, 1, shape[3]];
}

export function prepareGlobalAvgPool(ctx: GpuContext, t: { input: GpuTensor; out: GpuTensor }): Dispatch {
  const [N, H, W, C] = t.input.shape;
  expectShape(t.out.shape, globalAvgPoolOutputShape(t.input.shape), 'globalAvgPool', 'out');
  const blocks = Math.ceil(C / GAP_CHANNEL_BLOCK);
  const groups = N * blocks;
  return makeDispatch(ctx, {
    label: `globalAvgPool ${shapeString(t.input.shape)}`,
    spec: globalAvgPoolSpec(),
    uniforms: new Uniforms().u32(H * W).u32(C).u32(blocks).u32(groups),
    buffers: [t.input, t.out],
    // One workgroup per (n, channel block); linearGrid with 1 "thread" per group spills into y.
    workgroups: linearGrid(ctx, groups, 1),
  });
}

export function globalAvgPool(ctx: GpuContext, input: GpuTensor): Promise<GpuTensor> {
  return runToNewTensor(ctx, globalAvgPoolOutputShape(input.shape), 'globalAvgPool', (out) =>
    prepareGlobalAvgPool(ctx, { input, out }),
  );
}

/** CPU reference: mean over H and W, accumulated in double precision (float64 in, float64 out). */
export function globalAvgPoolCpu<T extends FloatArray>(x: T, shape: Shape): T {
  const [N, H, W, C] = shape;
  globalAvgPoolOutputShape(shape);
  const out = zerosLike(x, N * C);
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      let sum = 0;
      for (let p = 0; p < H * W; p++) sum += x[(n * H * W + p) * C + c];
      out[n * C + c] = sum / (H * W);
    }
  }
  return out;
}

// ---------------------------------------------------------------- 2-D pooling

export interface Pool2dParams {
  kind: 'avg' | 'max';
  kernelH: number;
  kernelW: number;
  strideH: number;
  strideW: number;
  padTop: number;
  padBottom: number;
  padLeft: number;
  padRight: number;
  /** Average only: divide by the full window including padding (PyTorch default true; TF 'SAME' is false). */
  countIncludePad?: boolean;
}

function poolName(p: Pool2dParams): string {
  return `pool2d(${p.kind} ${p.kernelH}x${p.kernelW} s${p.strideH},${p.strideW})`;
}

function validatePool2dParams(p: Pool2dParams): void {
  if (p.kind !== 'avg' && p.kind !== 'max') {
    throw new Error(`pool2d: unknown kind '${String(p.kind)}' (expected 'avg' or 'max')`);
  }
  const k = poolName(p);
  expectPositiveInt(p.kernelH, k, 'kernelH');
  expectPositiveInt(p.kernelW, k, 'kernelW');
  expectPositiveInt(p.strideH, k, 'strideH');
  expectPositiveInt(p.strideW, k, 'strideW');
  const pads: [string, number, number][] = [
    ['padTop', p.padTop, p.kernelH],
    ['padBottom', p.padBottom, p.kernelH],
    ['padLeft', p.padLeft, p.kernelW],
    ['padRight', p.padRight, p.kernelW],
  ];
  for (const [name, pad, kernel] of pads) {
    if (!Number.isInteger(pad) || pad < 0) throw new Error(`${k}: ${name} must be a non-negative integer, got ${pad}`);
    // Keeps at least one real tap in every window (a window of pure padding has no max / mean).
    if (pad >= kernel) throw new Error(`${k}: ${name} = ${pad} must be smaller than the kernel size ${kernel}`);
  }
}

/** [N,H,W,C] -> [N,OH,OW,C] with OH = floor((H + padTop + padBottom - kernelH) / strideH) + 1. */
export function pool2dOutputShape(shape: Shape, p: Pool2dParams): number[] {
  validatePool2dParams(p);
  const k = poolName(p);
  expectRank(shape, 4, k, 'input');
  validateShape(shape, `${k}: input`);
  const [N, H, W, C] = shape;
  const OH = Math.floor((H + p.padTop + p.padBottom - p.kernelH) / p.strideH) + 1;
  const OW = Math.floor((W + p.padLeft + p.padRight - p.kernelW) / p.strideW) + 1;
  if (OH <= 0 || OW <= 0) {
    throw new Error(
      `${k}: output size ${OH}x${OW} <= 0 for input ${shapeString(shape)} with pads ` +
        `(${p.padTop},${p.padBottom},${p.padLeft},${p.padRight}); the window is larger than the padded input`,
    );
  }
  return [N, OH, OW, C];
}

export function pool2dSpec(p: Pool2dParams): KernelSpec {
  return {
    shader: 'pool2d.wgsl',
    constants: {
      KIND: p.kind === 'max' ? 1 : 0,
      // Irrelevant for max; fixed there so max pools share one pipeline.
      COUNT_PAD: p.kind === 'avg' && (p.countIncludePad ?? true) ? 1 : 0,
      WG,
    },
  };
}

export function preparePool2d(ctx: GpuContext, t: { input: GpuTensor; out: GpuTensor }, p: Pool2dParams): Dispatch {
  const outShape = pool2dOutputShape(t.input.shape, p);
  expectShape(t.out.shape, outShape, poolName(p), 'out');
  const [, H, W, C] = t.input.shape;
  const [, OH, OW] = outShape;
  const total = numel(outShape);
  return makeDispatch(ctx, {
    label: `${poolName(p)} ${shapeString(t.input.shape)}`,
    spec: pool2dSpec(p),
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
    buffers: [t.input, t.out],
    workgroups: linearGrid(ctx, total, WG),
  });
}

export function pool2d(ctx: GpuContext, input: GpuTensor, p: Pool2dParams): Promise<GpuTensor> {
  return runToNewTensor(ctx, pool2dOutputShape(input.shape, p), poolName(p), (out) =>
    preparePool2d(ctx, { input, out }, p),
  );
}

/** CPU reference, written from the definition: pad with -inf (max) or zeros (avg), then reduce. */
export function pool2dCpu<T extends FloatArray>(x: T, shape: Shape, p: Pool2dParams): T {
  const outShape = pool2dOutputShape(shape, p);
  const [N, H, W, C] = shape;
  const [, OH, OW] = outShape;
  const includePad = p.countIncludePad ?? true;
  const out = zerosLike(x, numel(outShape));
  for (let n = 0; n < N; n++) {
    for (let oh = 0; oh < OH; oh++) {
      for (let ow = 0; ow < OW; ow++) {
        for (let c = 0; c < C; c++) {
          let max = -Infinity;
          let sum = 0;
          let real = 0;
          let padded = 0;
          for (let kh = 0; kh < p.kernelH; kh++) {
            for (let kw = 0; kw < p.kernelW; kw++) {
              const h = oh * p.strideH - p.padTop + kh;
              const w = ow * p.strideW - p.padLeft + kw;
              padded++;
              if (h < 0 || h >= H || w < 0 || w >= W) continue;
              const v = x[((n * H + h) * W + w) * C + c];
              max = Math.max(max, v);
              sum += v;
              real++;
            }
          }
          const o = ((n * OH + oh) * OW + ow) * C + c;
          out[o] = p.kind === 'max' ? max : sum / (includePad ? padded : real);
        }
      }
    }
  }
  return out;
}
