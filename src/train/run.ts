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
// Checkpoints are written atomically (a temporary file, flushed, renamed over the old one), each
// after its step's log line, so a process killed at any moment leaves a log that --resume
// completes with every step once. An interrupt (hooks.shouldStop) saves latest and stops; an
// aborted hooks.signal rejects between steps (or during validation), before the step under way
// writes anything. A lost GPU device is survived by default (RunOptions.deviceLoss): the
// trainer keeps the last step's state on the host, renews the device, uploads that state and
// replays what the loss broke (the step, its validation or its checkpoint), so the run ends with
// the losses and checkpoints of one never interrupted. These stop the run with an error naming
// the step and leave the last checkpoint as it was: a non-finite loss (before the update), a lost
// GPU device with deviceLoss 'fail' or a second loss during the replay (no checkpoint is written
// from it; --resume continues with the losses of a run never stopped), a checkpoint that cannot
// be written (the error names its path).
//
// The pieces live beside this file: run-options.ts (what a run takes), run-start.ts (resuming, or
// the weights of a new run), run-checkpoints.ts, run-log.ts (log and curves), class-balance.ts,
// temp-files.ts; trainer.ts does the steps themselves.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type Dataset, openDataset } from '../data/dataset.js';
import { TrainLoader } from '../data/loader.js';
import { SampleWorkerError } from '../data/sample-pool.js';
import { type VocScores, evaluateVoc } from '../eval/voc.js';
import type { GpuContext } from '../gpu/context.js';
import { readImage } from '../io/image.js';
import { policyAtOwnSize, policyNormalization } from '../model/input-policy.js';
import type { LoadedWeights } from '../model/loading/load-weights.js';
import { checkSignal } from '../util/option-keys.js';
import { classIds, medianFrequencyWeights } from './class-balance.js';
import { writeConfusionFiles } from './confusion-files.js';
import { BEST, LATEST, RunCheckpoints } from './run-checkpoints.js';
import { type StepRecord, appendLog, readLog, rewriteLog, writeCurves } from './run-log.js';
import { type RunHooks, type RunOptions, type RunSummary, checkRunArguments } from './run-options.js';
import { type RunDevice, openRunDevice } from './run-device.js';
import { type ResumeState, newRunWeights, resumeFrom } from './run-start.js';
import { removeStrayTempFiles } from './temp-files.js';
import { type TrainOptions, Trainer } from './trainer.js';

export type { RunHooks, RunOptions, RunSummary } from './run-options.js';
export type { StepRecord } from './run-log.js';

/** Runs (or resumes) a fine-tune; returns when the steps are done or a stop was asked for. */
export async function runTraining(o: RunOptions, hooks: RunHooks = {}): Promise<RunSummary> {
  checkRunArguments(o, hooks);
  const signal = checkSignal('runTraining', hooks.signal);
  // Before anything is read or written.
  signal?.throwIfAborted();
  const say = hooks.say ?? (() => {});
  const train = openDataset(o.data, o.trainSplit ?? 'train', { format: o.format, cocoClasses: o.cocoClasses });
  const val = openDataset(o.data, o.valSplit ?? 'val', { format: o.format, cocoClasses: o.cocoClasses });
  mkdirSync(o.out, { recursive: true });
  const stray = removeStrayTempFiles(o.out);
  if (stray.length) say(`removed ${stray.length} temporary file(s) left in ${o.out} by an interrupted write: ${stray.join(', ')}`);
  const seed = o.seed ?? 0;
  const start = o.resume ? await resumeFrom(join(o.out, LATEST), o, say) : { weights: await newRunWeights(o, train.classes, seed, say), resume: null };
  // Evaluate at the data's own resolution: the model's pipeline at the scale that leaves the
  // first image's size as it is.
  const first = await readImage(val.items[0].imagePath);
  const weights: LoadedWeights = { ...start.weights, inputPolicy: policyAtOwnSize(start.weights.inputPolicy, first.width, first.height) };
  const trainOptions = trainOptionsFor(o, train, seed, say);
  /** The step under way (null before the first). */
  let stepNow: number | null = null;
  trainOptions.surviveDeviceLoss = o.deviceLoss !== 'fail';
  trainOptions.onDeviceLost = (reason) => {
    const at = stepNow === null ? 'before the first step' : `step ${stepNow}`;
    say(`${at}: the GPU device was lost (${reason}); continuing on a new one from the state after step ${trainer?.stepsDone ?? 0}`);
    hooks.onDeviceLost?.({ step: stepNow, reason });
  };
  signal?.throwIfAborted();

  const where = await openRunDevice(o.device, hooks.ctx, say);
  const ctx = where.ctx;
  const checkpoints = new RunCheckpoints(ctx, weights, o, start.resume?.step ?? null);
  let trainer: Trainer | undefined;
  let loader: TrainLoader | undefined;
  let run: Run | undefined;
  try {
    await hooks.onStart?.({ weights, crop: o.crop, ctx });
    trainer = await startTrainer(where.device, weights, trainOptions, start.resume);
    loader = new TrainLoader(train, {
      batch: trainer.microBatch,
      crop: o.crop,
      seed,
      // As the model normalises what it segments.
      normalization: policyNormalization(weights.inputPolicy, weights.config),
      repeatClasses: o.repeatClasses && classIds(o.repeatClasses, train.classes.names),
      repeatFactor: o.repeatFactor,
      workers: o.workers,
      sampleWorker: hooks.sampleWorker,
    });
    signal?.throwIfAborted();
    const logPath = join(o.out, 'log.jsonl');
    // A resumed run redoes the steps after the checkpoint: their old lines go.
    const log = readLog(logPath, trainer.stepsDone);
    rewriteLog(logPath, log);
    run = { o, hooks, say, signal, ctx, weights, trainer, loader, val, checkpoints, logPath, log, bestMIoU: start.resume?.bestMIoU ?? null };

    const started = performance.now();
    let interrupted = false;
    for (let step = trainer.stepsDone; step < o.steps && !interrupted; step++) {
      // Between steps: the last one is recorded whole (its line, checkpoints and curves).
      signal?.throwIfAborted();
      stepNow = step + 1;
      interrupted = await runStep(run, step);
    }
    return { steps: trainer.stepsDone, interrupted, bestMIoU: run.bestMIoU, seconds: (performance.now() - started) / 1000, activationBytes: trainer.activationBytes };
  } catch (e) {
    // A sample whose worker thread died twice: the step, the image, the cause, and --resume.
    if (e instanceof SampleWorkerError) throw new Error(`step ${stepNow}: ${e.message}; ${checkpoints.resumeNote()}`, { cause: e });
    // An abort's reason as it is (not a lost device's error).
    if (!isDeviceLoss(ctx, e, signal)) throw e;
    throw checkpoints.deviceLostError(e, stepNow);
  } finally {
    await loader?.close();
    trainer?.dispose();
    if (where.ownsContext) ctx?.destroy();
  }
}

/** The trainer's options from the run's (class weights computed from the training labels when asked for). */
function trainOptionsFor(o: RunOptions, train: Dataset, seed: number, say: (message: string) => void): TrainOptions {
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
    ...(o.loss ? { loss: o.loss } : {}),
    seed,
  };
  if (o.classWeights) {
    trainOptions.classWeights = medianFrequencyWeights(train, (p) => train.readLabel(p).indices);
    say(`class weights: ${[...trainOptions.classWeights].map((w, c) => `${train.classes.names[c]} ${w.toFixed(2)}`).join(', ')}`);
  }
  return trainOptions;
}

/** The trainer on the run's device, at the resumed step with its momentum buffers where the run resumes. */
async function startTrainer(device: RunDevice['device'], weights: LoadedWeights, options: TrainOptions, resume: ResumeState | null): Promise<Trainer> {
  const trainer = await Trainer.create(device, weights, options);
  if (resume) trainer.resumeAt(resume.step, resume.momentum);
  return trainer;
}

/** A run under way: its parts, its log and its best score so far. */
interface Run {
  o: RunOptions;
  hooks: RunHooks;
  say: (message: string) => void;
  signal: AbortSignal | undefined;
  /** The GPU context (null on the CPU). */
  ctx: GpuContext | null;
  weights: LoadedWeights;
  /** Its model() is what validation and checkpoints use (src/train/trainer.ts). */
  trainer: Trainer;
  loader: TrainLoader;
  val: Dataset;
  checkpoints: RunCheckpoints;
  logPath: string;
  log: StepRecord[];
  bestMIoU: number | null;
}

/**
 * Step `step + 1`: its micro-batches trained, validation when due, its log line, then its
 * checkpoints and curves; returns true when a stop was asked for (latest saved).
 *
 * The line goes to the log before any checkpoint of its step: a process killed between the two
 * leaves a line past latest.safetensors's step, which --resume drops and writes again, never a
 * checkpoint whose step has no line (a resumed log would lack it for good).
 */
async function runStep(run: Run, step: number): Promise<boolean> {
  const { o, trainer, loader, checkpoints } = run;
  const K = o.accumulate ?? 1;
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
  const validation = last || (every > 0 && (step + 1) % every === 0) ? await surviving(run, () => validate(run, record)) : null;
  run.log.push(record);
  appendLog(run.logPath, record);
  if (validation) await saveValidated(run, record, validation);
  run.hooks.onStep?.(record);
  if (record.valMIoU !== undefined || last) writeCurves(o.out, run.log);
  if (!last && run.hooks.shouldStop?.()) {
    if (checkpoints.savedStep !== trainer.stepsDone) await surviving(run, async () => checkpoints.save(checkpoints.latestPath, await trainer.model(run.weights), trainer, run.bestMIoU));
    writeCurves(o.out, run.log);
    run.say(`interrupted: ${checkpoints.latestPath} saved at step ${step + 1}`);
    return true;
  }
  return false;
}

/** Validation after the step `record` is of: its scores in the record (nothing written yet). */
async function validate(run: Run, record: StepRecord): Promise<VocScores> {
  const { o, val } = run;
  const items = val.items.slice(0, o.evalLimit ?? val.items.length).map((it) => ({ id: it.id, imagePath: it.imagePath, gtPath: it.labelPath }));
  const v = await evaluateVoc(await run.trainer.model(run.weights), items, { ignoreIndex: val.ignoreIndex, readLabel: val.readLabel, signal: run.signal });
  record.valMIoU = v.mIoU21;
  record.valPixelAccuracy = v.pixelAccuracy;
  record.valPerClassIoU = v.perClass;
  return v;
}

/** After a validated step's log line: its scores said, best.safetensors where it improved, latest, and the confusion files. */
async function saveValidated(run: Run, record: StepRecord, v: VocScores): Promise<void> {
  const { o, trainer, checkpoints } = run;
  run.say(`step ${record.step}: validation mIoU ${v.mIoU21.toFixed(2)}, pixel accuracy ${v.pixelAccuracy.toFixed(2)}`);
  const improved = run.bestMIoU === null || v.mIoU21 > run.bestMIoU;
  if (improved) {
    run.bestMIoU = v.mIoU21;
    await surviving(run, async () => checkpoints.save(join(o.out, BEST), await trainer.model(run.weights), trainer, run.bestMIoU));
  }
  await surviving(run, async () => checkpoints.save(checkpoints.latestPath, await trainer.model(run.weights), trainer, run.bestMIoU));
  // After the checkpoints: confusion-best belongs to the best.safetensors on disk, and a
  // folder that takes no files fails on a checkpoint first.
  writeConfusionFiles(o.out, 'confusion', record.step, v.matrix, v.classNames);
  if (improved) writeConfusionFiles(o.out, 'confusion-best', record.step, v.matrix, v.classNames);
}

/** Whether `e` came of a lost device (not of an abort, whose reason goes out as it is). */
function isDeviceLoss(ctx: GpuContext | null, e: unknown, signal: AbortSignal | undefined): boolean {
  return !!ctx?.isLost && !(signal?.aborted && e === signal.reason);
}

/**
 * Device work between steps (validation, a checkpoint's read-back) on a live device: where the
 * device is lost during the work, the trainer recovers it (or, with deviceLoss 'fail', the loss
 * stops the run) and the work runs once more from the start, on the trainer's model of the new
 * session. Nothing is written before the work's read-backs are whole, so a replay writes each
 * file once.
 */
async function surviving<T>(run: Run, work: () => Promise<T>): Promise<T> {
  if (run.o.deviceLoss === 'fail') return work();
  await run.trainer.ensureDevice();
  try {
    return await work();
  } catch (e) {
    if (!isDeviceLoss(run.ctx, e, run.signal)) throw e;
    await run.trainer.ensureDevice();
    return await work();
  }
}
