// What surviving a lost device costs a training step: Trainer's `surviveDeviceLoss` reads the
// whole training state (parameters, batch-norm statistics, momentum) back to the host after every
// step. Two trainers on one context and one random batch, with it off and on, steps alternating.
// Run by bench/run.ts (part recovery).
import { median } from './common.js';
import { type Settled, measureSettled } from './settle.js';
import { type TrainBenchOptions, benchSteps, randomBatch } from './train.js';
import type { GpuContext } from '../src/gpu/context.js';
import type { LoadedWeights } from '../src/model/loading/load-weights.js';
import { Trainer } from '../src/train/trainer.js';

export interface TrainRecoveryRow {
  /** Step times (the batch in host memory to the loss in host memory) without and with the read-back. */
  off: Settled;
  on: Settled;
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
 * `ctx`, then warm-up rounds until both settle (bench/settle.ts) and `repeats` rounds of one step
 * each, the order swapped every round so neither always runs right after the other.
 */
export async function benchTrainRecovery(ctx: GpuContext, weights: LoadedWeights, o: TrainBenchOptions): Promise<TrainRecoveryRow> {
  const batch = randomBatch(weights, o);
  const options = { batch: o.batch, crop: o.crop, baseLr: 1e-3, steps: benchSteps(o), ignoreIndex: 255, dropout: false };
  const off = await Trainer.create(ctx, weights, options);
  let on: Trainer | null = null;
  try {
    on = await Trainer.create(ctx, weights, { ...options, surviveDeviceLoss: true });
    const withReadBack = on;
    // The read-back's time of every step `on` takes; the timed steps are the last `repeats`.
    const readBacks: number[] = [];
    const step = async (trainer: Trainer): Promise<number> => {
      const t = performance.now();
      await trainer.train([batch]);
      const ms = performance.now() - t;
      if (trainer === withReadBack) readBacks.push(trainer.lastReadBackMs);
      return ms;
    };
    const [offTimed, onTimed] = await measureSettled([off, on].map((t) => () => step(t)), o.repeats, o.settle);
    const readBack = readBacks.slice(-o.repeats);
    return {
      off: offTimed,
      on: onTimed,
      pairedRatio: median(onTimed.samplesMs.map((ms, i) => ms / offTimed.samplesMs[i])),
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
