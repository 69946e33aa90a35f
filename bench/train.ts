// Training-step benchmark: one optimizer step (forward, loss, backward, SGD update) of the
// Trainer the `deeplab train` command uses, on random images and labels. Run by bench/run.ts.
import { median } from './common.js';
import type { GpuContext } from '../src/gpu/context.js';
import type { Graph } from '../src/graph/ir.js';
import type { LoadedWeights } from '../src/model/loading/load-weights.js';
import { Trainer } from '../src/train/trainer.js';
import { Rng } from '../src/util/random.js';

export interface TrainBenchOptions {
  batch: number;
  crop: number;
  repeats: number;
  warmup: number;
}

export interface TrainRow {
  model: string;
  batch: number;
  crop: number;
  outputStride: number;
  samplesMs: number[];
  medianMs: number;
  /** Trainer.create (compiling, uploading) + the first step. */
  firstRunMs: number;
  /** The step program's planned activations and gradients (Trainer.activationBytes). */
  activationBytes: number;
}

/** A random batch of images and labels (the same for every run of one shape). */
function randomBatch(weights: LoadedWeights, o: TrainBenchOptions) {
  const rng = Rng.derive(7, o.batch, o.crop);
  const pixels = o.batch * o.crop * o.crop;
  return {
    images: Float32Array.from({ length: pixels * 3 }, () => rng.uniform(-1, 1)),
    labels: Uint32Array.from({ length: pixels }, () => rng.int(weights.config.numClasses)),
  };
}

/**
 * The step untuned against tuned, alternating: one trainer compiled with tuning off (the class
 * defaults), then its step graph tuned (`tune`, forward and backward kernels), then a second
 * trainer compiled with the choices; after a warm-up step each, steps alternate between them.
 * Returns both medians and what tuning reported.
 */
export async function benchTrainTuned<T>(
  ctx: GpuContext,
  weights: LoadedWeights,
  o: TrainBenchOptions,
  tune: (graph: Graph) => Promise<T>,
): Promise<{ untunedMs: number; tunedMs: number; untuned: number[]; tuned: number[]; report: T }> {
  const batch = randomBatch(weights, o);
  const options = { batch: o.batch, crop: o.crop, baseLr: 1e-3, steps: 2 * (o.repeats + o.warmup) + 2, ignoreIndex: 255 };
  const mode = ctx.tuning.mode;
  await ctx.tuning.setMode('off');
  const untunedTrainer = await Trainer.create(ctx, weights, options);
  let tunedTrainer: Trainer | null = null;
  try {
    await ctx.tuning.setMode('cached');
    const report = await tune(untunedTrainer.stepGraph);
    tunedTrainer = await Trainer.create(ctx, weights, options);
    const times: [number[], number[]] = [[], []];
    const trainers = [untunedTrainer, tunedTrainer];
    for (let i = 0; i < o.warmup + o.repeats; i++) {
      for (const [k, trainer] of trainers.entries()) {
        const t = performance.now();
        await trainer.train([batch]);
        if (i >= o.warmup) times[k].push(performance.now() - t);
      }
    }
    return { untunedMs: median(times[0]), tunedMs: median(times[1]), untuned: times[0], tuned: times[1], report };
  } finally {
    tunedTrainer?.dispose();
    untunedTrainer.dispose();
    await ctx.tuning.setMode(mode);
  }
}

/** Median step time of `weights` trained at `o.batch` x `o.crop`, after the first step and `o.warmup - 1` more. */
export async function benchTrainStep(ctx: GpuContext, weights: LoadedWeights, o: TrainBenchOptions): Promise<TrainRow> {
  const batch = randomBatch(weights, o);
  const steps = o.warmup + o.repeats + 1;
  const t0 = performance.now();
  const trainer = await Trainer.create(ctx, weights, { batch: o.batch, crop: o.crop, baseLr: 1e-3, steps, ignoreIndex: 255 });
  try {
    await trainer.train([batch]);
    const firstRunMs = performance.now() - t0;
    for (let i = 1; i < o.warmup; i++) await trainer.train([batch]);
    const samplesMs: number[] = [];
    for (let i = 0; i < o.repeats; i++) {
      const t = performance.now();
      await trainer.train([batch]);
      samplesMs.push(performance.now() - t);
    }
    return {
      model: weights.name,
      batch: o.batch,
      crop: o.crop,
      outputStride: weights.config.outputStride,
      samplesMs,
      medianMs: median(samplesMs),
      firstRunMs,
      activationBytes: trainer.activationBytes,
    };
  } finally {
    trainer.dispose();
  }
}
