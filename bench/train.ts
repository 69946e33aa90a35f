// Training-step benchmark: one optimizer step (forward, loss, backward, SGD update) of the
// Trainer the `deeplab train` command uses, on random images and labels, alone or beside the same
// step in TF.js' WebGPU backend (bench/tfjs-train.ts). Run by bench/run.ts.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { pad } from './common.js';
import { type SettleOptions, type Settled, measureSettled } from './settle.js';
import { type LayerProfile, profileProgram } from '../src/graph/profile.js';
import { ROOT } from './model.js';
import type { GpuContext } from '../src/gpu/context.js';
import type { Graph } from '../src/graph/ir.js';
import type { LoadedWeights } from '../src/model/loading/load-weights.js';
import { Trainer } from '../src/train/trainer.js';
import { gradName, trainingBatchNorms } from '../src/train/training-graph.js';
import { relativeError } from '../src/util/relative-error.js';
import { type Tfjs, freshTfjsBackend } from './tfjs-graph.js';
import { TfjsTrainStep } from './tfjs-train.js';
import { Rng } from '../src/util/random.js';

export interface TrainBenchOptions {
  batch: number;
  crop: number;
  /** Timed steps (each trainer's, in rounds). */
  repeats: number;
  /** The warm-up steps before them (bench/settle.ts). */
  settle: SettleOptions;
}

/** Steps a trainer may take in a bench (its learning-rate schedule's length): the first, the most warm-up and the timed ones. */
export function benchSteps(o: TrainBenchOptions): number {
  return 1 + Math.max(o.settle.minRounds, o.settle.maxRounds) + o.repeats + 1;
}

export interface TrainRow extends Settled {
  model: string;
  batch: number;
  crop: number;
  outputStride: number;
  /** Trainer.create (compiling, uploading) + the first step. */
  firstRunMs: number;
  /** The step program's planned activations and gradients (Trainer.activationBytes). */
  activationBytes: number;
}

/** A random batch of images and labels (the same for every run of one shape). */
export function randomBatch(weights: LoadedWeights, o: TrainBenchOptions) {
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
 * trainer compiled with the choices; after warm-up steps until both settle, steps alternate
 * between them. Returns both timings and what tuning reported.
 */
export async function benchTrainTuned<T>(
  ctx: GpuContext,
  weights: LoadedWeights,
  o: TrainBenchOptions,
  tune: (graph: Graph) => Promise<T>,
): Promise<{ untuned: Settled; tuned: Settled; report: T }> {
  const batch = randomBatch(weights, o);
  const options = { batch: o.batch, crop: o.crop, baseLr: 1e-3, steps: benchSteps(o), ignoreIndex: 255 };
  const mode = ctx.tuning.mode;
  await ctx.tuning.setMode('off');
  const untunedTrainer = await Trainer.create(ctx, weights, options);
  let tunedTrainer: Trainer | null = null;
  try {
    await ctx.tuning.setMode('cached');
    const report = await tune(untunedTrainer.stepGraph);
    tunedTrainer = await Trainer.create(ctx, weights, options);
    const [untuned, tuned] = await measureSettled([untunedTrainer, tunedTrainer].map((t) => () => timedStep(t, batch)), o.repeats, o.settle);
    return { untuned, tuned, report };
  } finally {
    tunedTrainer?.dispose();
    untunedTrainer.dispose();
    await ctx.tuning.setMode(mode);
  }
}

/** One training step of `trainer` on `batch`, in ms (the batch in host memory to the loss in host memory). */
async function timedStep(trainer: Trainer, batch: ReturnType<typeof randomBatch>): Promise<number> {
  const t = performance.now();
  await trainer.train([batch]);
  return performance.now() - t;
}

/** TF.js' gradients, bundled by `npm run build` (scripts/build-browser.mjs): tfjs-core's Node build registers none. */
async function registerTfjsGradients(): Promise<void> {
  const bundle = join(ROOT, 'dist', 'bench-tfjs', 'tfjs-gradients.js');
  if (!existsSync(bundle)) throw new Error(`${bundle} is missing: run npm run build`);
  await import(pathToFileURL(bundle).href);
}

/** Loss and gradients of the first step, TF.js against ours (relative errors). */
export interface TrainAgreement {
  /** |loss_tfjs - loss_ours| / |loss_ours|. */
  lossRelativeError: number;
  /** ‖g_tfjs − g_ours‖ / ‖g_ours‖ over every trained parameter's gradient together. */
  gradRelativeError: number;
  /** The parameter whose gradient differs most (relative error of that tensor alone). */
  worstGrad: { name: string; relativeError: number };
  /** Trained parameters compared (every one ours trains). */
  params: number;
  /** The gradients' limit applied (TRAIN_AGREEMENT). */
  gradLimit?: number;
}

/**
 * A peer's loss and gradients agree with ours when below these; above, it is not timed. Networks
 * with batch norms in training mode at random weights are ill-conditioned: any float32
 * implementation lands a few per cent from the exact gradients (test/train/parity.test.ts holds
 * ours to PyTorch's at 0.15 for ResNet-50 for that reason), so their gradients get that limit.
 */
export const TRAIN_AGREEMENT = { loss: 1e-4, grads: 1e-3, gradsIllConditioned: 0.15 };

export interface TrainPeerRow {
  ours: TrainRow;
  /** Null where TF.js failed or disagreed (`tfjsError` says which). */
  tfjs: (Settled & { firstRunMs: number }) | null;
  tfjsError?: string;
  agreement: TrainAgreement | null;
}

/**
 * One training step, ours and TF.js' WebGPU backend on the same adapter: the same network (the
 * graph our trainer builds, without dropout, whose masks cannot be matched), the same random
 * batch, loss, backward and SGD with momentum. The first step's loss and gradients are compared
 * first (TRAIN_AGREEMENT); only a peer that agrees is timed, the engines alternating step by step
 * (warm-up steps until both settle, then the timed ones).
 * Times are host to host: the batch in host memory to the loss in host memory.
 */
export async function benchTrainPeers(ctx: GpuContext, tf: Tfjs, weights: LoadedWeights, o: TrainBenchOptions): Promise<TrainPeerRow> {
  const batch = randomBatch(weights, o);
  const sgd = { lr: 1e-3, momentum: 0.9, weightDecay: 1e-4 };
  const steps = benchSteps(o);
  const t0 = performance.now();
  const trainer = await Trainer.create(ctx, weights, { batch: o.batch, crop: o.crop, baseLr: sgd.lr, momentum: sgd.momentum, weightDecay: sgd.weightDecay, steps, ignoreIndex: 255, dropout: false });
  let peer: TfjsTrainStep | null = null;
  try {
    const first = await trainer.train([batch]);
    const firstRunMs = performance.now() - t0;
    const ours = new Map<string, Float32Array>();
    for (const p of trainer.trainable) ours.set(p.name, await trainer.session.download(gradName(p.name)));

    await registerTfjsGradients();
    await freshTfjsBackend(tf);
    const graph = trainingBatchNorms(weights.buildGraph({ batch: o.batch, height: o.crop, width: o.crop }, { training: false }));
    let tfjs: TrainPeerRow['tfjs'] = null;
    let tfjsError: string | undefined;
    let agreement: TrainAgreement | null = null;
    let tfjsFirstMs = 0;
    try {
      const t1 = performance.now();
      peer = new TfjsTrainStep(tf, graph, weights.params, new Set(ours.keys()), weights.config.numClasses);
      const r = await peer.step(batch.images, batch.labels, sgd, true);
      tfjsFirstMs = performance.now() - t1;
      agreement = compareGradients(first.loss, ours, r.loss, r.grads!);
      const gradLimit = graph.nodes.some((n) => n.op.type === 'batchnorm_train') ? TRAIN_AGREEMENT.gradsIllConditioned : TRAIN_AGREEMENT.grads;
      agreement.gradLimit = gradLimit;
      if (!(agreement.lossRelativeError < TRAIN_AGREEMENT.loss && agreement.gradRelativeError < gradLimit)) {
        tfjsError = `disagrees with ours: loss ${agreement.lossRelativeError.toExponential(2)}, gradients ${agreement.gradRelativeError.toExponential(2)} (limits ${TRAIN_AGREEMENT.loss}, ${gradLimit}); not timed`;
        peer.dispose();
        peer = null;
      }
    } catch (e) {
      tfjsError = (e as Error).message;
      peer?.dispose();
      peer = null;
    }

    const engines = [() => timedStep(trainer, batch)];
    if (peer) {
      const p = peer;
      engines.push(async () => {
        const t = performance.now();
        await p.step(batch.images, batch.labels, sgd);
        return performance.now() - t;
      });
    }
    const [oursTimed, theirs] = await measureSettled(engines, o.repeats, o.settle);
    if (theirs) tfjs = { ...theirs, firstRunMs: tfjsFirstMs };
    const row: TrainRow = { model: weights.name, batch: o.batch, crop: o.crop, outputStride: weights.config.outputStride, ...oursTimed, firstRunMs, activationBytes: trainer.activationBytes };
    return { ours: row, tfjs, agreement, ...(tfjsError ? { tfjsError } : {}) };
  } finally {
    peer?.dispose();
    trainer.dispose();
  }
}

/** The peer's first-step loss and gradients against ours. */
function compareGradients(oursLoss: number, ours: Map<string, Float32Array>, theirLoss: number, theirs: Map<string, Float32Array>): TrainAgreement {
  let num = 0;
  let den = 0;
  let worst = { name: '', relativeError: -1 };
  for (const [name, g] of ours) {
    const t = theirs.get(name);
    if (!t) throw new Error(`TF.js gave no gradient for ${name}`);
    let n = 0;
    let d = 0;
    for (let i = 0; i < g.length; i++) {
      n += (t[i] - g[i]) ** 2;
      d += g[i] ** 2;
    }
    num += n;
    den += d;
    const rel = relativeError(t, g);
    if (rel > worst.relativeError) worst = { name, relativeError: rel };
  }
  return {
    lossRelativeError: Math.abs(theirLoss - oursLoss) / Math.abs(oursLoss),
    gradRelativeError: den === 0 ? Math.sqrt(num) : Math.sqrt(num / den),
    worstGrad: worst,
    params: ours.size,
  };
}

/** What a step layer is part of, by the name autograd and the training graph give it. */
export function stepPhase(name: string): 'forward' | 'loss' | 'backward' | 'accumulate' {
  if (name.includes(':accumulate')) return 'accumulate';
  if (name.includes(':grad')) return 'backward';
  if (name.startsWith('loss_')) return 'loss';
  return 'forward';
}

export interface TrainProfile {
  model: string;
  batch: number;
  crop: number;
  /** The whole step program's pass (GPU timestamps), and the layers' sum (each in a pass of its own). */
  passMs: number;
  layersMs: number;
  /** The layers' sum by phase. */
  byPhase: Record<ReturnType<typeof stepPhase>, number>;
  /** Backward layers by op (the gradient kernels' ops), slowest first. */
  backwardByOp: { op: string; layers: number; ms: number; share: number }[];
  /** The slowest backward layers: share of the layers' sum, and the kernels that run them. */
  slowestBackward: { name: string; op: string; ms: number; share: number; kernels: string[] }[];
  layers: LayerProfile[];
}

/**
 * Our training step layer by layer (profileProgram on the step program: each layer's kernels
 * in a compute pass of their own, GPU timestamps), split into forward, loss, backward and
 * gradient accumulation, with the slowest backward layers named. The SGD update is a program
 * of its own, not included.
 */
export async function profileTrainStep(ctx: GpuContext, weights: LoadedWeights, o: TrainBenchOptions, top = 10): Promise<TrainProfile> {
  const batch = randomBatch(weights, o);
  const trainer = await Trainer.create(ctx, weights, { batch: o.batch, crop: o.crop, baseLr: 1e-3, steps: 1, ignoreIndex: 255, dropout: false });
  try {
    const p = await profileProgram(ctx, trainer.stepProgram, { image: batch.images, labels: batch.labels }, o.repeats);
    const byPhase = { forward: 0, loss: 0, backward: 0, accumulate: 0 };
    const byOp = new Map<string, { op: string; layers: number; ms: number; share: number }>();
    for (const l of p.layers) {
      const phase = stepPhase(l.name);
      byPhase[phase] += l.ms;
      if (phase !== 'backward') continue;
      const e = byOp.get(l.op) ?? { op: l.op, layers: 0, ms: 0, share: 0 };
      e.layers++;
      e.ms += l.ms;
      byOp.set(l.op, e);
    }
    const share = (ms: number): number => ms / p.layersMs;
    const backwardByOp = [...byOp.values()].map((e) => ({ ...e, share: share(e.ms) })).sort((a, b) => b.ms - a.ms);
    const slowestBackward = p.layers
      .filter((l) => stepPhase(l.name) === 'backward')
      .sort((a, b) => b.ms - a.ms)
      .slice(0, top)
      .map((l) => ({ name: l.name, op: l.op, ms: l.ms, share: share(l.ms), kernels: l.kernels }));
    return { model: weights.name, batch: o.batch, crop: o.crop, passMs: p.passMs, layersMs: p.layersMs, byPhase, backwardByOp, slowestBackward, layers: p.layers };
  } finally {
    trainer.dispose();
  }
}

export function printTrainProfile(name: string, p: TrainProfile): void {
  const f = (x: number, d = 1) => x.toFixed(d);
  const pct = (x: number) => `${f(100 * x)} %`;
  console.log(`\ntraining step ${name}, batch ${p.batch}, crop ${p.crop}: whole step pass ${f(p.passMs)} ms; layers one pass each ${f(p.layersMs)} ms`);
  console.log('  ' + Object.entries(p.byPhase).map(([k, ms]) => `${k} ${f(ms)} ms (${pct(ms / p.layersMs)})`).join(', '));
  console.log(`  backward by op: ` + p.backwardByOp.map((o) => `${o.op} ${f(o.ms)} ms (${pct(o.share)}, ${o.layers} layers)`).join('; '));
  console.log(`  slowest backward layers:`);
  for (const l of p.slowestBackward) console.log(`  ${pad(l.name.slice(0, 48), 48)} ${pad(l.op, 20)} ${pad(f(l.ms, 2), 9)} ${pad(pct(l.share), 8)} ${l.kernels.join(' + ')}`);
}
