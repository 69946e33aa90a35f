// fineTune's steps: each step's crops trained on, the run kept every few steps, and with held-out
// strokes their loss and mIoU measured before the first step, every `evalEvery` steps and at the
// last, and the weights of the best step kept: keep 'best', the step whose segment() labels the
// held-out strokes best (mIoU) among those whose held-out loss is not above the start's, the least
// loss of equals (a falling loss alone can be the model growing surer of what it had right while
// labels change elsewhere); keep 'least-loss', the step of least held-out loss. The held-out
// strokes are measured on each image whole at the network's size, as segment() runs it (a crop
// sees less of the image, and the head's image pooling averages over what it sees): with a smaller
// training crop, their loss by a second step program at that size on the same parameters (on
// WebGPU on the run's session, on the CPU a run of its own given the parameters at each measure),
// their mIoU by the trainer's model of its weights (Trainer.model). What the run did comes back as a
// report: the steps, the held-out losses, the step kept, and warnings where the teaching did not
// help (the loss rose, or the held-out strokes got worse).
import { ConfusionMatrix } from '../eval/metrics.js';
import type { HostParams } from '../graph/params.js';
import type { SerialQueue } from '../gpu/serial-queue.js';
import type { LoadedWeights } from '../model/loading/load-weights.js';
import type { FineTuneCheckpoints } from './fine-tune-checkpoint.js';
import type { StepRecord } from './step-log.js';
import { heldOutPasses, strokeBatch } from './teach-crops.js';
import { type StrokeSample, modelClasses } from './teach-data.js';
import type { TeachSettings } from './teach-recipe.js';
import { UNLABELLED } from './teach-samples.js';
import type { Trainer } from './trainer.js';

export interface FineTuneStep {
  /** 1-based. */
  step: number;
  steps: number;
  /** The step's loss: cross-entropy on the strokes taught on, plus the distillation term. */
  loss: number;
  /** The distillation term of the loss (weighted), where the run distils. */
  distillLoss?: number;
  /** The loss on the held-out strokes after this step, where it was measured. */
  heldOutLoss?: number;
  lr: number;
  /** Time of the step (crops made, trained, loss read back; the held-out measure not included). */
  ms: number;
}

/** What a fine-tune did: fineTune's onReport is told it before the model is returned. */
export interface FineTuneReport {
  /** The settings the run used, the recipe's choices filled in. */
  settings: TeachSettings;
  /** Steps done (fewer than settings.steps where stopped). */
  steps: number;
  /** Painted pixels taught on and held out, at the size taught (the network's, with sampleSize 'network'). */
  painted: { taught: number; heldOut: number };
  /**
   * The held-out strokes' loss: before the first step (or where a resumed run began), at each step
   * measured (with the held-out strokes' mIoU, %, as segment() labels them, and where the run
   * distils the drift of the pixels nobody painted), and at the step kept, with what the drift
   * weighs in 'least-loss' (driftWeight); null where none were held out.
   */
  heldOut: { before: number; after: number; measured: Measure[]; driftWeight: number } | null;
  /** The step whose weights the model has (0: the model as it was, where no step did better on the held-out strokes, and with 'least-loss' on the pixels nobody painted too). */
  keptStep: number;
  /** Where teaching did not help, in words (empty where it did). */
  warnings: string[];
}

export interface LoopHooks {
  onStep?(r: FineTuneStep): void | Promise<void>;
  onProgress?(message: string): void;
  shouldStop?(): boolean;
  signal?: AbortSignal;
}

export interface LoopState {
  trainer: Trainer;
  /** The model's device's turns: each call on it one turn. */
  queue: Pick<SerialQueue, 'run'>;
  weights: LoadedWeights;
  samples: readonly StrokeSample[];
  settings: TeachSettings;
  checkpoints: FineTuneCheckpoints | null;
  /** The steps before this run's (a resumed run's log). */
  log: StepRecord[];
  /** The window the held-out strokes are measured in: the images' side at the network's size. */
  evalCrop: number;
  /** A trainer at evalCrop, batch 1, measuring the run's parameters as they are (Trainer.measurer; `earlier` the one made before), where evalCrop is not the training crop. */
  evaluator(run: Trainer, earlier: Trainer | null): Promise<Trainer>;
  /** The loss's class weights, where it has them: each pass's mean is weighed by its pixels' weights. */
  classWeights?: Float32Array;
  /** The starting model's recall of the classes painted (teach-data.ts StrokeData): what the drift weighs in the step kept. */
  startingRecall?: number | null;
}

/** The held-out strokes after a step: their loss, and their mIoU (%) as segment() labels them. */
export interface Measure {
  step: number;
  loss: number;
  miou: number;
  /**
   * Where the run distils: how far the model has moved from the starting model where nothing is
   * painted, the cross-entropy of its classes there (a mean over those pixels, unweighted).
   */
  drift?: number;
}

/** Steps of the training loss averaged at each end to say whether it rose. */
const TREND_STEPS = 3;

/** Runs the steps; returns the weights to keep (the best or the last) and the report. */
export async function teachSteps(s: LoopState, hooks: LoopHooks): Promise<{ params: HostParams; report: FineTuneReport }> {
  const { trainer, queue, weights, samples, settings: t } = s;
  const distill = t.distill > 0;
  const say = hooks.onProgress ?? (() => {});
  const own = s.evalCrop === t.crop;
  const passes = t.holdOut > 0 ? heldOutPasses(samples, weights, s.evalCrop, own ? t.batch : 1, distill) : [];
  const heldOutPixels = passes.reduce((n, p) => n + p.pixels, 0);
  // Each pass's loss is a (weighted) mean over its pixels: the passes are summed weighed by their pixels' weights.
  const weightOf = passes.map((p) => (s.classWeights ? p.batch.labels.reduce((w, c) => w + (c < s.classWeights!.length ? s.classWeights![c] : 0), 0) : p.pixels));
  const totalWeight = weightOf.reduce((a, b) => a + b, 0);
  const distilled = passes.reduce((n, p) => n + p.distilled, 0);
  let evaluator: Trainer | null = null;
  const measure = async (): Promise<Omit<Measure, 'step'>> => {
    if (!own) {
      if (!evaluator) say(`compiling the held-out measure at ${s.evalCrop}x${s.evalCrop}`);
      const earlier = evaluator;
      evaluator = null;
      try {
        evaluator = await queue.run(() => s.evaluator(trainer, earlier));
      } catch (e) {
        earlier?.dispose();
        throw e;
      }
    }
    const by = evaluator ?? trainer;
    let strokes = 0;
    let drift = 0;
    for (const [k, p] of passes.entries()) {
      const r = await queue.run(() => by.evaluate([p.batch]));
      // A pass's loss is the held-out strokes' mean plus the distillation's mean, weighted.
      strokes += weightOf[k] * (r.loss - (r.distillLoss ?? 0));
      drift += p.distilled * (r.distillLoss ?? 0);
    }
    const miou = await heldOutMiou(s);
    const loss = strokes / totalWeight;
    return distilled > 0 ? { loss, miou, drift: drift / distilled / t.distill } : { loss, miou };
  };
  try {
    return await steps(s, hooks, passes.length > 0, measure, heldOutPixels);
  } finally {
    (evaluator as Trainer | null)?.dispose();
  }
}

/** The held-out strokes' mIoU (%, over the classes painted or predicted there) as segment() labels the images with the run's parameters now. */
async function heldOutMiou(s: LoopState): Promise<number> {
  const m = new ConfusionMatrix(s.weights.config.numClasses, UNLABELLED);
  // Not a turn of the queue: the model is made, and segments, by turns of its own.
  const model = await s.trainer.model(s.weights);
  for (const x of s.samples) if (x.heldOut) m.add(await modelClasses(model, x.image), x.heldOut.indices);
  return 100 * m.meanIouPresent();
}

/**
 * How much the drift counts in 'least-loss': 2 x recall - 1, at least 0, where `recall` is the
 * starting model's on the classes painted (the mean over them of the share of each one's painted
 * pixels it gives it). A model right on most of what was painted is likely right where nothing
 * was, and moving it there mostly breaks (a VOC photo the model knows: up to 1); a model wrong on
 * half or more of it, as on a scene from another domain or a class it lacks, mends as much as it
 * breaks there (0: the held-out strokes alone).
 */
export function driftWeight(recall: number | null | undefined): number {
  return recall === null || recall === undefined ? 0 : Math.max(0, 2 * recall - 1);
}

/**
 * What 'least-loss' keeps the least of: the held-out strokes' loss, plus the drift where the run
 * distils, weighed by driftWeight. Both are means over their pixels: a step is kept where what it
 * gained on strokes it never saw is more than what it moved, per pixel, where nobody painted.
 */
const keepCost = (m: Measure, weight: number): number => m.loss + weight * (m.drift ?? 0);

/**
 * Whether measure `a` is a better step to keep than `b` (by keep's rule), `start` the one the run
 * began at. Either rule keeps only a step whose held-out loss is not above the start's, so the
 * model returned is never worse on the held-out strokes than the one taught from.
 */
export function better(keep: TeachSettings['keep'], a: Measure, b: Measure, start: Measure, driftWeighs = 1): boolean {
  if (a.loss > start.loss) return false;
  if (keep === 'least-loss') return keepCost(a, driftWeighs) < keepCost(b, driftWeighs);
  return a.miou > b.miou || (a.miou === b.miou && a.loss < b.loss);
}

/** The steps, with `measure` where strokes are held out. */
async function steps(s: LoopState, hooks: LoopHooks, measuring: boolean, measure: () => Promise<Omit<Measure, 'step'>>, heldOutPixels: number): Promise<{ params: HostParams; report: FineTuneReport }> {
  const { trainer, queue, weights, samples, settings: t, checkpoints, log } = s;
  const distill = t.distill > 0;
  const say = hooks.onProgress ?? (() => {});
  const start = trainer.stepsDone;
  const measured: Measure[] = [];
  if (measuring) {
    say(`measuring the ${heldOutPixels} held-out pixels`);
    if (t.keep === 'least-loss' && s.startingRecall !== null && s.startingRecall !== undefined) {
      say(`the model gives ${(100 * s.startingRecall).toFixed(0)} % of each painted class its class: what moves where nothing is painted weighs ${driftWeight(s.startingRecall).toFixed(2)} in the step kept`);
    }
    measured.push({ step: start, ...(await measure()) });
  }
  // The best so far: its measure and weights (null: the weights the run started from).
  let best: { at: Measure; params: HostParams | null } = { at: measured[0] ?? { step: start, loss: Infinity, miou: 0 }, params: null };
  const losses: number[] = [];
  let step = start;
  for (; step < t.steps; step++) {
    hooks.signal?.throwIfAborted();
    const t0 = performance.now();
    const crops = strokeBatch(samples, step, weights, t, t.batch, distill);
    const r = await queue.run(() => trainer.train([crops]));
    const ms = performance.now() - t0;
    losses.push(r.loss);
    log.push({ step: step + 1, loss: r.loss, lr: r.lr, imagesPerSecond: t.batch / (ms / 1000) });
    const report: FineTuneStep = { step: step + 1, steps: t.steps, loss: r.loss, lr: r.lr, ms };
    if (r.distillLoss !== undefined) report.distillLoss = r.distillLoss;
    /** Measures the held-out strokes after this step; keeps its weights where they are the best (the last step's are read back at the end anyway). */
    const judge = async (last: boolean): Promise<number> => {
      const at = { step: step + 1, ...(await measure()) };
      measured.push(at);
      if (t.keep !== 'last' && better(t.keep, at, best.at, measured[0], driftWeight(s.startingRecall))) best = { at, params: last ? null : await queue.run(() => trainer.weights()) };
      return at.loss;
    };
    if (measuring && ((step + 1) % t.evalEvery === 0 || step + 1 === t.steps)) report.heldOutLoss = await judge(step + 1 === t.steps);
    await hooks.onStep?.(report);
    // Asked after the step is told, as a page's stop button is pressed while it trains.
    const stopping = step + 1 < t.steps && !!hooks.shouldStop?.();
    if (stopping && measuring && report.heldOutLoss === undefined) await judge(true);
    if (checkpoints?.due(step + 1, stopping)) {
      say(`keeping step ${step + 1} in ${checkpoints.where}`);
      const { params, momentum } = await queue.run(() => trainer.checkpointState());
      await checkpoints.save(step + 1, weights, params, momentum, log);
    }
    if (stopping) {
      step++;
      break;
    }
  }
  hooks.signal?.throwIfAborted();
  const keepBest = t.keep !== 'last' && measuring;
  const keptStep = keepBest ? best.at.step : step;
  let params: HostParams;
  if (keptStep === start && step !== start) {
    params = weights.params;
  } else if (keepBest && best.params) {
    params = best.params;
  } else {
    say('reading the trained weights back');
    params = await queue.run(() => trainer.weights());
  }
  const painted = { taught: samples.reduce((n, x) => n + x.byClass.reduce((m, c) => m + c.pixels.length, 0), 0), heldOut: heldOutPixels };
  const heldOut = measuring ? { before: measured[0].loss, after: keepBest ? best.at.loss : measured.at(-1)!.loss, measured, driftWeight: driftWeight(s.startingRecall) } : null;
  return { params, report: { settings: t, steps: step, painted, heldOut, keptStep, warnings: warningsOf(losses, heldOut, keptStep, start, step) } };
}

/** What the page and a caller are warned of: a rising loss, held-out strokes that got worse, a run that changed nothing. */
export function warningsOf(losses: number[], heldOut: FineTuneReport['heldOut'], keptStep: number, start: number, done: number): string[] {
  const out: string[] = [];
  const n = Math.min(TREND_STEPS, Math.floor(losses.length / 2));
  if (n > 0) {
    const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
    const first = mean(losses.slice(0, n));
    const last = mean(losses.slice(-n));
    if (last > first) out.push(`the training loss rose: ${first.toFixed(3)} over the first ${n} steps, ${last.toFixed(3)} over the last ${n}`);
  }
  if (heldOut) {
    const end = heldOut.measured.at(-1)!;
    if (end.step > start && end.loss > heldOut.before) out.push(`the held-out strokes got worse: loss ${heldOut.before.toFixed(3)} before, ${end.loss.toFixed(3)} after step ${end.step}`);
    if (keptStep === start && done > start) {
      const model = `the model ${start === 0 ? 'as it was' : `at step ${start}`}`;
      const first = heldOut.measured[0];
      // Where the held-out strokes did get better, what held the start: the model moved where nobody painted.
      const fell = heldOut.driftWeight > 0 ? heldOut.measured.find((m) => m.step > start && m.loss < heldOut.before && m.drift !== undefined && first.drift !== undefined) : undefined;
      out.push(
        fell
          ? `no step did better than ${model}: at step ${fell.step} the held-out strokes' loss fell (${heldOut.before.toFixed(3)} to ${fell.loss.toFixed(3)}), but the model moved more from its own classes where nothing is painted (their loss ${first.drift!.toFixed(3)} to ${fell.drift!.toFixed(3)}): that model is kept`
          : `no step did better on the held-out strokes than ${model}: that model is kept`,
      );
    }
  }
  return out;
}
