// A whole fine-tuning run, as `deeplab train` drives it: data, weights (a new classifier for a
// new class set, or a new head on a classification backbone), the trainer, periodic
// validation, checkpoints, the log and the curves.
//
// In the output folder:
//  - log.jsonl: one JSON line per step ({ step, loss, lr, imagesPerSecond }, plus valMIoU,
//    valPixelAccuracy and valPerClassIoU where validation ran);
//  - latest.safetensors: the weights, the optimizer's momentum buffers and the step (our
//    checkpoint format, loadable by segment and eval; --resume continues from it);
//  - best.safetensors: the weights of the best validation mIoU so far;
//  - loss.png, val.png: the curves;
//  - confusion.json, confusion.png: the confusion matrix of the latest validation (counts; the
//    heat map with rows normalised), and confusion-best.json/.png that of best.safetensors.
// Checkpoints are written atomically (a temporary file, flushed, renamed over the old one). An
// interrupt saves latest and stops. These stop the run with an error naming the step and leave
// the last checkpoint as it was: a non-finite loss (before the update), a lost GPU device (no
// checkpoint is written from it; --resume continues with the losses of a run never stopped), a
// checkpoint that cannot be written (the error names its path).
import { appendFileSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { type CocoClasses, type Dataset, type DatasetFormat, openDataset } from '../data/dataset.js';
import { TrainLoader } from '../data/loader.js';
import { evaluateVoc } from '../eval/voc.js';
import { GpuContext, GpuError } from '../gpu/context.js';
import type { HostParams } from '../graph/params.js';
import { readImage } from '../io/image.js';
import { writeFileAtomic } from '../util/write-atomic.js';
import { type LoadedWeights, loadWeights, saveCheckpoint } from '../model/loading/load-weights.js';
import { DeepLabModel } from '../model/model.js';
import type { DecoderName } from '../model/networks/config.js';
import { readSafetensors } from '../model/weights/import/safetensors.js';
import type { ClassSet } from '../model/voc.js';
import type { ClassificationBackbone } from '../model/weights/torchvision-classification.js';
import { plotPng } from '../util/plot.js';
import { adaptWeights } from './adapt.js';
import { loadBackboneWeights } from './from-backbone.js';
import { writeConfusionFiles } from './confusion-files.js';
import { type TrainOptions, Trainer } from './trainer.js';
import { momentumName } from './training-graph.js';

export interface RunOptions {
  data: string;
  /** The data set's format; without it the folder's layout decides. */
  format?: DatasetFormat;
  /** The classes of a coco data set ('file' by default). */
  cocoClasses?: CocoClasses;
  /** Weights to start from: a registry name or a checkpoint path (a new classifier for other classes). */
  model?: string;
  /**
   * Or a torchvision classification checkpoint (resnet50, resnet101, mobilenet_v3_large; .pth or
   * .safetensors) for the backbone, the head initialised afresh (src/train/from-backbone.ts).
   */
  backboneWeights?: string;
  /** The network `backboneWeights` must hold (default: the one it holds). */
  backbone?: ClassificationBackbone;
  out: string;
  trainSplit?: string;
  valSplit?: string;
  steps: number;
  batch: number;
  /** Micro-batches per step (gradient accumulation). */
  accumulate?: number;
  crop: number;
  lr: number;
  warmup?: number;
  /** The heads' dropout (default true). */
  dropout?: boolean;
  /** Hard-pixel mining: the loss over the hardest fraction of valid pixels (default 1: all). */
  hardPixels?: number;
  /** Threads that make training samples (default: the loader's). */
  workers?: number;
  outputStride?: number;
  /** The decoder to train with (default: the model's own); DeepLabv3+'s starts afresh on a model without one. */
  decoder?: DecoderName;
  freezeBackbone?: boolean;
  /** Batch norms in inference mode (their scale and shift still learn). */
  freezeBn?: boolean;
  headLrMultiplier?: number;
  /** Validate every N steps (and after the last); 0: only after the last. */
  evalEvery?: number;
  /** Validate on the first N images of the split only. */
  evalLimit?: number;
  seed?: number;
  resume?: boolean;
  /** Weight the loss by inverse class frequency (median-frequency balancing) of the training labels. */
  classWeights?: boolean;
  /** Bootstrapping: images holding these classes (ids or names) appear `repeatFactor` times per epoch. */
  repeatClasses?: (number | string)[];
  repeatFactor?: number;
}

export interface RunHooks {
  /** The GPU context to run on; the caller keeps it (default: a new one, destroyed at the end). */
  ctx?: GpuContext;
  /** After each step. */
  onStep?(r: StepRecord): void;
  /** Messages (loading, validation, checkpoints). */
  say?(message: string): void;
  /** Polled after each step: true stops the run after saving latest. */
  shouldStop?(): boolean;
}

export interface StepRecord {
  step: number;
  loss: number;
  lr: number;
  imagesPerSecond: number;
  valMIoU?: number;
  valPixelAccuracy?: number;
  /** IoU in percent by class name; null for a class in neither the ground truth nor the predictions. */
  valPerClassIoU?: Record<string, number | null>;
}

export interface RunSummary {
  steps: number;
  interrupted: boolean;
  bestMIoU: number | null;
  seconds: number;
  activationBytes: number;
}

/** The output stride a run trains at unless told (the paper's training stride). */
const DEFAULT_OUTPUT_STRIDE = 16;

const LATEST = 'latest.safetensors';
const BEST = 'best.safetensors';

/** Median-frequency balancing: w_c = median(freq) / freq_c over the classes present. */
export function medianFrequencyWeights(data: Dataset, readCounts: (path: string) => Uint8Array): Float32Array {
  const C = data.classes.names.length;
  const counts = new Float64Array(C);
  for (const item of data.items) for (const v of readCounts(item.labelPath)) if (v < C) counts[v]++;
  const total = counts.reduce((a, b) => a + b, 0);
  const freqs = [...counts].map((c) => c / total);
  const present = freqs.filter((f) => f > 0).sort((a, b) => a - b);
  const median = present[Math.floor(present.length / 2)];
  return Float32Array.from(freqs, (f) => (f > 0 ? median / f : 0));
}

function readLog(path: string, upTo: number): StepRecord[] {
  if (!existsSync(path)) return [];
  const lines = readFileSync(path, 'utf8').split('\n');
  const records: StepRecord[] = [];
  for (const [i, line] of lines.entries()) {
    if (!line.trim()) continue;
    try {
      records.push(JSON.parse(line) as StepRecord);
    } catch (e) {
      // A process killed while appending leaves a torn last line: that step is redone anyway.
      if (lines.slice(i + 1).every((l) => !l.trim())) break;
      throw new Error(`${path}: line ${i + 1} is not JSON (${(e as Error).message})`);
    }
  }
  return records.filter((r) => r.step <= upTo);
}

/** Temporary files of the run's outputs: `<name>.<pid>.<stamp>.tmp` (checkpoints) and `.<name>.<pid>.<stamp>.tmp` (log, curves). */
const TEMP_FILE = /^\.?(latest\.safetensors|best\.safetensors|log\.jsonl|loss\.png|val\.png|confusion(?:-best)?\.(?:json|png))\.(\d+)\.[0-9a-z]+\.tmp$/;

function processAlive(pid: number): boolean {
  if (pid === process.pid) return false; // this process writes synchronously: nothing of its own is in flight
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes the temporary files in `dir` that a write killed part-way left behind (their process
 * is gone); returns their names. They never stand in for an output: each write makes a new one
 * and readers open only the final names.
 */
export function removeStrayTempFiles(dir: string): string[] {
  const removed: string[] = [];
  for (const name of existsSync(dir) ? readdirSync(dir) : []) {
    const m = TEMP_FILE.exec(name);
    if (!m || processAlive(Number(m[2]))) continue;
    rmSync(join(dir, name), { force: true });
    removed.push(name);
  }
  return removed;
}

function writeCurves(out: string, log: StepRecord[]): void {
  if (log.length < 1) return;
  const xs = log.map((r) => r.step);
  writeFileAtomic(join(out, 'loss.png'), plotPng(xs, [{ label: 'TRAINING LOSS', color: [31, 119, 180], values: log.map((r) => r.loss) }], 'TRAINING LOSS', 'STEP', 'LOSS'));
  // Only the validated steps, so the line joins one measurement to the next.
  const validated = log.filter((r) => r.valMIoU !== undefined);
  if (validated.length) {
    const vx = validated.map((r) => r.step);
    const values = validated.map((r) => r.valMIoU! / 100);
    writeFileAtomic(
      join(out, 'val.png'),
      plotPng(vx, [{ label: 'VAL MIOU', color: [214, 39, 40], values }], 'VALIDATION MIOU', 'STEP', 'MIOU (FRACTION)', { yMin: 0, yMax: 1, yStep: 0.1, xStep: Math.max(1, Math.ceil(Math.max(...xs) / 10)) }),
    );
  }
}

/** Class ids from ids or names; an unknown one is an error listing the classes. */
function classIds(classes: readonly (number | string)[], names: readonly string[]): number[] {
  return classes.map((c) => {
    const id = typeof c === 'number' ? c : names.indexOf(c);
    if (!Number.isInteger(id) || id < 0 || id >= names.length) throw new Error(`bootstrapping: no class '${c}' (classes: ${names.join(', ')})`);
    return id;
  });
}

/** The weights a new run starts from: a model (`o.model`), or a DeepLabv3 on a classification backbone (`o.backboneWeights`). */
async function startingWeights(o: RunOptions, classes: ClassSet, seed: number, say: (message: string) => void): Promise<LoadedWeights> {
  if (o.backboneWeights === undefined) {
    if (o.backbone !== undefined) throw new Error('training: backbone names the network of backboneWeights, and none was given');
    if (o.model === undefined) throw new Error('training: give the weights to start from (model, or backboneWeights)');
    return loadWeights(o.model, { download: true });
  }
  if (o.model !== undefined) throw new Error(`training: give model or backboneWeights, not both (model ${o.model}, backboneWeights ${o.backboneWeights})`);
  const outputStride = o.outputStride ?? DEFAULT_OUTPUT_STRIDE;
  const { weights, backbone, dropped, initialised } = loadBackboneWeights(o.backboneWeights, { backbone: o.backbone, classes, outputStride, seed });
  const head = dropped.filter((k) => !k.endsWith('.num_batches_tracked'));
  say(
    `backbone: torchvision's ${backbone} from ${o.backboneWeights} (its classification head ${head.join(', ') || '(none)'} dropped); ` +
      `a new DeepLabv3 head for ${classes.names.length} classes at output stride ${outputStride}, ASPP rates ${weights.config.asppRates.join(', ')}: ` +
      `${initialised.length} tensors initialised as PyTorch initialises layers`,
  );
  return weights;
}

/** Runs (or resumes) a fine-tune; returns when the steps are done or a stop was asked for. */
export async function runTraining(o: RunOptions, hooks: RunHooks = {}): Promise<RunSummary> {
  const say = hooks.say ?? (() => {});
  const train = openDataset(o.data, o.trainSplit ?? 'train', { format: o.format, cocoClasses: o.cocoClasses });
  const val = openDataset(o.data, o.valSplit ?? 'val', { format: o.format, cocoClasses: o.cocoClasses });
  mkdirSync(o.out, { recursive: true });
  const stray = removeStrayTempFiles(o.out);
  if (stray.length) say(`removed ${stray.length} temporary file(s) left in ${o.out} by an interrupted write: ${stray.join(', ')}`);
  const latestPath = join(o.out, LATEST);
  const seed = o.seed ?? 0;

  let weights: LoadedWeights;
  let resumeState: { step: number; momentum: HostParams; bestMIoU: number | null } | null = null;
  if (o.resume) {
    if (!existsSync(latestPath)) throw new Error(`--resume: no ${latestPath} to resume from`);
    weights = await loadWeights(latestPath, { outputStride: o.outputStride });
    if (o.decoder !== undefined && o.decoder !== weights.config.decoder) {
      throw new Error(`--resume: ${latestPath} holds a model with decoder '${weights.config.decoder}', not '${o.decoder}'`);
    }
    const { tensors, metadata } = readSafetensors(latestPath);
    const state = JSON.parse(metadata.training ?? 'null') as { step: number; bestMIoU: number | null } | null;
    if (!state) throw new Error(`--resume: ${latestPath} holds no training state`);
    const momentum: HostParams = new Map();
    for (const [k, t] of tensors) if (k.endsWith('#momentum')) momentum.set(k, { shape: [...t.shape], data: t.data });
    resumeState = { step: state.step, momentum, bestMIoU: state.bestMIoU };
    say(`resuming ${latestPath} at step ${state.step}`);
  } else {
    const base = await startingWeights(o, train.classes, seed, say);
    const adapted = adaptWeights(base, { classes: train.classes, outputStride: o.outputStride ?? DEFAULT_OUTPUT_STRIDE, decoder: o.decoder, seed });
    weights = adapted.weights;
    const what = [
      train.classes.names.length !== base.config.numClasses || adapted.reinitialised.some((n) => !/^decoder[./]/.test(n)) ? `new classifier for ${train.classes.names.length} classes` : '',
      weights.config.decoder !== base.config.decoder ? `new ${weights.config.decoder} decoder on ${base.name}` : '',
    ].filter(Boolean);
    if (adapted.reinitialised.length) say(`${what.join(' and ')}: ${adapted.reinitialised.join(', ')} initialised afresh`);
  }
  // Evaluate at the data's own resolution: the network takes the images' short side.
  const first = await readImage(val.items[0].imagePath);
  weights = { ...weights, inputPolicy: { kind: 'short-side', size: Math.min(first.width, first.height) } };

  const trainOptions: TrainOptions = {
    batch: o.batch,
    microBatches: o.accumulate ?? 1,
    crop: o.crop,
    baseLr: o.lr,
    steps: o.steps,
    warmup: o.warmup,
    freezeBackbone: o.freezeBackbone,
    freezeBn: o.freezeBn,
    headLrMultiplier: o.headLrMultiplier,
    ignoreIndex: train.ignoreIndex,
    dropout: o.dropout ?? true,
    hardPixels: o.hardPixels,
    seed,
  };
  if (o.classWeights) {
    trainOptions.classWeights = medianFrequencyWeights(train, (p) => train.readLabel(p).indices);
    say(`class weights: ${[...trainOptions.classWeights].map((w, c) => `${train.classes.names[c]} ${w.toFixed(2)}`).join(', ')}`);
  }
  const ctx = hooks.ctx ?? (await GpuContext.create());
  let trainer: Trainer | undefined;
  let model: DeepLabModel | undefined;
  let loader: TrainLoader | undefined;
  /** The step under way (null before the first), and the step latest.safetensors holds (null: none of this run or the one it resumes). */
  let stepNow: number | null = null;
  let savedStep = resumeState?.step ?? null;
  try {
    trainer = await Trainer.create(ctx, weights, trainOptions);
    if (resumeState) {
      for (const [name, t] of resumeState.momentum) trainer.session.upload(name, t.data, t.shape);
      trainer.stepsDone = resumeState.step;
    }
    model = await DeepLabModel.fromWeights(weights, { ctx, session: trainer.session });
    const micro = trainer.microBatch;
    const K = o.accumulate ?? 1;
    loader = new TrainLoader(train, {
      batch: micro,
      crop: o.crop,
      seed,
      normalization: weights.config.normalization,
      repeatClasses: o.repeatClasses && classIds(o.repeatClasses, train.classes.names),
      repeatFactor: o.repeatFactor,
      workers: o.workers,
    });
    const logPath = join(o.out, 'log.jsonl');
    // A resumed run redoes the steps after the checkpoint: their old lines go.
    const log = readLog(logPath, trainer.stepsDone);
    writeFileAtomic(logPath, Buffer.from(log.map((r) => JSON.stringify(r) + '\n').join('')));
    let bestMIoU = resumeState?.bestMIoU ?? null;

    const checkpoint = async (path: string): Promise<void> => {
      const params = await model!.parameters();
      const momentum: HostParams = new Map();
      for (const p of trainer!.trainable) {
        if (trainer!.session.has(momentumName(p.name))) momentum.set(momentumName(p.name), { shape: [...p.shape], data: await trainer!.session.download(momentumName(p.name)) });
      }
      // Reads from a device lost part-way may be zeros: never let them replace a checkpoint.
      ctx.assertAlive(`saving ${path}`);
      try {
        saveCheckpoint(path, weights, params, {
          tensors: path.endsWith(LATEST) ? momentum : undefined,
          metadata: { training: JSON.stringify({ step: trainer!.stepsDone, bestMIoU, options: o }) },
        });
      } catch (e) {
        throw new Error(`step ${trainer!.stepsDone}: could not write the checkpoint ${path}; the previous one is as it was (${(e as Error).message})`, { cause: e });
      }
      if (path === latestPath) savedStep = trainer!.stepsDone;
    };
    const validate = async () => {
      const items = val.items.slice(0, o.evalLimit ?? val.items.length).map((it) => ({ id: it.id, imagePath: it.imagePath, gtPath: it.labelPath }));
      const scores = await evaluateVoc(model!, items, { ignoreIndex: val.ignoreIndex, readLabel: val.readLabel });
      return { mIoU: scores.mIoU21, pixelAccuracy: scores.pixelAccuracy, perClass: scores.perClass, matrix: scores.matrix, classNames: scores.classNames };
    };

    const start = performance.now();
    let interrupted = false;
    for (let step = trainer.stepsDone; step < o.steps; step++) {
      stepNow = step + 1;
      const t0 = performance.now();
      const batches = [];
      for (let k = 0; k < K; k++) {
        batches.push(await loader.batch(step * K + k));
        // Decode and augment the next micro-batch while the GPU works on this one.
        loader.prefetch(step * K + k + 1);
      }
      const r = await trainer.train(batches);
      const record: StepRecord = { step: step + 1, loss: r.loss, lr: r.lr, imagesPerSecond: o.batch / ((performance.now() - t0) / 1000) };
      const last = step + 1 === o.steps;
      const every = o.evalEvery ?? 0;
      if (last || (every > 0 && (step + 1) % every === 0)) {
        const v = await validate();
        record.valMIoU = v.mIoU;
        record.valPixelAccuracy = v.pixelAccuracy;
        record.valPerClassIoU = v.perClass;
        say(`step ${step + 1}: validation mIoU ${v.mIoU.toFixed(2)}, pixel accuracy ${v.pixelAccuracy.toFixed(2)}`);
        const improved = bestMIoU === null || v.mIoU > bestMIoU;
        if (improved) {
          bestMIoU = v.mIoU;
          await checkpoint(join(o.out, BEST));
        }
        await checkpoint(latestPath);
        // After the checkpoints: confusion-best belongs to the best.safetensors on disk, and a
        // folder that takes no files fails on a checkpoint first.
        writeConfusionFiles(o.out, 'confusion', step + 1, v.matrix, v.classNames);
        if (improved) writeConfusionFiles(o.out, 'confusion-best', step + 1, v.matrix, v.classNames);
      }
      log.push(record);
      appendFileSync(logPath, JSON.stringify(record) + '\n');
      hooks.onStep?.(record);
      if (record.valMIoU !== undefined || last) writeCurves(o.out, log);
      if (!last && hooks.shouldStop?.()) {
        await checkpoint(latestPath);
        writeCurves(o.out, log);
        say(`interrupted: ${latestPath} saved at step ${step + 1}`);
        interrupted = true;
        break;
      }
    }
    return { steps: trainer.stepsDone, interrupted, bestMIoU, seconds: (performance.now() - start) / 1000, activationBytes: trainer.activationBytes };
  } catch (e) {
    if (!ctx.isLost) throw e;
    // A lost device as the step's error, saying what --resume continues from.
    const saved = savedStep === null ? 'no checkpoint of this run was written' : `${latestPath} holds step ${savedStep}: --resume continues from there`;
    const what = e instanceof GpuError && e.kind === 'device-lost' ? e.message : `GPU device lost (${ctx.lostReason}): ${String(e)}`;
    const error = new GpuError(`${stepNow === null ? 'before the first step' : `step ${stepNow}`}: ${what}; ${saved}`, 'device-lost');
    error.cause = e;
    throw error;
  } finally {
    await loader?.close();
    model?.dispose();
    trainer?.dispose();
    if (!hooks.ctx) ctx.destroy();
  }
}
