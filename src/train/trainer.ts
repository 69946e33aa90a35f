// One training run on the GPU: the step program (forward, loss, backward, gradients into their
// accumulators) and the update program (SGD) compiled once, bound to one session that holds
// the parameters, gradients and momentum for the whole run. Each step sends a batch and reads
// back the loss (and the invalid-label count); nothing else leaves the GPU.
//
// With `surviveDeviceLoss`, the state a step leaves (parameters, statistics, momentum) is also
// read back after every step, and a step that finds the device lost, or fails because it was,
// renews the device (GpuContext.renew), uploads that state, makes its programs again and runs
// once more: the run goes on with the losses of one never interrupted.
import type { GpuContext } from '../gpu/context.js';
import { DROPOUT_SEED } from '../graph/builder.js';
import { GpuError } from '../gpu/errors.js';
import { ReadBackMemory } from '../gpu/read-back-memory.js';
import { type CompiledGraph, compile } from '../graph/compile.js';
import type { Graph, Value } from '../graph/ir.js';
import { Program } from '../graph/program.js';
import { type HostParams, storedState } from '../graph/params.js';
import { Session } from '../graph/session.js';
import { type SgdGroup, sgdHyperData } from '../kernels/optimizer/sgd.js';
import type { LoadedWeights } from '../model/loading/load-weights.js';
import { isBackboneParam } from '../model/backbones/network.js';
import { hashSeed } from '../util/random.js';
import { type ScheduleOptions, checkSchedule, learningRate } from './schedule.js';
import { type TrainingLoss, lossTerms } from './loss-choice.js';
import { DISTILL_LABELS, FIRST_MICRO_BATCH, buildTrainingGraphs, trainingBatchNorms } from './training-graph.js';

export interface TrainOptions extends ScheduleOptions {
  /** Images per optimizer step. */
  batch: number;
  /** Micro-batches per step (gradient accumulation): batch / microBatches images per pass. */
  microBatches?: number;
  /** Square training crop. */
  crop: number;
  momentum?: number;
  weightDecay?: number;
  /** Train only the head (ASPP, decoder and classifier). */
  freezeBackbone?: boolean;
  /** Batch norms in inference mode, with the running statistics (the usual choice for small batches). */
  freezeBn?: boolean;
  /** Learning-rate multiplier of the head's parameters (a new classifier learns faster). */
  headLrMultiplier?: number;
  ignoreIndex: number;
  /** Per-class loss weights (rare classes count more). */
  classWeights?: Float32Array;
  /** Hard-pixel mining: the loss over only this fraction of valid pixels, the hardest (default 1). */
  hardPixels?: number;
  /** The loss (default 'ce'; 'bce' and 'bce+dice' for binary models): src/train/loss-choice.ts. */
  loss?: TrainingLoss;
  /** Weight of the distillation term against MicroBatch.distill (training-graph.ts LossOptions.distill; default 0: none). */
  distill?: number;
  /** The heads' dropout, as PyTorch and TF train (default true). */
  dropout?: boolean;
  /** Seeds the dropout masks: the mask of step s, micro-batch k depends only on (seed, s, k). */
  seed?: number;
  /** Survive a lost device by replaying the step on a new one (costs one read-back of the state per step). */
  surviveDeviceLoss?: boolean;
  /** With surviveDeviceLoss: told why the device was lost, before a new one is asked for. */
  onDeviceLost?(reason: string): void;
}

/** A micro-batch: images [n, crop, crop, 3] normalised, labels [n, crop, crop]. */
export interface MicroBatch {
  images: Float32Array;
  labels: Uint32Array;
  /** With TrainOptions.distill: the starting model's classes [n, crop, crop] (the ignore index where none is distilled). */
  distill?: Uint32Array;
}

export interface StepResult {
  /** The step's loss (the mean of its micro-batches' losses), the distillation term included. */
  loss: number;
  /** With TrainOptions.distill: that term of the loss, weighted. */
  distillLoss?: number;
  lr: number;
}

/** What a trainer's programs are made from, kept to make them again on a renewed device. */
interface TrainerPlan {
  ctx: GpuContext;
  label: string;
  /** The network whose stored state (parameters, statistics) the session uploads. */
  network: Graph;
  step: CompiledGraph;
  update: Graph;
  /** The context's device generation the session and programs live on. */
  generation: number;
}

export class Trainer {
  private disposed = false;
  /** Optimizer steps taken (a resumed run starts where it stopped). */
  stepsDone = 0;
  /** With surviveDeviceLoss: the state after the last step, on the host. */
  private snapshot: HostParams | null = null;
  /** With surviveDeviceLoss: the staging buffer and host arrays each step's read-back of the state reuses. */
  private readBack: ReadBackMemory | null = null;
  /** With surviveDeviceLoss: milliseconds the last step spent reading the state back (0 before a step). */
  lastReadBackMs = 0;

  private constructor(
    private sessionValue: Session,
    private readonly ownsSession: boolean,
    private step: Program,
    private update: Program,
    readonly trainable: Value[],
    readonly options: TrainOptions,
    readonly microBatch: number,
    private readonly plan: TrainerPlan,
  ) {}

  /** The parameters, gradients and momentum of the run. */
  get session(): Session {
    return this.sessionValue;
  }

  static async create(ctx: GpuContext, weights: LoadedWeights, o: TrainOptions, session?: Session): Promise<Trainer> {
    checkSchedule(o);
    const K = o.microBatches ?? 1;
    if (!Number.isInteger(o.batch) || o.batch < 1) throw new Error(`batch must be a positive integer, got ${o.batch}`);
    if (!Number.isInteger(K) || K < 1 || o.batch % K !== 0) throw new Error(`micro-batches must divide the batch (${o.batch}), got ${K}`);
    if (!Number.isInteger(o.crop) || o.crop < 1) throw new Error(`crop must be a positive integer, got ${o.crop}`);
    const micro = o.batch / K;
    const binary = weights.config.binary ?? false;
    const terms = lossTerms(o.loss, binary);
    const canonical = weights.buildGraph({ batch: micro, height: o.crop, width: o.crop }, { training: o.dropout ?? true });
    // Frozen batch norms stay in inference mode (their scale and shift still learn).
    const network = o.freezeBn ? canonical : trainingBatchNorms(canonical);
    const head = o.headLrMultiplier ?? 1;
    const trains = (p: Value): SgdGroup | undefined => {
      const backbone = isBackboneParam(p.name);
      if (backbone && o.freezeBackbone) return undefined;
      return { lrScale: backbone ? 1 : head };
    };
    const graphs = buildTrainingGraphs(network, { ignoreIndex: o.ignoreIndex, microBatches: K, classWeights: !!o.classWeights, hardFraction: o.hardPixels, terms, binary, distill: o.distill }, trains);
    const owned = !session;
    if (o.surviveDeviceLoss && !owned) throw new Error('surviveDeviceLoss needs a session of the trainer\'s own (it uploads the state again on a new device)');
    const plan: TrainerPlan = { ctx, label: weights.name, network: canonical, step: compile(graphs.step, { mode: 'training' }), update: graphs.update, generation: ctx.generation };
    const s = session ?? Session.create(ctx, canonical, weights.params, weights.name);
    try {
      const { step, update } = await Trainer.programs(plan, s);
      const trainer = new Trainer(s, owned, step, update, graphs.trainable, o, micro, plan);
      if (o.surviveDeviceLoss) trainer.snapshot = weights.params;
      return trainer;
    } catch (e) {
      if (owned) s.dispose();
      throw e;
    }
  }

  private static async programs(plan: TrainerPlan, session: Session): Promise<{ step: Program; update: Program }> {
    const step = await Program.create(plan.ctx, plan.step, session, `${plan.label} training step`);
    try {
      return { step, update: await Program.create(plan.ctx, plan.update, session, `${plan.label} SGD`) };
    } catch (e) {
      step.dispose();
      throw e;
    }
  }

  /** The step's graph as compiled (forward, loss, backward): what tuning times (src/graph/tune.ts). */
  get stepGraph(): Graph {
    return this.step.graph;
  }

  /** The step's program (forward, loss, backward, accumulation): what a profile times layer by layer. */
  get stepProgram(): Program {
    return this.step;
  }

  /** Bytes of GPU memory the step plans for activations and scratch. */
  get activationBytes(): number {
    return this.step.plan.peakBytes;
  }

  /** With surviveDeviceLoss: bytes of the state kept on the host, what each step reads back (0 without). */
  get keptStateBytes(): number {
    let n = 0;
    for (const t of this.snapshot?.values() ?? []) n += t.data.byteLength;
    return n;
  }

  private takes(input: string): boolean {
    return this.step.graph.inputs.some((v) => v.name === input);
  }

  /** One optimizer step over `microBatches` micro-batches. */
  async train(batches: readonly MicroBatch[]): Promise<StepResult> {
    if (this.disposed) throw new Error('Trainer used after dispose()');
    if (!this.snapshot) return this.trainStep(batches);
    const ctx = this.plan.ctx;
    await this.ensureDevice();
    let result: StepResult;
    try {
      result = await this.trainStep(batches);
    } catch (e) {
      if (!(e instanceof GpuError && e.kind === 'device-lost' && ctx.isLost)) throw e;
      // The step's work is gone with the device: replay it from the last step's state.
      await this.ensureDevice();
      result = await this.trainStep(batches);
    }
    const t = performance.now();
    this.snapshot = await this.stateOnHost();
    this.lastReadBackMs = performance.now() - t;
    return result;
  }

  /**
   * The loss of `batches` under the parameters as they are, without a step: the step's pass run
   * with no update after it (its gradients are overwritten by the next step's). Its forward is the
   * training one: with frozen batch norms and no dropout it is the model's, and nothing changes;
   * batch norms in training mode would update their statistics, so it is refused there.
   */
  async evaluate(batches: readonly MicroBatch[]): Promise<number> {
    if (this.disposed) throw new Error('Trainer used after dispose()');
    if (!this.options.freezeBn) throw new Error('evaluate: batch norms in training mode would update their statistics (train with freezeBn)');
    await this.ensureDevice();
    return (await this.pass(batches)).loss;
  }

  /**
   * The parameters, statistics and SGD momentum buffers (`<param>#momentum`) as they are on the
   * GPU, in one read (each read waits for the GPU: wgpu answers a wait about 11 ms late, so reading
   * a network's tensors one by one took seconds in Firefox): what a checkpoint keeps to resume from.
   */
  async checkpointState(): Promise<{ params: HostParams; momentum: HostParams }> {
    const state = await this.session.downloadState([
      { graph: this.plan.network, roles: ['param', 'statistic'] },
      { graph: this.plan.update, roles: ['optimizer'] },
    ]);
    const optimizer = new Set(this.plan.update.state.filter((v) => v.role === 'optimizer').map((v) => v.name));
    const params: HostParams = new Map();
    const momentum: HostParams = new Map();
    for (const [name, t] of state) (optimizer.has(name) ? momentum : params).set(name, t);
    return { params, momentum };
  }

  /**
   * Continues a run from a checkpoint: `step` optimizer steps done, the momentum buffers as they
   * were then (part of the state a lost device is recovered with).
   */
  resumeAt(step: number, momentum: HostParams): void {
    for (const [name, t] of momentum) this.session.upload(name, t.data as Float32Array, t.shape);
    if (this.snapshot) this.snapshot = new Map([...this.snapshot, ...momentum]);
    this.stepsDone = step;
  }

  /**
   * The trainer on a live device: where its device was lost, a new one with the last step's state
   * uploaded and the programs made again (after which `session` is a new one); without
   * surviveDeviceLoss, the loss as an error.
   */
  async ensureDevice(): Promise<void> {
    const ctx = this.plan.ctx;
    if (!ctx.isLost && this.plan.generation === ctx.generation) return;
    if (!this.snapshot) ctx.assertAlive(`${this.plan.label} training`);
    if (ctx.isLost) {
      this.options.onDeviceLost?.(ctx.lostReason ?? 'unknown');
      await ctx.renew();
    }
    await this.rebuild();
  }

  /** The parameters, statistics and momentum as they are on the GPU. */
  private async stateOnHost(): Promise<HostParams> {
    this.readBack ??= new ReadBackMemory(this.plan.ctx);
    return this.session.downloadState(
      [
        { graph: this.plan.network, roles: ['param', 'statistic'] },
        { graph: this.plan.update, roles: ['optimizer'] },
      ],
      this.readBack,
    );
  }

  /** A session on the current device holding the last step's state, and the programs on it (the lost device's buffers only forgotten). */
  private async rebuild(): Promise<void> {
    const { ctx, network, label } = this.plan;
    this.step.dispose();
    this.update.dispose();
    this.session.dispose();
    const state = this.snapshot!;
    const stored = new Set(storedState(network).map((v) => v.name));
    this.sessionValue = Session.create(ctx, network, new Map([...state].filter(([name]) => stored.has(name))), label, { checked: true });
    ({ step: this.step, update: this.update } = await Trainer.programs(this.plan, this.session));
    // The optimizer's buffers are the update program's: uploaded once it has made them.
    for (const [name, t] of state) if (!stored.has(name)) this.session.upload(name, t.data as Float32Array, t.shape);
    this.plan.generation = ctx.generation;
  }

  /** The step's pass over its micro-batches (forward, loss, gradients into their accumulators): the losses summed. */
  private async pass(batches: readonly MicroBatch[]): Promise<{ loss: number; distillLoss?: number }> {
    const o = this.options;
    const K = o.microBatches ?? 1;
    if (batches.length !== K) throw new Error(`a step takes ${K} micro-batches, got ${batches.length}`);
    let loss = 0;
    let distillLoss = 0;
    for (const [k, b] of batches.entries()) {
      const inputs: Record<string, Float32Array | Uint32Array> = { image: b.images, labels: b.labels };
      if (this.takes(DISTILL_LABELS)) {
        if (!b.distill) throw new Error(`step ${this.stepsDone + 1}: the step distils (distill ${o.distill}) but micro-batch ${k} has no distill labels`);
        inputs[DISTILL_LABELS] = b.distill;
      }
      // Only a step that accumulates over micro-batches (or a gradient shared by two parameters) has the flag.
      if (this.takes(FIRST_MICRO_BATCH)) inputs[FIRST_MICRO_BATCH] = Uint32Array.of(k === 0 ? 1 : 0);
      if (o.classWeights) inputs.class_weights = o.classWeights;
      if (this.takes(DROPOUT_SEED)) inputs[DROPOUT_SEED] = Uint32Array.of(hashSeed(o.seed ?? 0, this.stepsDone, k));
      const out = await this.step.run(inputs);
      const invalid = (out.get('invalid_labels') as Uint32Array)[0];
      if (invalid > 0) throw new Error(`step ${this.stepsDone + 1}: ${invalid} label values are neither a class nor the ignore index ${o.ignoreIndex}`);
      // Each micro-batch's loss is already scaled by 1 / K.
      loss += (out.get('loss') as Float32Array)[0];
      if (out.has('distill_loss')) distillLoss += (out.get('distill_loss') as Float32Array)[0];
    }
    return this.takes(DISTILL_LABELS) ? { loss, distillLoss } : { loss };
  }

  private async trainStep(batches: readonly MicroBatch[]): Promise<StepResult> {
    const o = this.options;
    const { loss, distillLoss } = await this.pass(batches);
    if (!Number.isFinite(loss)) throw new Error(`step ${this.stepsDone + 1}: the loss is ${loss}; stopping before the update`);
    const lr = learningRate(o, this.stepsDone);
    const hyper = sgdHyperData({ lr, momentum: o.momentum ?? 0.9, weightDecay: o.weightDecay ?? 1e-4, first: this.stepsDone === 0 });
    // Nothing to read back: the update's effect is on the session's state (run() would map a copy of its nominal output).
    await this.update.runOnGpu({ sgd: hyper });
    this.stepsDone++;
    return distillLoss === undefined ? { loss, lr } : { loss, distillLoss, lr };
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.step.dispose();
    this.update.dispose();
    if (this.ownsSession) this.session.dispose();
    this.readBack?.destroy();
  }
}
