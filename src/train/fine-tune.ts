// Fine-tuning a loaded model on a few labelled images, in the page as in Node: what the demo's
// teach mode runs. Labels may be sparse (painted strokes): unlabelled pixels (255) are ignored
// by the loss. Each step crops `batch` samples with `deeplab train`'s augmentation (random
// scale, crop, flip) and runs one Trainer step on the model's GPU context; its loss goes to
// onStep. The result is a new model with the trained weights; the given one is left as it was.
// An AbortSignal cancels it between steps; an option it does not know is refused by name.
import { augment } from '../data/augment.js';
import type { Label } from '../data/dataset.js';
import { contextQueue } from '../gpu/serial-queue.js';
import { type RgbImage, checkImageSize } from '../io/rgb-image.js';
import { normalizeInput } from '../model/input-policy.js';
import type { LoadedWeights } from '../model/loading/load-weights.js';
import type { DeviceLossPolicy } from '../model/loading/options.js';
import { DeepLabModel } from '../model/model.js';
import { type ClassSet, defaultClassSet, validateClassSet } from '../model/voc.js';
import { checkOptionKeys, checkSignal } from '../util/option-keys.js';
import { Rng } from '../util/random.js';
import { adaptWeights } from './adapt.js';
import { type MicroBatch, Trainer } from './trainer.js';

/** The label of a pixel nobody labelled: the loss ignores it. */
export const UNLABELLED = 255;

/** An image and its labels: a class id per pixel (width x height, row-major) or UNLABELLED. */
export interface TeachSample {
  image: RgbImage;
  labels: Uint8Array;
}

export interface FineTuneOptions {
  /** Optimizer steps. */
  steps: number;
  /** Square training crop (pixels). */
  crop: number;
  /** Crops per step (default 1). */
  batch?: number;
  /** Base learning rate (the poly schedule brings it to 0 at the last step). */
  lr: number;
  warmup?: number;
  momentum?: number;
  weightDecay?: number;
  /**
   * A new class list (names, or names and colours): a new classifier, as `deeplab train` makes
   * for a data set's classes. Default: the model's classes, refined.
   */
  classes?: ClassSet | readonly string[];
  /** Random scale range of the crops (default [0.5, 2.0], the paper's; [1, 1] turns it off). */
  scale?: [number, number];
  /** Random left-right flips (default true). */
  flip?: boolean;
  /** Train only the head (ASPP and classifier). */
  freezeBackbone?: boolean;
  /** Batch norms with their running statistics (default true: a few small crops give no usable batch statistics). */
  freezeBn?: boolean;
  /** The heads' dropout (default false: over a few steps its noise would hide the loss's trend). */
  dropout?: boolean;
  /** Fixes the crops and the new classifier's initialisation. */
  seed?: number;
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

/** Draws of a crop before one with no labelled pixel is taken as it is (it teaches nothing). */
const MAX_DRAWS = 20;

function classSetOf(classes: ClassSet | readonly string[]): ClassSet {
  if (!Array.isArray(classes)) return validateClassSet(classes as ClassSet, (classes as ClassSet).names?.length ?? 0, 'fineTune: classes');
  const names = classes as readonly string[];
  if (names.length < 1 || names.some((n) => typeof n !== 'string')) throw new Error(`fineTune: classes must be a non-empty list of names, got ${JSON.stringify(names)}`);
  return { names, colors: defaultClassSet(names.length).colors };
}

/** Every sample well-formed, each with a labelled pixel, every label a class or UNLABELLED. */
function checkSamples(samples: readonly TeachSample[], numClasses: number): void {
  if (!Array.isArray(samples) || samples.length === 0) throw new Error('fineTune: no samples (give at least one labelled image)');
  samples.forEach(({ image, labels }, i) => {
    const what = `fineTune: sample ${i}`;
    if (!image || !Number.isInteger(image.width) || !Number.isInteger(image.height)) throw new Error(`${what}: the image has no whole-number width and height`);
    checkImageSize(image.width, image.height, what);
    const n = image.width * image.height;
    if (image.data?.length !== 3 * n) throw new Error(`${what}: the image data has ${image.data?.length} bytes, ${image.width}x${image.height} RGB needs ${3 * n}`);
    if (!(labels instanceof Uint8Array) || labels.length !== n) throw new Error(`${what}: labels must be a Uint8Array of ${image.width}x${image.height} = ${n} values, got ${labels?.length ?? 'none'}`);
    let labelled = 0;
    for (let p = 0; p < n; p++) {
      const v = labels[p];
      if (v === UNLABELLED) continue;
      if (v >= numClasses) {
        throw new Error(`${what}: label ${v} at pixel (${p % image.width}, ${Math.floor(p / image.width)}) is neither a class (0..${numClasses - 1}) nor ${UNLABELLED} (unlabelled)`);
      }
      labelled++;
    }
    if (labelled === 0) throw new Error(`${what}: no pixel is labelled (paint at least one stroke)`);
  });
}

/** One step's crops: sample (step * batch + k) mod count, augmented with the generator of (seed, step, k). */
function stepBatch(samples: readonly TeachSample[], step: number, weights: LoadedWeights, o: FineTuneOptions, batch: number): MicroBatch {
  const C = o.crop;
  const images = new Float32Array(batch * C * C * 3);
  const labels = new Uint32Array(batch * C * C);
  for (let k = 0; k < batch; k++) {
    const s = samples[(step * batch + k) % samples.length];
    const label: Label = { width: s.image.width, height: s.image.height, indices: s.labels };
    const rng = Rng.derive(o.seed ?? 0, 0x7eac, step, k);
    let crop = augment(s.image, label, rng, { crop: C, scale: o.scale, flip: o.flip, ignoreIndex: UNLABELLED });
    for (let draw = 1; draw < MAX_DRAWS && crop.label.indices.every((v) => v === UNLABELLED); draw++) {
      crop = augment(s.image, label, rng, { crop: C, scale: o.scale, flip: o.flip, ignoreIndex: UNLABELLED });
    }
    images.set(normalizeInput(weights.inputPolicy, weights.config, crop.image), k * C * C * 3);
    labels.set(crop.label.indices, k * C * C);
  }
  return { images, labels };
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
  signal?.throwIfAborted();
  const batch = o.batch ?? 1;
  const seed = o.seed ?? 0;
  const say = o.onProgress ?? (() => {});
  const ctx = model.ctx;
  const queue = contextQueue(ctx);
  const current: LoadedWeights = { ...model.loadedWeights, params: await queue.run(() => model.parameters()) };
  const weights = o.classes === undefined ? current : adaptWeights(current, { classes: classSetOf(o.classes), seed }).weights;
  checkSamples(samples, weights.config.numClasses);
  signal?.throwIfAborted();
  say(`compiling the training step for ${batch}x${o.crop}x${o.crop} crops`);
  const trainer = await queue.run(() =>
    Trainer.create(ctx, weights, {
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
      seed,
      surviveDeviceLoss: o.deviceLoss !== 'fail',
    }),
  );
  let trained;
  try {
    for (let step = 0; step < o.steps; step++) {
      signal?.throwIfAborted();
      const t0 = performance.now();
      const crops = stepBatch(samples, step, weights, o, batch);
      const r = await queue.run(() => trainer.train([crops]));
      await o.onStep?.({ step: step + 1, steps: o.steps, loss: r.loss, lr: r.lr, ms: performance.now() - t0 });
      if (step + 1 < o.steps && o.shouldStop?.()) break;
    }
    signal?.throwIfAborted();
    say('reading the trained weights back');
    trained = await queue.run(() => trainer.session.downloadAll(weights.buildGraph({ height: o.crop, width: o.crop })));
  } finally {
    trainer.dispose();
  }
  const tuned = await DeepLabModel.fromWeights({ ...weights, params: trained }, { ctx, precision: model.precision, onProgress: o.onProgress, memoryBudget: model.memory().budget ?? undefined });
  if (signal?.aborted) {
    tuned.dispose();
    signal.throwIfAborted();
  }
  return tuned;
}
