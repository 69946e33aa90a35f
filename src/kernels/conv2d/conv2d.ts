// The forward convolution family: NHWC activations, HWIO weights, any kernel size, stride,
// padding, dilation and groups, with a fused epilogue
//   out = activation(acc * scale[co] + bias[co] + residual[n, oh, ow, co]).
// Several algorithms can compute a layer (CONV2D_ALGORITHMS, each in its folder): the implicit GEMM
// (groups == 1), Winograd F(2x2, 3x3) and F(4x4, 3x3) (3x3, stride 1, groups == 1), the
// depthwise vec4 tiles, and the direct kernel for any grouping. A layer's candidates are every
// variant of every algorithm that can run it; a program runs the one measured fastest on the
// adapter for that layer shape (src/graph/tune.ts measures, the store is src/gpu/tuning.ts),
// else the first algorithm's default for the adapter class.
import type { GpuContext } from '../../gpu/context.js';
import type { Dispatch } from '../../gpu/dispatch.js';
import { runToNewTensor } from '../../gpu/dispatch.js';
import type { KernelSpec } from '../../gpu/pipeline-cache.js';
import { type GpuTensor, type Shape, checkBindable, shapeString } from '../../gpu/tensor.js';
import { adapterClass, pixelBucket } from '../candidates.js';
import { expectShape } from '../checks.js';
import { type Candidate, type LayerSpace, type TunableLayer, chosenCandidate, layerSpace, sourcesVersion, storedCandidate, tunableLayer } from '../tuning.js';
import { type ConvAlgorithm, type ConvChoice, type ConvLayer, type Conv2dOperands, type EpilogueSlots, convChoice, convChoiceName, convLabel } from './algorithm.js';
import { depthwiseAlgorithm } from './depthwise/depthwise.js';
import { directAlgorithm } from './direct/direct.js';
import { gemmAlgorithm } from './gemm/gemm.js';
import { winogradAlgorithm } from './winograd/winograd.js';
import { type Conv2dExtras, type Conv2dParams, conv2dOutputShape, convGeometry, describeConv } from './params.js';

/**
 * The algorithms, in the order their defaults are preferred: the first that can run a layer gives
 * its default. Winograd (3x3 stride 1) follows the GEMM: it runs only where tuning measured it faster.
 */
export const CONV2D_ALGORITHMS: readonly ConvAlgorithm<unknown>[] = [gemmAlgorithm, winogradAlgorithm, depthwiseAlgorithm, directAlgorithm] as unknown as ConvAlgorithm<unknown>[];

/** The tuning store's name of the family. */
export const CONV2D_TUNE_KERNEL = 'conv2d';

/** The family's space version: a hash of every algorithm's WGSL (an edited kernel's stored choices go unused). */
export function conv2dSpaceVersion(): string {
  return sourcesVersion(CONV2D_ALGORITHMS.flatMap((a) => a.shaders));
}

/** A layer as the algorithms see it on `ctx`, in a program whose tensors are `dtype`. */
export function convLayer(ctx: GpuContext, inputShape: Shape, weightShape: Shape, p: Conv2dParams, dtype: 'f32' | 'f16' = 'f32'): ConvLayer {
  return { g: convGeometry(inputShape, weightShape, p), p, cls: adapterClass(ctx), limits: ctx.kernelLimits, dtype };
}

/**
 * The layer's tuning key: what changes which candidate is fastest (pixels bucketed to powers of
 * 2; half-precision layers, whose space adds f16-accumulating candidates, apart).
 */
export function conv2dShapeKey({ g, p, dtype }: Pick<ConvLayer, 'g' | 'p'> & { dtype?: ConvLayer['dtype'] }): string {
  return `m${pixelBucket(g.N * g.OH * g.OW)}.ci${g.cin}.co${g.cout}.g${p.groups}.k${g.KH}x${g.KW}.s${p.strideH}.d${p.dilationH}${dtype === 'f16' ? '.f16' : ''}`;
}

/** Every variant of every algorithm that can run the layer, the preferred algorithm's default first. */
export function conv2dSpace(layer: ConvLayer): LayerSpace<ConvChoice> {
  const candidates: Candidate<ConvChoice>[] = [];
  for (const algorithm of CONV2D_ALGORITHMS) {
    for (const variant of algorithm.variants(layer)) {
      const choice = convChoice(algorithm, variant);
      candidates.push({ name: convChoiceName(choice), variant: choice });
    }
  }
  return layerSpace(CONV2D_TUNE_KERNEL, conv2dSpaceVersion(), conv2dShapeKey(layer), candidates);
}

/**
 * What a layer runs on `ctx`: an algorithm's preferred variant where it has one (half-precision
 * programs on tensor cores), else the candidate measured fastest on this adapter in the layer's
 * precision (a half-precision layer's candidates passed their accuracy check to be timed), else
 * the one measured in f32 where it fits the program's precision, else the default; then
 * adjusted to the context's kernel options (split-K modes).
 */
export function conv2dChoice(ctx: GpuContext, layer: ConvLayer): ConvChoice {
  let choice: ConvChoice | undefined;
  for (const algorithm of CONV2D_ALGORITHMS) {
    const preferred = algorithm.preferred?.(layer);
    if (preferred !== undefined) {
      choice = convChoice(algorithm, preferred);
      break;
    }
  }
  if (!choice && layer.dtype === 'f16') choice = storedCandidate(ctx, conv2dSpace(layer))?.variant;
  if (!choice) {
    const space = conv2dSpace({ ...layer, dtype: 'f32' });
    const chosen = chosenCandidate(ctx, space).variant;
    choice = (chosen.algorithm.fits?.(chosen.variant, layer) ?? true) ? chosen : space.candidates[0].variant;
  }
  const { algorithm, variant } = choice;
  return algorithm.settle ? { algorithm, variant: algorithm.settle(variant, layer, ctx.kernelOptions) } : choice;
}

/**
 * What a conv layer runs on `ctx` (in a program whose tensors are `dtype`), chosen once where it
 * is lowered: the choice, to pass to prepareConv2d, and the kernels it compiles.
 */
export function conv2dLowering(ctx: GpuContext, inputShape: Shape, weightShape: Shape, p: Conv2dParams, has: EpilogueSlots, dtype: 'f32' | 'f16' = 'f32'): { choice: ConvChoice; specs: KernelSpec[] } {
  const layer = convLayer(ctx, inputShape, weightShape, p, dtype);
  const choice = conv2dChoice(ctx, layer);
  return { choice, specs: choice.algorithm.specs(layer, has, choice.variant) };
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
  const { algorithm, variant } = choice ?? conv2dChoice(ctx, layer);
  return algorithm.prepare(ctx, t, layer, variant, convLabel(t, layer));
}

/** Allocates the output and runs once. */
export function conv2d(ctx: GpuContext, input: GpuTensor, weight: GpuTensor, extras: Conv2dExtras<GpuTensor>, p: Conv2dParams): Promise<GpuTensor> {
  const outShape = conv2dOutputShape(input.shape, weight.shape, p);
  return runToNewTensor(ctx, outShape, 'conv2d', (out) => prepareConv2d(ctx, { input, weight, ...extras, out }, p));
}

/**
 * A conv layer's candidates as the tuner times them (on its own shape, random data, no
 * epilogue: the epilogue is the same for every candidate), in the program's precision, or null
 * where it has no choice. Candidates that trade accuracy for speed (algorithm.accuracy) are
 * timed only within it of the default's output.
 */
export function conv2dTunable(ctx: GpuContext, inputShape: Shape, weightShape: Shape, attrs: Conv2dParams, dtype: 'f32' | 'f16' = 'f32'): TunableLayer | null {
  const p = { ...attrs, activation: 'none' as const };
  const layer = convLayer(ctx, inputShape, weightShape, p, dtype);
  const space = conv2dSpace(layer);
  if (space.candidates.length < 2) return null;
  const { g } = layer;
  const operands = [{ shape: [...inputShape], fill: true, dtype }, { shape: [...weightShape], fill: true, dtype }, { shape: [g.N, g.OH, g.OW, g.cout], fill: false, dtype }];
  return tunableLayer(space, operands, (ctx, [input, weight, out], choice) => prepareConv2d(ctx, { input, weight, out }, p, choice), {
    output: 2,
    accuracy: (choice) => choice.algorithm.accuracy?.(choice.variant, layer),
  });
}
