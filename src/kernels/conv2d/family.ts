// A convolution family: the forward (conv2d.ts), the input gradient (backward data) and the weight
// gradient (backward weight, both conv2d-backward/), each a list of ConvAlgorithms under its own
// name in the tuning store. What every family does the same way is here: a layer's tuning key
// (the forward layer's shape, and the program's precision), its candidate space (every variant
// of every algorithm that can run the layer, in the layer's precision: ../precision.ts), the
// choice a program runs, and its candidates made timeable for the tuner.
import type { GpuContext } from '../../gpu/context.js';
import type { Dispatch } from '../../gpu/dispatch.js';
import type { GpuTensor, Shape } from '../../gpu/tensor.js';
import type { FloatType } from '../../gpu/tuning.js';
import { adapterClass, pixelBucket } from '../candidates.js';
import { checkAccumulation, precisionCandidates, precisionOf } from '../precision.js';
import { type Candidate, type LayerSpace, type TunableLayer, type TuningOperand, chosenCandidate, layerSpace, sourcesVersion, tunableLayer } from '../tuning.js';
import { type ConvAlgorithm, type ConvChoice, type ConvLayer, convChoice, convChoiceName } from './algorithm.js';
import { type Conv2dParams, convGeometry } from './params.js';

export interface ConvFamily<O, S> {
  /** Its name in the tuning store: 'conv2d', 'conv2d_input_grad', 'conv2d_weight_grad'. */
  readonly kernel: string;
  /** In the order their defaults are preferred: the first algorithm that can run a layer gives its default. */
  readonly algorithms: readonly ConvAlgorithm<unknown, O, S>[];
}

/** The family's space version: a hash of every algorithm's WGSL (an edited kernel's stored choices go unused). */
export function familyVersion(family: ConvFamily<unknown, unknown>): string {
  return sourcesVersion(family.algorithms.flatMap((a) => a.shaders));
}

/** A layer as the algorithms see it on `ctx`, in a program whose tensors are `dtype`. */
export function convLayer(ctx: GpuContext, inputShape: Shape, weightShape: Shape, p: Conv2dParams, dtype: FloatType = 'f32'): ConvLayer {
  return { g: convGeometry(inputShape, weightShape, p), p, cls: adapterClass(ctx), limits: ctx.kernelLimits, dtype };
}

/** What changes which candidate is fastest, in every family: the forward layer's shape (pixels bucketed to powers of 2). */
export function convShapeKey({ g, p }: Pick<ConvLayer, 'g' | 'p'>): string {
  return `m${pixelBucket(g.N * g.OH * g.OW)}.ci${g.cin}.co${g.cout}.g${p.groups}.k${g.KH}x${g.KW}.s${p.strideH}.d${p.dilationH}`;
}

/**
 * Every variant of every algorithm of the family that can run the layer, in its precision, the
 * default first: an algorithm's preferred variant where it has one (half-precision programs on
 * tensor cores), else the preferred algorithm's default.
 */
export function convSpace<O, S>(family: ConvFamily<O, S>, layer: ConvLayer): LayerSpace<ConvChoice<O, S>> {
  const precision = precisionOf(layer.dtype);
  const candidates: Candidate<ConvChoice<O, S>>[] = [];
  for (const algorithm of family.algorithms) {
    const halfSums = algorithm.halfSums && ((v: unknown) => algorithm.halfSums!(v));
    for (const { variant, accumulate } of precisionCandidates(precision, algorithm.variants(layer), halfSums)) {
      const choice = convChoice(algorithm, variant, accumulate);
      candidates.push({ name: convChoiceName(choice), variant: choice, accumulate });
    }
  }
  const preferred = preferredCandidate(family, layer);
  if (preferred) {
    // The preferred variant is the default: first, and once.
    const at = candidates.findIndex((c) => c.name === preferred.name);
    if (at >= 0) candidates.splice(at, 1);
    candidates.unshift(preferred);
  }
  return layerSpace({ kernel: family.kernel, shape: convShapeKey(layer), precision }, familyVersion(family), candidates);
}

/** The first algorithm's preferred variant for the layer, as a candidate, or null where none has one. */
function preferredCandidate<O, S>(family: ConvFamily<O, S>, layer: ConvLayer): Candidate<ConvChoice<O, S>> | null {
  for (const algorithm of family.algorithms) {
    const preferred = algorithm.preferred?.(layer);
    if (preferred === undefined) continue;
    const choice = convChoice(algorithm, preferred);
    return { name: convChoiceName(choice), variant: choice, accumulate: choice.accumulate };
  }
  return null;
}

/**
 * What a layer runs on `ctx`: the candidate measured fastest on this adapter for its shape in its
 * precision, else the default (convSpace's first: a preferred variant where an algorithm has
 * one); then adjusted to the context's kernel options (split-K modes).
 */
export function chooseConv<O, S>(ctx: GpuContext, family: ConvFamily<O, S>, layer: ConvLayer): ConvChoice<O, S> {
  const choice = chosenCandidate(ctx, convSpace(family, layer)).variant;
  const { algorithm, variant, accumulate } = choice;
  return algorithm.settle ? { algorithm, variant: algorithm.settle(variant, layer, ctx.kernelOptions), accumulate } : choice;
}

/** The dispatches of `choice` on operands the family has checked; f16 sums only where the layer's precision and the kernel allow them. */
export function launchConv<O, S>(ctx: GpuContext, family: ConvFamily<O, S>, t: O, layer: ConvLayer, choice: ConvChoice<O, S>, label: string): Dispatch[] {
  const { algorithm, variant, accumulate } = choice;
  const problem = algorithm.halfSums ? algorithm.halfSums(variant) : `${algorithm.id} sums in f32 only`;
  checkAccumulation(`${family.kernel}: ${convChoiceName(choice)}`, layer.dtype, accumulate, problem);
  return algorithm.prepare(ctx, t, layer, variant, accumulate, label);
}

/**
 * A layer's candidates as the tuner times them, or null where it has no choice: `operands` in
 * the order `prepare` takes them, `output` the one it writes (what the accuracy check of
 * candidates summing in f16 compares).
 */
export function convTunable<O, S>(
  family: ConvFamily<O, S>,
  layer: ConvLayer,
  operands: TuningOperand[],
  output: number,
  prepare: (ctx: GpuContext, tensors: GpuTensor[], choice: ConvChoice<O, S>) => Dispatch[],
): TunableLayer | null {
  const space = convSpace(family, layer);
  if (space.candidates.length < 2) return null;
  return tunableLayer(space, operands, (ctx, tensors, c) => prepare(ctx, tensors, c.variant), output);
}
