// Fine-tuning a loaded model on a few labelled images, in the page as in Node: what the demo's
// teach mode runs. The images are what segment() takes (RGB, or bands with their statistics:
// teach-samples.ts); labels may be sparse (painted strokes): unlabelled pixels (255) are taught
// nothing by the loss, which is any of `runTraining`'s (loss-choice.ts). The settings left out
// are the recipe's (teach-recipe.ts): by default teaching from strokes, which distils the
// unpainted pixels to the starting model's classes, centres the crops on the strokes and keeps
// the step best on held-out strokes (teach-data.ts, teach-crops.ts, fine-tune-loop.ts). Each
// step runs one Trainer step on the model's device (WebGPU, or the CPU's ONNX Runtime); its loss
// goes to onStep, and what the run did to onReport. The result is a new model with the kept
// weights; the given one is left as it was. An AbortSignal cancels it between steps; an option
// it does not know is refused by name. With `checkpoint`, the run is kept in a store (a folder in
// Node, the origin private file system in the page) every few steps, when stopped and at its end,
// and `resume` continues a kept run with the losses of one never stopped (fine-tune-checkpoint.ts).
import { checkStatistics } from '../model/input-check.js';
import type { LoadedWeights } from '../model/loading/load-weights.js';
import type { DeviceLossPolicy } from '../model/loading/options.js';
import { DeepLabModel } from '../model/model.js';
import { isBandImage } from '../io/band-image.js';
import { imageSizeInInput } from '../model/input-policy.js';
import { type ClassSet, defaultClassSet, validateClassSet } from '../model/voc.js';
import { checkOptionKeys, checkSignal } from '../util/option-keys.js';
import { type Adapted, adaptWeights } from './adapt.js';
import { keepKnownClasses } from './class-rows.js';
import type { FineTuneSettings } from './fine-tune-settings.js';
import { FineTuneCheckpoints, type ResumedRun, SCHEDULE_KEYS, type StoredFineTuneOptions, readResume } from './fine-tune-checkpoint.js';
import { type FineTuneReport, type FineTuneStep, teachSteps } from './fine-tune-loop.js';
import { openCheckpointStore } from './checkpoint-store.js';
import { lossTerms } from './loss-choice.js';
import type { CheckpointStoreRef } from './run-store.js';
import { balancedClassWeights, newClassTest, strokeSamples } from './teach-data.js';
import { type PaintedFacts, type TeachSettings, teachSettings } from './teach-recipe.js';
import { type PreparedSample, type TeachSample, UNLABELLED, prepareSamples } from './teach-samples.js';
import { type TrainOptions, Trainer } from './trainer.js';

export { type FineTuneReport, type FineTuneStep, type TeachSample, UNLABELLED };

export interface FineTuneOptions extends FineTuneSettings {
  /** After each step (awaited: a page can draw its curve before the next). */
  onStep?(r: FineTuneStep): void | Promise<void>;
  /** What is under way (compiling, reading the weights back). */
  onProgress?(message: string): void;
  /** Polled after each step: true stops there, and the model trained so far is returned. */
  shouldStop?(): boolean;
  /** What the run did (settings used, held-out losses, the step kept, warnings), before the model is returned. */
  onReport?(r: FineTuneReport): void;
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

/** The largest window the held-out strokes are measured in (a larger image is measured in tiles of it). */
const MAX_EVAL_SIDE = 513;

/** Every option's name, for the check of the keys given. */
const OPTION_NAMES = Object.keys({
  steps: true,
  crop: true,
  batch: true,
  lr: true,
  recipe: true,
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
  sampleSize: true,
  cropAt: true,
  distill: true,
  balance: true,
  holdOut: true,
  evalEvery: true,
  keep: true,
  onStep: true,
  onProgress: true,
  onReport: true,
  shouldStop: true,
  signal: true,
  deviceLoss: true,
  checkpoint: true,
  resume: true,
} satisfies Record<keyof FineTuneOptions, true>);

function classSetOf(classes: ClassSet | readonly string[]): ClassSet {
  if (!Array.isArray(classes)) return validateClassSet(classes as ClassSet, (classes as ClassSet).names?.length ?? 0, 'fineTune: classes');
  const names = classes as readonly string[];
  if (names.length < 1 || names.some((n) => typeof n !== 'string')) throw new Error(`fineTune: classes must be a non-empty list of names, got ${JSON.stringify(names)}`);
  return { names, colors: defaultClassSet(names.length).colors };
}

/**
 * Fine-tunes `model` on `samples` for `o.steps` steps on its device; returns a new model (same
 * device and context, name, input policy; the new classes where `o.classes` was given) with the
 * trained weights. The work of each step is one turn of the device's queue, so other calls on it
 * (a camera's segmentation) run between steps, never inside one.
 */
export async function fineTune(model: DeepLabModel, samples: readonly TeachSample[], o: FineTuneOptions): Promise<DeepLabModel> {
  checkOptionKeys('fineTune', o, OPTION_NAMES);
  const signal = checkSignal('fineTune', o.signal);
  if (o.deviceLoss !== undefined && o.deviceLoss !== 'recover' && o.deviceLoss !== 'fail') {
    throw new Error(`fineTune: deviceLoss must be 'recover' or 'fail', got ${JSON.stringify(o.deviceLoss)}`);
  }
  checkStatistics(o, 'fineTune');
  signal?.throwIfAborted();
  const say = o.onProgress ?? (() => {});
  // The model's device trains (src/model/devices/training.ts), each step one turn of its calls.
  const training = model.training;
  const queue = { run: training.exclusive };
  const resumed = o.resume === undefined ? null : await readRun(o.resume);
  let weights: LoadedWeights;
  // A new classifier whose new rows a recipe 'strokes' starts from their parents, once the strokes are read.
  let fresh: { current: LoadedWeights; adapted: Adapted } | null = null;
  if (resumed) {
    weights = resumed.weights;
    checkResumedClasses(resumed, o.classes);
  } else {
    const current: LoadedWeights = { ...model.loadedWeights, params: await queue.run(() => model.parameters()) };
    if (o.classes === undefined) weights = current;
    else {
      const adapted = adaptWeights(current, { classes: classSetOf(o.classes), seed: o.seed ?? 0 });
      const strokes = (o.recipe ?? 'strokes') === 'strokes';
      weights = strokes ? keepKnownClasses(current, adapted) : adapted.weights;
      if (strokes) fresh = { current, adapted };
    }
  }
  try {
    lossTerms(o.loss, weights.config.binary ?? false);
  } catch (e) {
    throw new Error(`fineTune: ${(e as Error).message}`);
  }
  const prepared = await prepareSamples(weights, samples, o);
  signal?.throwIfAborted();
  const toTrained = teacherClasses(model.classNames, weights.classes.names);
  const t = teachSettings(o, paintedFacts(weights, prepared, toTrained));
  const stored = storedOptions(o, t);
  if (resumed) sayResumed(resumed, stored, say);
  if (t.distill > 0) say('segmenting the images with the model as it is (what it keeps where nothing is painted)');
  // segment() takes its own turns of the context's queue.
  const { samples: taught, parents, startingRecall } = await strokeSamples(model, weights, prepared, t, toTrained);
  signal?.throwIfAborted();
  if (fresh && parents.size > 0) {
    weights = keepKnownClasses(fresh.current, fresh.adapted, parents);
    for (const [child, parent] of parents) say(`${weights.classes.names[child]} starts from ${model.classNames[parent]}, the class the model gives most of its painted pixels`);
  }
  const base = resumed?.base ?? model.name;
  const checkpoints = o.checkpoint === undefined ? null : await FineTuneCheckpoints.open(checkpointStore(o.checkpoint), o.checkpoint.every, stored, base, o.resume === o.checkpoint.store ? (resumed?.step ?? null) : null);
  say(`compiling the training step for ${t.batch}x${t.crop}x${t.crop} crops`);
  const trainOptions: TrainOptions = {
    batch: t.batch,
    crop: t.crop,
    baseLr: t.lr,
    steps: t.steps,
    warmup: t.warmup,
    momentum: o.momentum,
    weightDecay: o.weightDecay,
    freezeBackbone: t.freezeBackbone,
    freezeBn: t.freezeBn,
    dropout: t.dropout,
    ignoreIndex: UNLABELLED,
    loss: o.loss,
    seed: t.seed,
    distill: t.distill,
    ...(t.balance > 0 ? { classWeights: balancedClassWeights(taught, weights.config.numClasses, t.balance) } : {}),
  };
  const trainer = await queue.run(() => Trainer.create(training.device, weights, { ...trainOptions, surviveDeviceLoss: o.deviceLoss !== 'fail' }));
  // The held-out strokes are measured on each image whole, up to MAX_EVAL_SIDE (tiled beyond).
  const evalCrop = Math.min(MAX_EVAL_SIDE, Math.max(...taught.map((x) => Math.max(x.image.width, x.image.height))));
  const evaluator = (run: Trainer, earlier: Trainer | null): Promise<Trainer> => run.measurer(training.device, weights, { ...trainOptions, batch: 1, crop: evalCrop }, earlier);
  let kept;
  try {
    if (resumed) trainer.resumeAt(resumed.step, resumed.momentum);
    kept = await teachSteps({ trainer, queue, weights, samples: taught, settings: t, checkpoints, log: [...(resumed?.log ?? [])], evalCrop, evaluator, classWeights: trainOptions.classWeights, startingRecall }, { onStep: o.onStep, onProgress: o.onProgress, shouldStop: o.shouldStop, signal });
  } finally {
    trainer.dispose();
  }
  const tuned = await DeepLabModel.fromWeights({ ...weights, params: kept.params }, { ...training.sameDevice, precision: model.precision, onProgress: o.onProgress, memoryBudget: model.memory().budget ?? undefined });
  if (signal?.aborted) {
    tuned.dispose();
    signal.throwIfAborted();
  }
  o.onReport?.(kept.report);
  return tuned;
}

/**
 * What the recipe reads of the samples: the share of their pixels painted, the network's input
 * side, how many there are, whether a class the starting model lacks is painted (`toTrained`: the
 * starting model's classes as indices of those trained).
 */
function paintedFacts(weights: LoadedWeights, prepared: readonly PreparedSample[], toTrained: Uint8Array): PaintedFacts {
  const isNew = newClassTest(toTrained);
  let painted = 0;
  let pixels = 0;
  let networkSide = 0;
  let paintsNew = false;
  for (const s of prepared) {
    for (const v of s.label.indices) {
      if (v === UNLABELLED) continue;
      painted++;
      if (isNew(v)) paintsNew = true;
    }
    pixels += s.label.indices.length;
    const [h, w] = isBandImage(s.image) ? [s.image.height, s.image.width] : imageSizeInInput(weights.inputPolicy, s.image.width, s.image.height);
    networkSide = Math.max(networkSide, h, w);
  }
  return { paintedShare: painted / pixels, networkSide, images: prepared.length, paintsNew };
}

/** For each class of the starting model, its index in the classes trained (UNLABELLED where they lack it: not distilled). */
function teacherClasses(from: readonly string[], to: readonly string[]): Uint8Array {
  return Uint8Array.from(from, (name) => {
    const i = to.indexOf(name);
    return i >= 0 && i < UNLABELLED ? i : UNLABELLED;
  });
}

/** The settings a checkpoint keeps (those that can be written down: no callbacks, signal or stores), the recipe's choices filled in. */
function storedOptions(o: FineTuneOptions, t: TeachSettings): StoredFineTuneOptions {
  const { onStep: _a, onProgress: _b, shouldStop: _c, signal: _d, checkpoint: _e, resume: _f, onReport: _g, ...given } = o;
  return JSON.parse(JSON.stringify({ ...given, ...t })) as StoredFineTuneOptions;
}

/** The store of `checkpoint`, checked for its shape. */
function checkpointStore(checkpoint: FineTuneOptions['checkpoint']): CheckpointStoreRef {
  if (typeof checkpoint !== 'object' || checkpoint === null || !('store' in checkpoint)) throw new Error(`fineTune: checkpoint is { store, every }, got ${JSON.stringify(checkpoint)}`);
  return checkpoint.store;
}

/** The run kept in `ref`. */
async function readRun(ref: CheckpointStoreRef): Promise<ResumedRun> {
  const store = await openCheckpointStore(ref, 'fineTune: resume', false);
  const run = await readResume(store);
  if (!run) throw new Error(`fineTune: resume: ${store.where} holds no checkpoint to resume from`);
  return run;
}

/** Says where a run resumes, with any setting now that differs from the run's (the losses then differ from an uninterrupted run's). */
function sayResumed(run: ResumedRun, now: StoredFineTuneOptions, say: (message: string) => void): void {
  const changed = run.options ? SCHEDULE_KEYS.filter((k) => JSON.stringify(now[k]) !== JSON.stringify(run.options![k])).map((k) => `${k} ${JSON.stringify(now[k])} (the run's ${JSON.stringify(run.options![k])})`) : [];
  say(`resuming ${run.where} at step ${run.step}` + (changed.length ? `, with settings other than the run's: ${changed.join(', ')}` : ''));
}

/** A resumed run's classes against those asked for (the checkpoint's classifier is the one trained). */
function checkResumedClasses(run: ResumedRun, classes: FineTuneOptions['classes']): void {
  if (classes === undefined) return;
  const asked = classSetOf(classes).names;
  if (JSON.stringify(asked) !== JSON.stringify(run.weights.classes.names)) {
    throw new Error(`fineTune: resume: ${run.where} holds a model of the classes ${run.weights.classes.names.join(', ')}, not ${asked.join(', ')}`);
  }
}
