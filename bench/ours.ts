// Our engine's whole forward pass, timed host to host (the normalised input in host memory to the
// logits in host memory, DeepLabModel.forwardToHost): alone, or two configurations side by side
// (untuned against tuned, f32 against f16), their runs alternating. Used by bench/model.ts and
// the runner's parts model, tune and precision.
import { type SettleOptions, type Settled, measureSettled } from './settle.js';
import type { GpuContext } from '../src/gpu/context.js';
import { planMemory } from '../src/graph/memory-plan.js';
import { type RgbImage, readImage } from '../src/io/image.js';
import { graphCost } from '../src/model/analysis/flops.js';
import type { LoadedWeights } from '../src/model/loading/load-weights.js';
import type { Precision } from '../src/model/loading/options.js';
import { DeepLabModel } from '../src/model/model.js';

export interface ModelOptions {
  quick: boolean;
  /** Timed rounds. */
  repeats: number;
  /** The warm-up before them (bench/settle.ts); the first run is apart (`firstRunMs`). */
  settle: SettleOptions;
  image: string;
  /** Our engine's storage precision (default f32). */
  precision?: Precision;
}

/** Timed rounds (median, quartiles, samples, the warm-up), and the first run apart. */
export interface Timing extends Settled {
  /** The first pass, compiling included (ours: model made from loaded weights + first pass). */
  firstRunMs: number;
  /** Ours: the first pass alone, once the model is made (its kernels compiled at load). */
  firstPassMs?: number;
}

export type HostRun = () => Promise<{ ms: number; out: Float32Array }>;

/** Our engine on loaded weights, timed from before compiling to its first logits in host memory. */
export interface Ours {
  model: DeepLabModel;
  input: Float32Array;
  height: number;
  width: number;
  /** One pass, normalised input in host memory to logits in host memory. */
  run: HostRun;
  firstRunMs: number;
  firstPassMs: number;
  firstOut: Float32Array;
}

export async function openOurs(ctx: GpuContext, weights: LoadedWeights, img: RgbImage, precision: Precision = 'f32'): Promise<Ours> {
  const t0 = performance.now();
  const model = await DeepLabModel.fromWeights(weights, { ctx, precision });
  const loadMs = performance.now() - t0;
  try {
    const { input, height, width } = model.preprocess(img);
    const run: HostRun = async () => {
      const t = performance.now();
      const out = await model.forwardToHost(input, height, width);
      return { ms: performance.now() - t, out };
    };
    const first = await run();
    return { model, input, height, width, run, firstRunMs: loadMs + first.ms, firstPassMs: first.ms, firstOut: first.out };
  } catch (e) {
    model.dispose();
    throw e;
  }
}

/** What our engine alone is measured for (models tfjs is not run on). */
export interface OursRow {
  model: string;
  input: number[];
  gflop: number;
  ours: Timing;
  /** program.plan.peakBytes */
  activationBytes: number;
}

/** The row of `e`, given its timed rounds. */
function oursRow(weights: LoadedWeights, e: Ours, timed: Settled): OursRow {
  const graph = e.model.compiledGraph({ height: e.height, width: e.width }).graph;
  return {
    model: weights.name,
    input: [1, e.height, e.width, 3],
    gflop: graphCost(graph).flops / 1e9,
    ours: { ...timed, firstRunMs: e.firstRunMs, firstPassMs: e.firstPassMs },
    activationBytes: planMemory(graph).peakBytes,
  };
}

/** Our engine alone on `weights`: the first run, the warm-up until settled, then the timed rounds. */
export async function benchOursOnly(ctx: GpuContext, weights: LoadedWeights, o: ModelOptions): Promise<OursRow> {
  const ours = await openOurs(ctx, weights, await readImage(o.image), o.precision);
  try {
    const [timed] = await measureSettled([async () => (await ours.run()).ms], o.repeats, o.settle);
    return oursRow(weights, ours, timed);
  } finally {
    ours.model.dispose();
  }
}

/**
 * Our engine on `weights` in two configurations side by side: `a` is compiled first (in
 * `precisions[0]`), then `between` runs (tuning, say) and `b` is compiled (in `precisions[1]`);
 * the warm-up and timed runs then alternate a, b, so drift on a shared host and the GPU's clock
 * ramp fall on both alike. Returns each one's row.
 */
export async function benchOursSideBySide(
  ctx: GpuContext,
  weights: LoadedWeights,
  o: ModelOptions,
  between: (size: { height: number; width: number }) => Promise<void>,
  precisions: [Precision, Precision] = [o.precision ?? 'f32', o.precision ?? 'f32'],
): Promise<{ a: OursRow; b: OursRow }> {
  const img = await readImage(o.image);
  const a = await openOurs(ctx, weights, img, precisions[0]);
  try {
    await between({ height: a.height, width: a.width });
    const b = await openOurs(ctx, weights, img, precisions[1]);
    try {
      const [ta, tb] = await measureSettled([a, b].map((e) => async () => (await e.run()).ms), o.repeats, o.settle);
      return { a: oursRow(weights, a, ta), b: oursRow(weights, b, tb) };
    } finally {
      b.model.dispose();
    }
  } finally {
    a.model.dispose();
  }
}
