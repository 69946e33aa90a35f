// Fine-tuning a loaded model on a few labelled images, in the page as in Node: what the demo's
// teach mode runs. The images are what segment() takes (RGB, or bands with their statistics:
// teach-samples.ts); labels may be sparse (painted strokes): unlabelled pixels (255) are ignored
// by the loss, which is any of `runTraining`'s (loss-choice.ts). Each step crops `batch` samples
// with `deeplab train`'s augmentation (random scale, crop, flip) and runs one Trainer step on the
// model's device (WebGPU, or the CPU's ONNX Runtime); its loss goes to onStep. The result is a new model with the trained
// weights; the given one is left as it was. An AbortSignal cancels it between steps; an option
// it does not know is refused by name. With `checkpoint`, the run is kept in a store (a folder in
// Node, the origin private file system in the page) every few steps, when stopped and at its end,
// and `resume` continues a kept run with the losses of one never stopped (fine-tune-checkpoint.ts).
import { checkStatistics } from '../model/input-check.js';
import type { LoadedWeights } from '../model/loading/load-weights.js';
import type { DeviceLossPolicy } from '../model/loading/options.js';
import { DeepLabModel } from '../model/model.js';
import { type ClassSet, defaultClassSet, validateClassSet } from '../model/voc.js';
import { checkOptionKeys, checkSignal } from '../util/option-keys.js';
import { adaptWeights } from './adapt.js';
import type { FineTuneSettings } from './fine-tune-settings.js';
import { FineTuneCheckpoints, type ResumedRun, SCHEDULE_KEYS, type StoredFineTuneOptions, readResume } from './fine-tune-checkpoint.js';
import { openCheckpointStore } from './checkpoint-store.js';
import { lossTerms } from './loss-choice.js';
import type { CheckpointStoreRef } from './run-store.js';
import type { StepRecord } from './step-log.js';
import { type TeachSample, UNLABELLED, prepareSamples, stepBatch } from './teach-samples.js';
import { Trainer } from './trainer.js';

export { type TeachSample, UNLABELLED };

export interface FineTuneOptions extends FineTuneSettings {
  /** After each step (awaited: a page can draw its curve before the next). */
  onStep?(r: FineTuneStep): void | Promise<void>;
  /** What is under way (compiling, reading the weights back). */
  onProgress?(message: string): void;
  /** Polled after each step: true stops there, and the model trained so far is returned. */
  shouldStop?(): boolean;
  /**
   * Cancels the fine-tune: checked before it starts and between steps, where an aborted signal
   * rejects the call with its reason (a DOMException named 'AbortError' unless abort() was given
   * one); the GPU state is freed and no model is returned.
   */
  signal?: AbortSignal;
  /**
   * When the GPU device is lost: 'recover' (the default) keeps the state of the last step on the
   * host (one read-back per step), renews the device and replays the step, so the fine-tune ends
   * as if nothing happened; 'fail' rejects with the loss.
   */
  deviceLoss?: DeviceLossPolicy;
  /**
   * Keeps the run in `store` every `every` steps (default 10), when shouldStop stops it and at its
   * end: the weights, momentum, steps done, these settings and the loss log, in the format of a
   * `deeplab train` run folder. `store` is a folder path in Node; in the page a directory of the
   * origin private file system, by name ('runs/teach') or FileSystemDirectoryHandle. Each file is
   * written whole or not at all; a write that fails (a full quota: an error named
   * 'QuotaExceededError' giving the bytes needed and free) stops the run, the previous checkpoint
   * left as it was.
   */
  checkpoint?: { store: CheckpointStoreRef; every?: number };
  /**
   * Continues the run kept in this store (as `checkpoint.store` names one) from its last
   * checkpoint: its weights, momentum and step; the steps after it take the crops, flips and
   * learning rates a run never stopped takes there, so with the same samples and settings the
   * losses are that run's. onStep is told the new steps only (lastCheckpoint gives the log).
   */
  resume?: CheckpointStoreRef;
}

/** Every option's name, for the check of the keys given. */
const OPTION_NAMES = Object.keys({
  steps: true,
  crop: true,
  batch: true,
  lr: true,
  warmup: true,
  momentum: true,
  weightDecay: true,
  classes: true,
  loss: true,
  mean: true,
  std: true,
  scale: true,
  flip: true,
  freezeBackbone: true,
  freezeBn: true,
  dropout: true,
  seed: true,
  onStep: true,
  onProgress: true,
  shouldStop: true,
  signal: true,
  deviceLoss: true,
  checkpoint: true,
  resume: true,
} satisfies Record<keyof FineTuneOptions, true>);

export interface FineTuneStep {
  /** 1-based. */
  step: number;
  steps: number;
  loss: number;
  lr: number;
  /** Time of the step (crops made, trained, loss read back). */
  ms: number;
}

function classSetOf(classes: ClassSet | readonly string[]): ClassSet {
  if (!Array.isArray(classes)) return validateClassSet(classes as ClassSet, (classes as ClassSet).names?.length ?? 0, 'fineTune: classes');
  const names = classes as readonly string[];
  if (names.length < 1 || names.some((n) => typeof n !== 'string')) throw new Error(`fineTune: classes must be a non-empty list of names, got ${JSON.stringify(names)}`);
  return { names, colors: defaultClassSet(names.length).colors };
}

/**
 * Fine-tunes `model` on `samples` for `o.steps` steps on its GPU context; returns a new model
 * (same context, name, input policy; the new classes where `o.classes` was given) with the
 * trained weights. The GPU work of each step is one turn of the context's queue, so other calls
 * on the context (a camera's segmentation) run between steps, never inside one.
 */
export async function fineTune(model: DeepLabModel, samples: readonly TeachSample[], o: FineTuneOptions): Promise<DeepLabModel> {
  checkOptionKeys('fineTune', o, OPTION_NAMES);
  const signal = checkSignal('fineTune', o.signal);
  if (o.deviceLoss !== undefined && o.deviceLoss !== 'recover' && o.deviceLoss !== 'fail') {
    throw new Error(`fineTune: deviceLoss must be 'recover' or 'fail', got ${JSON.stringify(o.deviceLoss)}`);
  }
  checkStatistics(o, 'fineTune');
  signal?.throwIfAborted();
  const batch = o.batch ?? 1;
  const seed = o.seed ?? 0;
  const say = o.onProgress ?? (() => {});
  // The model's device trains (src/model/devices/training.ts), each step one turn of its calls.
  const training = model.training;
  const queue = { run: training.exclusive };
  const stored = storedOptions(o);
  const resumed = o.resume === undefined ? null : await resumeRun(o.resume, stored, say);
  let weights: LoadedWeights;
  if (resumed) {
    weights = resumed.weights;
    checkResumedClasses(resumed, o.classes);
  } else {
    const current: LoadedWeights = { ...model.loadedWeights, params: await queue.run(() => model.parameters()) };
    weights = o.classes === undefined ? current : adaptWeights(current, { classes: classSetOf(o.classes), seed }).weights;
  }
  try {
    lossTerms(o.loss, weights.config.binary ?? false);
  } catch (e) {
    throw new Error(`fineTune: ${(e as Error).message}`);
  }
  const prepared = await prepareSamples(weights, samples, o);
  signal?.throwIfAborted();
  const base = resumed?.base ?? model.name;
  const checkpoints = o.checkpoint === undefined ? null : await FineTuneCheckpoints.open(checkpointStore(o.checkpoint), o.checkpoint.every, stored, base, o.resume === o.checkpoint.store ? (resumed?.step ?? null) : null);
  say(`compiling the training step for ${batch}x${o.crop}x${o.crop} crops`);
  const trainer = await queue.run(() =>
    Trainer.create(training.device, weights, {
      batch,
      crop: o.crop,
      baseLr: o.lr,
      steps: o.steps,
      warmup: o.warmup,
      momentum: o.momentum,
      weightDecay: o.weightDecay,
      freezeBackbone: o.freezeBackbone,
      freezeBn: o.freezeBn ?? true,
      dropout: o.dropout ?? false,
      ignoreIndex: UNLABELLED,
      loss: o.loss,
      seed,
      surviveDeviceLoss: o.deviceLoss !== 'fail',
    }),
  );
  let trained;
  try {
    if (resumed) trainer.resumeAt(resumed.step, resumed.momentum);
    const log: StepRecord[] = [...(resumed?.log ?? [])];
    for (let step = trainer.stepsDone; step < o.steps; step++) {
      signal?.throwIfAborted();
      const t0 = performance.now();
      const crops = stepBatch(prepared, step, weights, o, batch);
      const r = await queue.run(() => trainer.train([crops]));
      const ms = performance.now() - t0;
      log.push({ step: step + 1, loss: r.loss, lr: r.lr, imagesPerSecond: batch / (ms / 1000) });
      await o.onStep?.({ step: step + 1, steps: o.steps, loss: r.loss, lr: r.lr, ms });
      const stopping = step + 1 < o.steps && !!o.shouldStop?.();
      if (checkpoints?.due(step + 1, stopping)) {
        say(`keeping step ${step + 1} in ${checkpoints.where}`);
        const { params, momentum } = await queue.run(() => trainer.checkpointState());
        await checkpoints.save(step + 1, weights, params, momentum, log);
      }
      if (stopping) break;
    }
    signal?.throwIfAborted();
    say('reading the trained weights back');
    trained = await queue.run(() => trainer.weights());
  } finally {
    trainer.dispose();
  }
  const tuned = await DeepLabModel.fromWeights({ ...weights, params: trained }, { ...training.sameDevice, precision: model.precision, onProgress: o.onProgress, memoryBudget: model.memory().budget ?? undefined });
  if (signal?.aborted) {
    tuned.dispose();
    signal.throwIfAborted();
  }
  return tuned;
}

/** The settings a checkpoint keeps (those that can be written down: no callbacks, signal or stores). */
function storedOptions(o: FineTuneOptions): StoredFineTuneOptions {
  const { onStep: _a, onProgress: _b, shouldStop: _c, signal: _d, checkpoint: _e, resume: _f, ...kept } = o;
  return JSON.parse(JSON.stringify(kept)) as StoredFineTuneOptions;
}

/** The store of `checkpoint`, checked for its shape. */
function checkpointStore(checkpoint: FineTuneOptions['checkpoint']): CheckpointStoreRef {
  if (typeof checkpoint !== 'object' || checkpoint === null || !('store' in checkpoint)) throw new Error(`fineTune: checkpoint is { store, every }, got ${JSON.stringify(checkpoint)}`);
  return checkpoint.store;
}

/** The run kept in `ref`, with any setting given now that differs from the run's said (the losses then differ from an uninterrupted run's). */
async function resumeRun(ref: CheckpointStoreRef, now: StoredFineTuneOptions, say: (message: string) => void): Promise<ResumedRun> {
  const store = await openCheckpointStore(ref, 'fineTune: resume', false);
  const run = await readResume(store);
  if (!run) throw new Error(`fineTune: resume: ${store.where} holds no checkpoint to resume from`);
  const changed = run.options ? SCHEDULE_KEYS.filter((k) => JSON.stringify(now[k]) !== JSON.stringify(run.options![k])).map((k) => `${k} ${JSON.stringify(now[k])} (the run's ${JSON.stringify(run.options![k])})`) : [];
  say(`resuming ${store.where} at step ${run.step}` + (changed.length ? `, with settings other than the run's: ${changed.join(', ')}` : ''));
  return run;
}

/** A resumed run's classes against those asked for (the checkpoint's classifier is the one trained). */
function checkResumedClasses(run: ResumedRun, classes: FineTuneOptions['classes']): void {
  if (classes === undefined) return;
  const asked = classSetOf(classes).names;
  if (JSON.stringify(asked) !== JSON.stringify(run.weights.classes.names)) {
    throw new Error(`fineTune: resume: ${run.where} holds a model of the classes ${run.weights.classes.names.join(', ')}, not ${asked.join(', ')}`);
  }
}
