// Gradients of conv2d (any stride, padding, dilation and groups, depthwise included):
//  - input:  the transposed convolution with the same stride, padding and dilation, as a
//    gather over each input element's taps (shaders/conv2d_grad_input.wgsl);
//  - weight: the convolution of the input with the output gradient, stride and dilation
//    swapped, a reduction over N*OH*OW split into chunks (conv2d_grad_weight.wgsl + chunk_sum);
//  - bias:   the output gradient summed per channel (src/kernels/reduce.ts columnSum).
// WGSL has no float atomics, so nothing is scattered.
import type { GpuContext } from '../gpu/context.js';
import type { Dispatch } from '../gpu/dispatch.js';
import { Uniforms, linearGrid, makeDispatch } from '../gpu/dispatch.js';
import type { KernelSpec } from '../gpu/pipeline-cache.js';
import { type GpuTensor, type Shape, numel, shapeString } from '../gpu/tensor.js';
import { expectShape } from './checks.js';
import { type Conv2dParams, type ConvGeometry, convGeometry } from './conv2d.js';
import { chunkPlan, columnSumCpu, prepareChunkSum } from './reduce.js';

const INPUT_WG = 64;
const WEIGHT_WG = 64;

function uniforms(total: number, g: ConvGeometry, p: Conv2dParams, chunks = 0, chunkLen = 0): Uniforms {
  return new Uniforms()
    .u32(total)
    .u32(g.N)
    .u32(g.H)
    .u32(g.W)
    .u32(g.cin)
    .u32(g.OH)
    .u32(g.OW)
    .u32(g.cout)
    .u32(g.KH)
    .u32(g.KW)
    .u32(g.cinPerGroup)
    .u32(g.coutPerGroup)
    .u32(p.strideH)
    .u32(p.strideW)
    .u32(p.dilationH)
    .u32(p.dilationW)
    .u32(p.padTop)
    .u32(p.padLeft)
    .u32(chunks)
    .u32(chunkLen);
}

function describe(inputShape: Shape, weightShape: Shape, p: Conv2dParams): string {
  return `${shapeString(inputShape)} * ${shapeString(weightShape)} s${p.strideH}x${p.strideW} d${p.dilationH}x${p.dilationW} g${p.groups}`;
}

export function conv2dGradInputSpec(): KernelSpec {
  return { shader: 'conv2d_grad_input.wgsl', constants: { WG: INPUT_WG } };
}

/** dx [N,H,W,Cin] of a conv with input shape dx.shape, from dy [N,OH,OW,Cout] and the weight. */
export function prepareConv2dGradInput(ctx: GpuContext, t: { dy: GpuTensor; weight: GpuTensor; dx: GpuTensor }, p: Conv2dParams): Dispatch {
  const g = convGeometry(t.dx.shape, t.weight.shape, p);
  expectShape(t.dy.shape, [g.N, g.OH, g.OW, g.cout], 'conv2dGradInput', 'dy');
  return makeDispatch(ctx, {
    label: `conv2dGradInput ${describe(t.dx.shape, t.weight.shape, p)}`,
    spec: conv2dGradInputSpec(),
    uniforms: uniforms(t.dx.size, g, p),
    buffers: [t.dy, t.weight, t.dx],
    workgroups: linearGrid(ctx, t.dx.size, INPUT_WG),
  });
}

export function conv2dGradWeightSpec(): KernelSpec {
  return { shader: 'conv2d_grad_weight.wgsl', constants: { WG: WEIGHT_WG } };
}

/** The chunking of the weight gradient's reduction, and the scratch it needs. */
export function conv2dGradWeightPlan(inputShape: Shape, weightShape: Shape, p: Conv2dParams): { chunks: number; chunkLen: number; partialShape: number[] } {
  const g = convGeometry(inputShape, weightShape, p);
  const plan = chunkPlan(g.N * g.OH * g.OW, numel(weightShape));
  return { ...plan, partialShape: [plan.chunks * numel(weightShape)] };
}

/** dw [KH,KW,Cin/g,Cout] from the conv's input x and dy; `partial` is conv2dGradWeightPlan's scratch. */
export function prepareConv2dGradWeight(
  ctx: GpuContext,
  t: { x: GpuTensor; dy: GpuTensor; partial: GpuTensor; dw: GpuTensor },
  p: Conv2dParams,
): Dispatch[] {
  const g = convGeometry(t.x.shape, t.dw.shape, p);
  expectShape(t.dy.shape, [g.N, g.OH, g.OW, g.cout], 'conv2dGradWeight', 'dy');
  const plan = conv2dGradWeightPlan(t.x.shape, t.dw.shape, p);
  expectShape(t.partial.shape, plan.partialShape, 'conv2dGradWeight', 'partial');
  const total = plan.chunks * t.dw.size;
  return [
    makeDispatch(ctx, {
      label: `conv2dGradWeight ${describe(t.x.shape, t.dw.shape, p)} (${plan.chunks} chunks)`,
      spec: conv2dGradWeightSpec(),
      uniforms: uniforms(total, g, p, plan.chunks, plan.chunkLen),
      buffers: [t.x, t.dy, t.partial],
      workgroups: linearGrid(ctx, total, WEIGHT_WG),
    }),
    prepareChunkSum(ctx, { partial: t.partial, out: t.dw }, plan.chunks),
  ];
}

/** CPU reference of the input gradient (float64 in, float64 out). */
export function conv2dGradInputCpu<T extends Float32Array | Float64Array>(dy: T, inputShape: Shape, weight: T, weightShape: Shape, p: Conv2dParams): T {
  const g = convGeometry(inputShape, weightShape, p);
  const sums = new Float64Array(numel(inputShape));
  forEachTap(g, p, (xi, wi, yi) => {
    sums[xi] += weight[wi] * dy[yi];
  });
  const dx = new (dy.constructor as { new (n: number): T })(sums.length);
  dx.set(sums);
  return dx;
}

/** CPU reference of the weight gradient (float64 sums). */
export function conv2dGradWeightCpu<T extends Float32Array | Float64Array>(x: T, inputShape: Shape, dy: T, weightShape: Shape, p: Conv2dParams): T {
  const g = convGeometry(inputShape, weightShape, p);
  const sums = new Float64Array(numel(weightShape));
  forEachTap(g, p, (xi, wi, yi) => {
    sums[wi] += x[xi] * dy[yi];
  });
  const dw = new (x.constructor as { new (n: number): T })(sums.length);
  dw.set(sums);
  return dw;
}

/** CPU reference of the bias gradient: dy summed per output channel. */
export function conv2dGradBiasCpu<T extends Float32Array | Float64Array>(dy: T, outputShape: Shape): T {
  return columnSumCpu(dy, outputShape);
}

/** Visits every (input, weight, output) index triple the forward multiplies together. */
function forEachTap(g: ConvGeometry, p: Conv2dParams, visit: (xi: number, wi: number, yi: number) => void): void {
  const { N, H, W, cin, KH, KW, cout, OH, OW, cinPerGroup, coutPerGroup } = g;
  for (let n = 0; n < N; n++)
    for (let oh = 0; oh < OH; oh++)
      for (let ow = 0; ow < OW; ow++)
        for (let co = 0; co < cout; co++) {
          const ciBase = Math.floor(co / coutPerGroup) * cinPerGroup;
          const yi = ((n * OH + oh) * OW + ow) * cout + co;
          for (let kh = 0; kh < KH; kh++) {
            const ih = oh * p.strideH - p.padTop + kh * p.dilationH;
            if (ih < 0 || ih >= H) continue;
            for (let kw = 0; kw < KW; kw++) {
              const iw = ow * p.strideW - p.padLeft + kw * p.dilationW;
              if (iw < 0 || iw >= W) continue;
              for (let ci = 0; ci < cinPerGroup; ci++) {
                visit(((n * H + ih) * W + iw) * cin + ciBase + ci, ((kh * KW + kw) * cinPerGroup + ci) * cout + co, yi);
              }
            }
          }
        }
}
