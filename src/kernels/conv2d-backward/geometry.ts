// The backward kernels of conv2d (src/kernels/conv2d/), one folder each (input-grad/,
// weight-grad/, bias-grad/) over the forward's ConvGeometry; the input and weight gradients are
// convolution families as the forward is (conv2d/family.ts), their groups == 1 kernels' tiles in
// tiles.ts: the gradients of the bare convolution
//   Y[n, oh, ow, co] = sum_{kh, kw, ci} X[n, oh*sH + kh*dH - padTop, ow*sW + kw*dW - padLeft, g(co)*Cin/groups + ci]
//                                       * Wt[kh, kw, ci, co]
// with respect to its input X (NHWC), its weight Wt (HWIO [KH, KW, Cin/groups, Cout]) and a bias
// added per output channel, given dY = dLoss/dY [N, OH, OW, Cout] (PyTorch semantics).
//
//   dX  [N, H, W, Cin]          input-grad/: the transposed convolution as a gather
//                               (each invocation owns input elements and sums the taps whose
//                               output position oh = (ih + padTop - kh*dH) / sH is an integer in
//                               range). groups == 1: tiles of 8 input pixels of one stride phase x
//                               4 channels per invocation; grouped / depthwise: one element each;
//                               on SwiftShader, 1x1 stride-1 layers written out (vec4 dot products).
//   dW  [KH, KW, Cin/groups, Cout]  weight-grad/ (+ chunk_sum.wgsl): a reduction over the
//                               N*OH*OW output pixels, split into chunks (split-K): stage 1 writes
//                               one partial sum per chunk into a scratch tensor, stage 2 adds the
//                               chunks. One chunk needs no scratch and no stage 2. On SwiftShader
//                               1x1 stride-1 layers run a written-out vec4 tile.
//   db  [Cout]                  bias-grad/: sum of dY over N, OH, OW, one workgroup per
//                               block of channels with a tree reduction; on SwiftShader 4
//                               channels an invocation over chunks of pixels, no barriers.
//
// The params are the forward's Conv2dParams; `activation` must be 'none' (or absent): these are
// the gradients of the convolution alone, the caller applies the activation's derivative to dY.
// Every serial f32 sum is blocked (partial sums of at most 64 terms added into a running total),
// which keeps float32 accuracy on reductions of tens of thousands of terms.
//
// The backward kernels' view of a convolution: the forward's geometry (ConvGeometry), validated
// under the backward kernel's name, and what the three gradient kernels share: operand checks,
// labels and their 3-D grid.
import type { GpuContext } from '../../gpu/context.js';
import type { Grid } from '../../gpu/dispatch.js';
import { type GpuTensor, type Shape, checkBindable, shapeString } from '../../gpu/tensor.js';
import { expectShape } from '../checks.js';
import { type Conv2dParams, type ConvGeometry, convGeometry } from '../conv2d/params.js';

export const INPUT_GRAD = 'conv2dInputGrad';
export const WEIGHT_GRAD = 'conv2dWeightGrad';
export const BIAS_GRAD = 'conv2dBiasGrad';

/**
 * Validates the forward's input / weight shapes and params (the forward's checks, reported under
 * the backward kernel's name) and, when given, that dY has the forward's output shape.
 */
export function backwardGeometry(kernel: string, inputShape: Shape, weightShape: Shape, p: Conv2dParams, dOutShape?: Shape): ConvGeometry {
  if (p.activation !== undefined && p.activation !== 'none') {
    throw new Error(
      `${kernel}: params.activation is '${p.activation}'; the backward kernels differentiate the bare convolution ` +
        `(apply the activation's derivative to dOut first and pass activation 'none')`,
    );
  }
  let g: ConvGeometry;
  try {
    g = convGeometry(inputShape, weightShape, p);
  } catch (e) {
    throw new Error(`${kernel}: ${(e as Error).message}`);
  }
  if (dOutShape) expectShape(dOutShape, [g.N, g.OH, g.OW, g.cout], kernel, 'dOut (the forward output shape)');
  return g;
}

export function expectLength(kernel: string, what: string, a: ArrayLike<number>, n: number): void {
  if (a.length !== n) throw new Error(`${kernel}: ${what} has ${a.length} values, expected ${n}`);
}

/** Checks dtype and binding size of every operand, and that `written` aliases none of the others. */
export function checkOperands(ctx: GpuContext, kernel: string, operands: Record<string, GpuTensor>, written: string[]): void {
  for (const [name, tensor] of Object.entries(operands)) {
    if (tensor.dtype !== 'f32') throw new Error(`${kernel}: ${name} must be f32, got ${tensor.dtype}`);
    checkBindable(ctx, tensor.byteLength, `${kernel}: ${name} ${shapeString(tensor.shape)}`);
  }
  // WebGPU forbids a buffer bound both read-only and writable in one dispatch.
  for (const w of written) {
    for (const [name, tensor] of Object.entries(operands)) {
      if (name !== w && tensor.buffer === operands[w].buffer) throw new Error(`${kernel}: ${name} and ${w} must be different tensors`);
    }
  }
}

/** Channel blocks in x, tiles in y, spilling into z past the per-dimension cap. */
export function tileGrid(ctx: GpuContext, kernel: string, channelBlocks: number, tiles: number): Grid {
  const maxDim = ctx.limits.maxComputeWorkgroupsPerDimension;
  if (channelBlocks > maxDim) throw new Error(`${kernel}: ${channelBlocks} channel blocks exceed the grid limit ${maxDim}`);
  const z = Math.ceil(tiles / maxDim);
  if (z > maxDim) throw new Error(`${kernel}: ${tiles} pixel tiles exceed the grid limit`);
  return [channelBlocks, Math.ceil(tiles / z), z];
}

/** A label's window part: '3x3 s1x1 d2x2 g1'. */
export function describeWindow(p: Conv2dParams, g: ConvGeometry): string {
  return `${g.KH}x${g.KW} s${p.strideH}x${p.strideW} d${p.dilationH}x${p.dilationW} g${p.groups}`;
}

/** Workgroup size of the one-element-per-invocation entry points (grouped layers). */
export const SCALAR_WG = 64;
