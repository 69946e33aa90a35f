// The forward convolution family: NHWC activations, HWIO weights, any kernel size, stride,
// padding, dilation and groups, with a fused epilogue
//   out = activation(acc * scale[co] + bias[co] + residual[n, oh, ow, co]).
// Several algorithms can compute a layer (CONV2D, each in its folder): the implicit GEMM
// (groups == 1), Winograd F(2x2, 3x3) and F(4x4, 3x3) (3x3, stride 1, groups == 1), the
// depthwise vec4 tiles, and the direct kernel for any grouping. A layer's candidates are every
// variant of every algorithm that can run it, in the program's precision (family.ts); a program
// runs the one measured fastest on the adapter for that layer shape and precision
// (src/graph/tune.ts measures, the store is src/gpu/tuning.ts), else the first algorithm's
// default for the adapter class.
import type { GpuContext } from '../../gpu/context.js';
import type { Dispatch } from '../../gpu/dispatch.js';
import { runToNewTensor } from '../../gpu/dispatch.js';
import type { KernelSpec } from '../../gpu/pipeline-cache.js';
import { type GpuTensor, type Shape, checkBindable, shapeString } from '../../gpu/tensor.js';
import type { FloatType } from '../../gpu/tuning.js';
import { expectShape } from '../checks.js';
import type { LayerSpace, TunableLayer } from '../tuning.js';
import { type ConvChoice, type ConvLayer, type Conv2dOperands, type EpilogueSlots, convLabel } from './algorithm.js';
import { depthwiseAlgorithm } from './depthwise/depthwise.js';
import { directAlgorithm } from './direct/direct.js';
import { type ConvFamily, chooseConv, convLayer, convSpace, convTunable, launchConv } from './family.js';
import { gemmAlgorithm } from './gemm/gemm.js';
import { winogradAlgorithm } from './winograd/winograd.js';
import { type Conv2dExtras, type Conv2dParams, conv2dOutputShape, describeConv } from './params.js';

/**
 * The forward family under its name in the tuning store, its algorithms in the order their
 * defaults are preferred: the first that can run a layer gives its default. Winograd (3x3
 * stride 1) follows the GEMM: it runs only where tuning measured it faster.
 */
export const CONV2D: ConvFamily<Conv2dOperands, EpilogueSlots> = { kernel: 'conv2d', algorithms: [gemmAlgorithm, winogradAlgorithm, depthwiseAlgorithm, directAlgorithm] };

/** Every variant of every algorithm that can run the layer, in its precision, the preferred algorithm's default first. */
export function conv2dSpace(layer: ConvLayer): LayerSpace<ConvChoice> {
  return convSpace(CONV2D, layer);
}

/**
 * What a layer runs on `ctx`: an algorithm's preferred variant where it has one (half-precision
 * programs on tensor cores), else the candidate measured fastest on this adapter in the layer's
 * precision, else the default, adjusted to the context's kernel options (family.ts).
 */
export function conv2dChoice(ctx: GpuContext, layer: ConvLayer): ConvChoice {
  return chooseConv(ctx, CONV2D, layer);
}

/**
 * What a conv layer runs on `ctx` (in a program whose tensors are `dtype`), chosen once where it
 * is lowered: the choice, to pass to prepareConv2d, and the kernels it compiles.
 */
export function conv2dLowering(ctx: GpuContext, inputShape: Shape, weightShape: Shape, p: Conv2dParams, has: EpilogueSlots, dtype: FloatType = 'f32'): { choice: ConvChoice; specs: KernelSpec[] } {
  const layer = convLayer(ctx, inputShape, weightShape, p, dtype);
  const choice = conv2dChoice(ctx, layer);
  return { choice, specs: choice.algorithm.specs(layer, has, choice.variant, choice.accumulate) };
}

/**
 * The dispatches of one conv (two where a GEMM splits K; the scratch is the first one's).
 * `choice`: a candidate to run instead of the context's choice (the tuner's, tests').
 */
export function prepareConv2d(ctx: GpuContext, t: Conv2dOperands, p: Conv2dParams, choice?: ConvChoice): Dispatch[] {
  const layer = convLayer(ctx, t.input.shape, t.weight.shape, p, t.out.dtype === 'f16' ? 'f16' : 'f32');
  const { g } = layer;
  const outShape = [g.N, g.OH, g.OW, g.cout];
  expectShape(t.out.shape, outShape, 'conv2d', `out (${describeConv(t.input.shape, t.weight.shape, p)})`);
  if (t.bias) expectShape(t.bias.shape, [g.cout], 'conv2d', 'bias');
  if (t.scale) expectShape(t.scale.shape, [g.cout], 'conv2d', 'scale');
  if (t.residual) expectShape(t.residual.shape, outShape, 'conv2d', 'residual');
  for (const [name, tensor] of Object.entries(t) as [string, GpuTensor | undefined][]) {
    if (!tensor) continue;
    if (tensor.dtype !== 'f32' && tensor.dtype !== 'f16') throw new Error(`conv2d: ${name} must be f32 or f16, got ${tensor.dtype}`);
    checkBindable(ctx, tensor.byteLength, `conv2d: ${name} ${shapeString(tensor.shape)}`);
    // WebGPU forbids a buffer bound both read-only and writable in one dispatch.
    if (name !== 'out' && tensor.buffer === t.out.buffer) throw new Error(`conv2d: ${name} and out must be different tensors`);
  }
  return launchConv(ctx, CONV2D, t, layer, choice ?? conv2dChoice(ctx, layer), convLabel(t, layer));
}

/** Allocates the output and runs once. */
export function conv2d(ctx: GpuContext, input: GpuTensor, weight: GpuTensor, extras: Conv2dExtras<GpuTensor>, p: Conv2dParams): Promise<GpuTensor> {
  const outShape = conv2dOutputShape(input.shape, weight.shape, p);
  return runToNewTensor(ctx, outShape, 'conv2d', (out) => prepareConv2d(ctx, { input, weight, ...extras, out }, p));
}

/**
 * A conv layer's candidates as the tuner times them (on its own shape, random data, no
 * epilogue: the epilogue is the same for every candidate), in the program's precision, or null
 * where it has no choice. Candidates summing in f16 are timed only within their accuracy of the
 * default's output.
 */
export function conv2dTunable(ctx: GpuContext, inputShape: Shape, weightShape: Shape, attrs: Conv2dParams, dtype: FloatType = 'f32'): TunableLayer | null {
  const p = { ...attrs, activation: 'none' as const };
  const layer = convLayer(ctx, inputShape, weightShape, p, dtype);
  const { g } = layer;
  const operands = [{ shape: [...inputShape], fill: true, dtype }, { shape: [...weightShape], fill: true, dtype }, { shape: [g.N, g.OH, g.OW, g.cout], fill: false, dtype }];
  return convTunable(CONV2D, layer, operands, 2, (ctx, [input, weight, out], choice) => prepareConv2d(ctx, { input, weight, out }, p, choice));
}
