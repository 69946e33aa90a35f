// Random MobileViT DeepLabV3 configurations, and the check of one's training step, for the
// property test of MobileViT's gradients: tiny widths (lavapipe is a slow GPU), but every size
// a kernel could tile drawn off its tiles: head sizes from 1 to 9 (few of them multiples of 4),
// 1 to 5 heads, expansions and MLP ratios that leave odd channel counts, patches of 1 to 3
// pixels, and input sides that leave maps the patch does not divide (resized up to it and back).
import { expect } from 'chai';
import type { HostArray } from '../../src/graph/ops/registry.js';
import { buildMobileVitDeepLab } from '../../src/model/networks/mobilevit.js';
import { type MobileVitConfig, MOBILEVIT_XX_SMALL, validateMobileVitConfig } from '../../src/model/networks/mobilevit-config.js';
import { FP32_TOLERANCE, makeRng, randomArray, relativeError } from '../helpers.js';
import { randomParams, transformersLikeParams } from '../model/random-params.js';
import { againstFloat64, lossGradientGraph, median, norm } from './float64-gradients.js';

export interface RandomMobileVit {
  /** What drew it (the same seed draws the same configuration, weights and batch). */
  seed: number;
  cfg: MobileVitConfig;
  batch: number;
  height: number;
  width: number;
  /** How the weights are drawn: randomParams' (the default) or transformersLikeParams'. */
  weights?: 'uniform' | 'transformers';
}

/** One configuration from `seed`. */
export function randomMobileVit(seed: number): RandomMobileVit {
  const r = makeRng(seed);
  const int = (lo: number, hi: number): number => lo + Math.floor(r() * (hi - lo + 1));
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];
  const heads = int(1, 5);
  const cfg: MobileVitConfig = {
    ...MOBILEVIT_XX_SMALL,
    neckHiddenSizes: Array.from({ length: 7 }, () => int(3, 13)),
    // Layer norm over 2 channels maps every token to +-1: at least 6 channels.
    hiddenSizes: Array.from({ length: 3 }, () => heads * int(Math.ceil(6 / heads), 9)),
    numAttentionHeads: heads,
    expandRatio: pick([1, 1.5, 2, 3, 4]),
    mlpRatio: pick([0.5, 1, 1.5, 2, 3]),
    patchSize: pick([1, 2, 2, 3]),
    convKernelSize: pick([1, 3, 3, 5]),
    qkvBias: r() < 0.75,
    outputStride: pick([8, 16, 16, 32] as const),
    atrousRates: [int(1, 3), int(2, 5), int(3, 7)],
    asppOutChannels: int(3, 10),
    numLabels: int(2, 6),
    asppDropoutProb: 0,
    classifierDropoutProb: 0,
  };
  validateMobileVitConfig(cfg);
  // The last map 3 or 4 pixels a side: a training-mode batch norm over a few values has
  // gradients that float32 keeps only a few digits of (over one, 0 in exact arithmetic).
  const side = (): number => int(2 * cfg.outputStride + 1, 4 * cfg.outputStride);
  // Not batch 2: the image-pooling branch's batch norm sees one value per channel and image, and
  // over two values its gradient (0 in exact arithmetic without eps) is a cancellation float32
  // keeps only a few digits of.
  return { seed, cfg, batch: pick([1, 3]), height: side(), width: side() };
}

/**
 * The published x-small's architecture (apple/deeplabv3-mobilevit-x-small: hidden sizes 96, 120
 * and 144 over 4 heads, so heads of 24, 30 and 36 channels; expand 4) at full width, with the
 * fixtures' weights, batch 2 at 65x97: every transformer stage's map has an odd side, resized
 * to the patch and back.
 */
export function publishedXSmall(seed: number): RandomMobileVit {
  const cfg: MobileVitConfig = {
    ...MOBILEVIT_XX_SMALL,
    neckHiddenSizes: [16, 32, 48, 64, 80, 96, 384],
    hiddenSizes: [96, 120, 144],
    expandRatio: 4,
    outputStride: 16,
    atrousRates: [6, 12, 18],
    asppOutChannels: 256,
    numLabels: 21,
    asppDropoutProb: 0,
    classifierDropoutProb: 0,
  };
  validateMobileVitConfig(cfg);
  return { seed, cfg, batch: 2, height: 65, width: 97, weights: 'transformers' };
}

/** The configuration in one line, for a failure's message. */
export function describeMobileVit(c: RandomMobileVit): string {
  const { cfg } = c;
  return (
    `seed ${c.seed}: ${c.batch}x${c.height}x${c.width}, hidden [${cfg.hiddenSizes.join(',')}] with ${cfg.numAttentionHeads} heads, neck [${cfg.neckHiddenSizes.join(',')}], ` +
    `expand ${cfg.expandRatio}, mlp ${cfg.mlpRatio}, patch ${cfg.patchSize}, kernel ${cfg.convKernelSize}, stride ${cfg.outputStride}, qkv bias ${cfg.qkvBias}, ` +
    `rates [${cfg.atrousRates.join(',')}], aspp ${cfg.asppOutChannels}, ${cfg.numLabels} labels`
  );
}

/** The training step's graph: loss, input gradient and every parameter gradient as outputs. */
export function trainingStep(c: RandomMobileVit) {
  const canonical = buildMobileVitDeepLab(c.cfg, { batch: c.batch, height: c.height, width: c.width });
  return { canonical, ...lossGradientGraph(canonical) };
}

/**
 * The worst gradient error. Some gradients are 0 in exact arithmetic (attention key biases:
 * softmax ignores a constant per query; shifts seen only through training-mode batch norms,
 * which remove any per-channel constant): the float64 run on its own (`free`) gives them at
 * float64's rounding level, the run from the GPU's float32 forward values (`exact`) at
 * float32's, where a relative error means nothing. They are told apart by the free run (below
 * 1e-10 of the typical gradient) and must be small on the GPU (below FP32_TOLERANCE of the
 * typical gradient); every other gradient is compared by its relative error.
 */
function worstGradient(names: string[], gpu: Map<string, HostArray>, exact: Map<string, HostArray>, free: Map<string, HostArray>) {
  const scale = median(names.map((n) => norm(free.get(n)!)));
  // A bias's gradient sums what its weight's does without the normalised input: the weight's
  // gradient is the scale of its rounding (the typical one where that is 0 too).
  const zeroScale = (name: string): number => {
    const weight = name.endsWith('.bias') ? name.replace(/bias$/, 'weight') : undefined;
    const size = weight && free.has(weight) ? norm(free.get(weight)!) : 0;
    return size >= 1e-10 * scale ? size : scale;
  };
  let worst = { name: '-', err: 0 };
  let zeros = 0;
  for (const name of names) {
    const zero = norm(free.get(name)!) < 1e-10 * scale;
    zeros += zero ? 1 : 0;
    const err = zero ? norm(gpu.get(name)!) / zeroScale(name) : relativeError(gpu.get(name)!, exact.get(name)!);
    if (!(err <= worst.err)) worst = { name: `${name}${zero ? ' (0 in exact arithmetic)' : ''}`, err };
  }
  return { worst, zeros };
}

/** Runs the configuration's training step on the GPU and in float64 on the CPU; asserts they agree. */
export async function checkTrainingStep(c: RandomMobileVit): Promise<void> {
  const what = describeMobileVit(c);
  const { canonical, graph, names, forwardNodes } = trainingStep(c);
  const r = makeRng(c.seed ^ 0x5bd1e995);
  const pixels = c.batch * c.height * c.width;
  const inputs = {
    image: randomArray(pixels * 3, 0, 1, r),
    labels: Uint32Array.from({ length: pixels }, () => (r() < 0.15 ? 255 : Math.floor(r() * c.cfg.numLabels))),
  };
  const params = c.weights === 'transformers' ? transformersLikeParams(canonical, r) : randomParams(canonical, r);
  const { gpu, exact, free, forwardOps } = await againstFloat64(graph, forwardNodes, params, inputs, 'mobilevit');
  const { worst, zeros } = worstGradient(names, gpu, exact, free());

  console.log(`      (${what}; forward ops worst ${forwardOps.err.toExponential(1)}, ${names.length} gradients, ${zeros} zero, worst ${worst.err.toExponential(1)} ${worst.name})`);
  expect(forwardOps.err, `${what}: forward op ${forwardOps.name}`).to.be.lessThan(FP32_TOLERANCE);
  expect(relativeError(gpu.get('loss')!, exact.get('loss')!), `${what}: loss`).to.be.lessThan(FP32_TOLERANCE);
  expect(worst.err, `${what}: ${worst.name}`).to.be.lessThan(FP32_TOLERANCE);
}
