// What surviving a lost device costs a training step: Trainer's `surviveDeviceLoss` reads the
// whole training state (parameters, batch-norm statistics, momentum) back to the host after every
// step. Two trainers on one context and one random batch, with it off and on, steps alternating.
// Run by bench/run.ts (part recovery).
import { median } from './common.js';
import { type TrainBenchOptions, randomBatch } from './train.js';
import type { GpuContext } from '../src/gpu/context.js';
import type { LoadedWeights } from '../src/model/loading/load-weights.js';
import { Trainer } from '../src/train/trainer.js';

export interface TrainRecoveryRow {
  /** Step times (the batch in host memory to the loss in host memory) without and with the read-back. */
  off: { samplesMs: number[]; medianMs: number };
  on: { samplesMs: number[]; medianMs: number };
  /** The median of the per-round ratios on / off (each round times both, one after the other). */
  pairedRatio: number;
  /** The state read back after each step (Trainer.keptStateBytes), and the median time that took within the steps `on` times (Trainer.lastReadBackMs). */
  readBackBytes: number;
  readBackMs: number;
  readBackSamplesMs: number[];
  activationBytes: number;
}

/**
 * The step with surviveDeviceLoss off against on: two trainers made from the same weights on
 * `ctx`, then after `warmup` rounds, `repeats` rounds of one step each, the order swapped every
 * round so neither always runs right after the other.
 */
export async function benchTrainRecovery(ctx: GpuContext, weights: LoadedWeights, o: TrainBenchOptions): Promise<TrainRecoveryRow> {
  const batch = randomBatch(weights, o);
  const options = { batch: o.batch, crop: o.crop, baseLr: 1e-3, steps: 2 * (o.repeats + o.warmup) + 2, ignoreIndex: 255, dropout: false };
  const off = await Trainer.create(ctx, weights, options);
  let on: Trainer | null = null;
  try {
    on = await Trainer.create(ctx, weights, { ...options, surviveDeviceLoss: true });
    const trainers = [off, on];
    const times: [number[], number[]] = [[], []];
    const readBack: number[] = [];
    for (let i = 0; i < o.warmup + o.repeats; i++) {
      for (const k of i % 2 ? [1, 0] : [0, 1]) {
        const t = performance.now();
        await trainers[k].train([batch]);
        if (i < o.warmup) continue;
        times[k].push(performance.now() - t);
        if (k === 1) readBack.push(on.lastReadBackMs);
      }
    }
    return {
      off: { samplesMs: times[0], medianMs: median(times[0]) },
      on: { samplesMs: times[1], medianMs: median(times[1]) },
      pairedRatio: median(times[1].map((ms, i) => ms / times[0][i])),
      readBackBytes: on.keptStateBytes,
      readBackMs: median(readBack),
      readBackSamplesMs: readBack,
      activationBytes: on.activationBytes,
    };
  } finally {
    on?.dispose();
    off.dispose();
  }
}
