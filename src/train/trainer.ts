// One training run on a model's device: the step (forward, loss, backward, gradients into their
// accumulators) and the update (SGD) built once as graphs and opened on the device as a run
// (src/model/devices/training.ts) that holds the parameters, gradients and momentum for the whole
// run: on WebGPU compiled programs on one session, on the CPU ONNX Runtime sessions over host
// buffers. Each step sends a batch and reads back the loss (and the invalid-label count);
// nothing else leaves the device.
//
// With `surviveDeviceLoss` on a device that can be lost (WebGPU), the state a step leaves
// (parameters, statistics, momentum) is also read back after every step, and a step that finds
// the device lost, or fails because it was, renews the device, uploads that state, makes its
// programs again and runs once more: the run goes on with the losses of one never interrupted.
import { GpuContext } from '../gpu/context.js';
import { DROPOUT_SEED } from '../graph/builder.js';
import { ReadBackMemory } from '../gpu/read-back-memory.js';
import type { Graph, Value } from '../graph/ir.js';
import type { HostParams } from '../graph/params.js';
import type { Program } from '../graph/program.js';
import type { Session } from '../graph/session.js';
import { type SgdGroup, sgdHyperData } from '../kernels/optimizer/sgd.js';
import type { LoadedWeights } from '../model/loading/load-weights.js';
import { DeepLabModel } from '../model/model.js';
import { isBackboneParam } from '../model/backbones/network.js';
import type { StatePart, TrainingDevice, TrainingRun } from '../model/devices/training.js';
import { GpuTrainingRun, gpuTrainingDevice } from '../model/devices/webgpu/gpu-training.js';
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
  /** The heads' dropout, as PyTorch and TF train (default true). */
  dropout?: boolean;
  /** Seeds the dropout masks: the mask of step s, micro-batch k depends only on (seed, s, k). */
  seed?: number;
  /** Weight of the distillation term against MicroBatch.distill (training-graph.ts LossOptions.distill; default 0: none). */
  distill?: number;
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

export class Trainer {
  private disposed = false;
  /** Optimizer steps taken (a resumed run starts where it stopped). */
  stepsDone = 0;
  /** With surviveDeviceLoss on a device that can be lost: the state after the last step, on the host. */
  private snapshot: HostParams | null = null;
  /** With surviveDeviceLoss: the staging buffer and host arrays each step's read-back of the state reuses. */
  private readBack: ReadBackMemory | null = null;
  /** With surviveDeviceLoss: milliseconds the last step spent reading the state back (0 before a step). */
  lastReadBackMs = 0;
  /** The model model() made, and what it was made of (a session, or the steps done). */
  private kept: { key: unknown; model: DeepLabModel } | null = null;

  private constructor(
    private readonly run: TrainingRun,
    /** The network whose stored state (parameters, statistics) a checkpoint keeps. */
    private readonly network: Graph,
    /** The update graph: its optimizer state is the momentum a checkpoint keeps. */
    private readonly updateGraph: Graph,
    readonly trainable: Value[],
    readonly options: TrainOptions,
    readonly microBatch: number,
    private readonly stepInputs: ReadonlySet<string>,
  ) {}

  /** The device the run is on: 'webgpu' or 'cpu'. */
  get deviceName(): TrainingRun['device'] {
    return this.run.device;
  }

  /**
   * A trainer on `device` (a GPU context is WebGPU there; with `session`, the run trains that
   * session's state, a model's sharing it).
   */
  static async create(device: GpuContext | TrainingDevice, weights: LoadedWeights, o: TrainOptions, session?: Session): Promise<Trainer> {
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
    if (session && !(device instanceof GpuContext)) throw new Error("a session is WebGPU's: a trainer on another device makes its own state");
    if (o.surviveDeviceLoss && session) throw new Error("surviveDeviceLoss needs a session of the trainer's own (it uploads the state again on a new device)");
    const on = device instanceof GpuContext ? gpuTrainingDevice(device, session) : device;
    const run = await on.open({ label: weights.name, network: canonical, step: graphs.step, update: graphs.update, params: weights.params });
    const trainer = new Trainer(run, canonical, graphs.update, graphs.trainable, o, micro, new Set(graphs.step.inputs.map((v) => v.name)));
    if (o.surviveDeviceLoss && run instanceof GpuTrainingRun) trainer.snapshot = weights.params;
    return trainer;
  }

  /** The run on WebGPU, for what only it has (its session, programs, device); refused by name on another device. */
  private gpu(what: string): GpuTrainingRun {
    if (this.run instanceof GpuTrainingRun) return this.run;
    throw new Error(`${what}: this training run is on the ${this.run.device.toUpperCase()}; it is WebGPU's`);
  }

  /** The parameters, gradients and momentum of a run on WebGPU. */
  get session(): Session {
    return this.gpu('session').session;
  }

  /** The step's graph as compiled (forward, loss, backward): what tuning times (src/graph/tune.ts). */
  get stepGraph(): Graph {
    return this.gpu('stepGraph').stepProgram.graph;
  }

  /** The step's program (forward, loss, backward, accumulation): what a profile times layer by layer. */
  get stepProgram(): Program {
    return this.gpu('stepProgram').stepProgram;
  }

  /** Bytes of device memory the step plans for activations and scratch (0 where the device does not plan them). */
  get activationBytes(): number {
    return this.run.activationBytes;
  }

  /** With surviveDeviceLoss: bytes of the state kept on the host, what each step reads back (0 without). */
  get keptStateBytes(): number {
    let n = 0;
    for (const t of this.snapshot?.values() ?? []) n += t.data.byteLength;
    return n;
  }

  /** The parts of the run's state a checkpoint keeps: the network's params and statistics, the optimizer's momentum. */
  private get checkpointParts(): StatePart[] {
    return [
      { graph: this.network, roles: ['param', 'statistic'] },
      { graph: this.updateGraph, roles: ['optimizer'] },
    ];
  }

  /** One optimizer step over `microBatches` micro-batches. */
  async train(batches: readonly MicroBatch[]): Promise<StepResult> {
    if (this.disposed) throw new Error('Trainer used after dispose()');
    if (!this.snapshot) return this.trainStep(batches);
    await this.ensureDevice();
    let result: StepResult;
    try {
      result = await this.trainStep(batches);
    } catch (e) {
      if (!this.gpu('recovery').lostBy(e)) throw e;
      // The step's work is gone with the device: replay it from the last step's state.
      await this.ensureDevice();
      result = await this.trainStep(batches);
    }
    const t = performance.now();
    this.readBack ??= new ReadBackMemory(this.gpu('recovery').ctx);
    this.snapshot = await this.gpu('recovery').readState(this.checkpointParts, this.readBack);
    this.lastReadBackMs = performance.now() - t;
    return result;
  }

  /**
   * The loss of `batches` under the parameters as they are (and its distillation term, weighted,
   * where the run distils), without a step: the step's pass run with no update after it (its
   * gradients are overwritten by the next step's). Its forward is the
   * training one: with frozen batch norms and no dropout it is the model's, and nothing changes;
   * batch norms in training mode would update their statistics, so it is refused there.
   */
  async evaluate(batches: readonly MicroBatch[]): Promise<{ loss: number; distillLoss?: number }> {
    if (this.disposed) throw new Error('Trainer used after dispose()');
    if (!this.options.freezeBn) throw new Error('evaluate: batch norms in training mode would update their statistics (train with freezeBn)');
    await this.ensureDevice();
    return this.pass(batches);
  }

  /**
   * The parameters, statistics and SGD momentum buffers (`<param>#momentum`) as they are on the
   * device, in one read: what a checkpoint keeps to resume from.
   */
  async checkpointState(): Promise<{ params: HostParams; momentum: HostParams }> {
    const state = await this.run.readState(this.checkpointParts);
    const optimizer = new Set(this.updateGraph.state.filter((v) => v.role === 'optimizer').map((v) => v.name));
    const params: HostParams = new Map();
    const momentum: HostParams = new Map();
    for (const [name, t] of state) (optimizer.has(name) ? momentum : params).set(name, t);
    return { params, momentum };
  }

  /** The parameters and statistics as they are now (the trained weights). */
  async weights(): Promise<HostParams> {
    return this.run.readState([{ graph: this.network, roles: ['param', 'statistic'] }]);
  }

  /**
   * A model of the run's weights now, on its device, for validation and checkpoints: on WebGPU
   * one on the run's session (it sees every step; made again when a lost device renewed the
   * session), on the CPU one made of the weights after the last step. The trainer keeps it and
   * disposes of it.
   */
  async model(weights: LoadedWeights): Promise<DeepLabModel> {
    const gpu = this.run instanceof GpuTrainingRun ? this.run : null;
    const key = gpu ? gpu.session : this.stepsDone;
    if (this.kept?.key === key) return this.kept.model;
    this.kept?.model.dispose();
    this.kept = null;
    const model = gpu ? await DeepLabModel.fromWeights(weights, { ctx: gpu.ctx, session: gpu.session }) : await DeepLabModel.fromWeights({ ...weights, params: await this.weights() }, { device: this.run.device });
    this.kept = { key, model };
    return model;
  }

  /**
   * A trainer of other options (another crop or batch) that measures this run's parameters as
   * they are now (its evaluate()): on WebGPU one on the run's session, which sees every later step
   * (`earlier` is kept until a lost device renews the session); on the CPU one of its own
   * (`earlier`, where given), the run's weights written into it at each call.
   */
  async measurer(device: TrainingDevice, weights: LoadedWeights, o: TrainOptions, earlier: Trainer | null): Promise<Trainer> {
    if (this.run instanceof GpuTrainingRun) {
      if (earlier?.run instanceof GpuTrainingRun && earlier.run.session === this.run.session) return earlier;
      earlier?.dispose();
      return Trainer.create(this.run.ctx, weights, o, this.run.session);
    }
    const now = await this.weights();
    if (!earlier) return Trainer.create(device, { ...weights, params: now }, o);
    earlier.run.writeState(now);
    return earlier;
  }

  /**
   * Continues a run from a checkpoint: `step` optimizer steps done, the momentum buffers as they
   * were then (part of the state a lost device is recovered with).
   */
  resumeAt(step: number, momentum: HostParams): void {
    this.run.writeState(momentum);
    if (this.snapshot) this.snapshot = new Map([...this.snapshot, ...momentum]);
    this.stepsDone = step;
  }

  /**
   * The trainer on a live device: on WebGPU, where its device was lost, a new one with the last
   * step's state uploaded and the programs made again (after which `session` is a new one);
   * without surviveDeviceLoss, the loss as an error. Nothing to do on the CPU.
   */
  async ensureDevice(): Promise<void> {
    if (this.run instanceof GpuTrainingRun) await this.run.recover(this.snapshot, this.options.onDeviceLost);
  }

  /** The step's pass over its micro-batches (forward, loss, gradients into their accumulators): the losses summed. */
  private async pass(batches: readonly MicroBatch[]): Promise<{ loss: number; distillLoss?: number }> {
    const o = this.options;
    const K = o.microBatches ?? 1;
    if (batches.length !== K) throw new Error(`a step takes ${K} micro-batches, got ${batches.length}`);
    const distils = this.stepInputs.has(DISTILL_LABELS);
    let loss = 0;
    let distillLoss = 0;
    for (const [k, b] of batches.entries()) {
      const inputs: Record<string, Float32Array | Uint32Array> = { image: b.images, labels: b.labels };
      if (distils) {
        if (!b.distill) throw new Error(`step ${this.stepsDone + 1}: the step distils (distill ${o.distill}) but micro-batch ${k} has no distill labels`);
        inputs[DISTILL_LABELS] = b.distill;
      }
      // Only a step that accumulates over micro-batches (or a gradient shared by two parameters) has the flag.
      if (this.stepInputs.has(FIRST_MICRO_BATCH)) inputs[FIRST_MICRO_BATCH] = Uint32Array.of(k === 0 ? 1 : 0);
      if (o.classWeights) inputs.class_weights = o.classWeights;
      if (this.stepInputs.has(DROPOUT_SEED)) inputs[DROPOUT_SEED] = Uint32Array.of(hashSeed(o.seed ?? 0, this.stepsDone, k));
      const out = await this.run.step(inputs);
      const invalid = (out.get('invalid_labels') as Uint32Array)[0];
      if (invalid > 0) throw new Error(`step ${this.stepsDone + 1}: ${invalid} label values are neither a class nor the ignore index ${o.ignoreIndex}`);
      // Each micro-batch's loss is already scaled by 1 / K.
      loss += (out.get('loss') as Float32Array)[0];
      if (out.has('distill_loss')) distillLoss += (out.get('distill_loss') as Float32Array)[0];
    }
    return distils ? { loss, distillLoss } : { loss };
  }

  private async trainStep(batches: readonly MicroBatch[]): Promise<StepResult> {
    const o = this.options;
    const { loss, distillLoss } = await this.pass(batches);
    if (!Number.isFinite(loss)) throw new Error(`step ${this.stepsDone + 1}: the loss is ${loss}; stopping before the update`);
    const lr = learningRate(o, this.stepsDone);
    const hyper = sgdHyperData({ lr, momentum: o.momentum ?? 0.9, weightDecay: o.weightDecay ?? 1e-4, first: this.stepsDone === 0 });
    await this.run.update({ sgd: hyper });
    this.stepsDone++;
    return distillLoss === undefined ? { loss, lr } : { loss, distillLoss, lr };
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.kept?.model.dispose();
    this.run.dispose();
    this.readBack?.destroy();
  }
}
