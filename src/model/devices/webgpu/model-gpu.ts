// A model's device on the GPU (ModelDevice, src/model/devices/device.ts): the context (its own,
// or the caller's), the session of its weights (its own, or training's), its programs within the
// memory budget (model-programs.ts), its frames' texture and kernels (frames.ts), and the turn
// each call's GPU work takes on the context's queue. dispose() waits for the calls already
// queued, then gives everything back.
//
// A lost device is survived by default (LoadOptions.deviceLoss): a turn that finds the device
// lost, or fails because it was, renews the context's device (GpuContext.renew), uploads the
// weights again from the host, drops the programs and frames made on the lost device, and runs
// (again, once) on the new one. Another model on a shared context that renewed finds the
// generation changed and rebuilds alike. A model on training's session cannot upload it again:
// the trainer recovers that.
import type { GpuContext } from '../../../gpu/context.js';
import { GpuError } from '../../../gpu/errors.js';
import { contextQueue } from '../../../gpu/serial-queue.js';
import type { Graph } from '../../../graph/ir.js';
import type { Program } from '../../../graph/program.js';
import type { HostParams } from '../../../graph/params.js';
import { Session } from '../../../graph/session.js';
import type { NetworkGraphs } from '../../network-graphs.js';
import type { PostLogits } from '../../post-logits.js';
import type { SegmentHost } from '../../segment-host.js';
import type { DeviceProgram, DeviceTensors, FramePath, ModelDevice } from '../device.js';
import { FrameSegmenter } from './frames.js';
import { GpuProgram, gpuTensor } from './gpu-program.js';
import { gpuTensors } from './gpu-tensors.js';
import type { LoadedWeights } from '../../loading/load-weights.js';
import type { DeviceLossPolicy, DeviceLostEvent, Precision } from '../../loading/options.js';
import type { ModelMemory } from '../../memory.js';
import { compileWithinDeadline } from '../../load-deadline.js';
import { ModelPrograms } from './model-programs.js';
import type { ModelTraining } from '../training.js';
import { gpuTrainingDevice } from './gpu-training.js';

export class ModelGpu implements ModelDevice {
  readonly name = 'webgpu';
  readonly programs: ModelPrograms;
  readonly tensors: DeviceTensors;
  /** The frame path (made on first use: its texture and kernels only where frames come). */
  private framesValue: FrameSegmenter | null = null;
  private sessionValue: Session | null = null;
  private ownsSession = true;
  private disposed = false;
  /** Calls queued or running on the context's queue (dispose() waits for them). */
  private calls = 0;
  /** The network the weights were uploaded for (uploaded again for it after a loss). */
  private uploadGraph: Graph | null = null;
  /** The context's device generation the session and programs live on. */
  private generation: number;

  constructor(
    readonly ctx: GpuContext,
    private readonly ownsContext: boolean,
    private readonly weights: LoadedWeights,
    private readonly graphs: NetworkGraphs,
    precision: Precision,
    memoryBudget: number | null,
    private readonly loss: { policy?: DeviceLossPolicy; onLost?: (event: DeviceLostEvent) => void } = {},
  ) {
    this.generation = ctx.generation;
    this.tensors = gpuTensors(ctx);
    this.programs = new ModelPrograms(ctx, weights, graphs, precision, memoryBudget, () => ({
      weights: this.ownsSession ? (this.sessionValue?.byteLength ?? 0) : 0,
      frames: this.framesValue?.bytes ?? 0,
    }));
  }

  get label(): string {
    return `WebGPU on ${this.ctx.adapterInfo.name}`;
  }

  /** Frames on the GPU: copied into a texture, preprocessed by the frame kernels, never read to the host. */
  framePath(host: SegmentHost): FramePath {
    const frames = (this.framesValue ??= new FrameSegmenter(this.ctx, host));
    return {
      segment: (frame, scale, include) => this.exclusive(async () => (await frames.segment(frame, scale, include))!),
      segmentInto: async (frame, classes, scale) => void (await this.exclusive(() => frames.segment(frame, scale, new Set(), gpuTensor(classes)))),
    };
  }

  /** Uploads the weights for `graph` (the network at its own size) into a session of the model's own. */
  uploadWeights(graph: Graph, paramsChecked: boolean): void {
    this.programs.checkWeightsFit(graph);
    this.sessionValue = Session.create(this.ctx, graph, this.weights.params, this.weights.name, { checked: paramsChecked });
    this.ownsSession = true;
    this.uploadGraph = graph;
  }

  /** Runs on `session`'s parameters as they are (training shares its session so). */
  share(session: Session): void {
    this.sessionValue = session;
    this.ownsSession = false;
  }

  get session(): Session {
    this.assertUsable();
    return this.sessionValue!;
  }

  /** The network's GPU program at one batch and input size. */
  program(height: number, width: number, batch = 1): Promise<Program> {
    return this.programs.network(this.session, height, width, batch);
  }

  async network(height: number, width: number, batch = 1): Promise<DeviceProgram> {
    return new GpuProgram(await this.program(height, width, batch));
  }

  async post(key: string, build: () => Graph): Promise<DeviceProgram> {
    return new GpuProgram(await this.programs.post(key, build));
  }

  postLogits(height: number, width: number): PostLogits {
    return this.graphs.postLogits(height, width);
  }

  ownOutput(height: number, width: number): PostLogits['name'] {
    return this.graphs.ownOutput(height, width);
  }

  /** The parameters and statistics of `graph` (the network) as they are on the GPU, by checkpoint name (our layouts). */
  parameters(graph: Graph): Promise<HostParams> {
    return this.session.downloadAll(graph);
  }

  /**
   * The network compiled at its own size, as a load does: with tuning 'full' and a `deadline`
   * (performance.now()), tuned within what is left of it (load-deadline.ts); else with the
   * stored choices.
   */
  compileOwnSize(height: number, width: number, deadline?: number): Promise<void> {
    return this.exclusive(async () => {
      if (deadline === undefined || this.ctx.tuning.mode !== 'full') return void (await this.program(height, width));
      const graph = (): Graph => this.programs.compiledGraph({ batch: 1, height, width }).graph;
      const recompile = async (): Promise<void> => {
        this.programs.clear();
        await this.program(height, width);
      };
      await compileWithinDeadline(this.ctx, deadline, graph, () => this.program(height, width), recompile);
    });
  }

  memory(): ModelMemory {
    return this.programs.memory();
  }

  /** Training on the model's context, each step a turn of its queue. */
  training(): ModelTraining {
    return { device: gpuTrainingDevice(this.ctx), exclusive: (work) => contextQueue(this.ctx).run(work), sameDevice: { ctx: this.ctx } };
  }

  assertUsable(): void {
    if (this.disposed) throw new Error(`model ${this.weights.name} used after dispose()`);
  }

  /**
   * Runs GPU work that spans several awaits as one turn of the context's queue: no other call,
   * of this model or another on the context, runs between its steps (a queued call fails here
   * if the model was disposed meanwhile).
   */
  exclusive<T>(work: () => Promise<T>): Promise<T> {
    this.calls++;
    return contextQueue(this.ctx)
      .run(async () => {
        this.assertUsable();
        if (this.ctx.isLost) await this.recover();
        else if (this.generation !== this.ctx.generation) this.rebuild();
        this.programs.nextTurn();
        try {
          return await work();
        } catch (e) {
          if (!(e instanceof GpuError && e.kind === 'device-lost' && this.ctx.isLost)) throw e;
          // Lost during the work: its results are gone with the device; run it once more.
          await this.recover();
          this.programs.nextTurn();
          return await work();
        }
      })
      .finally(() => this.calls--);
  }

  /** After a loss: the device renewed (unless the policy is 'fail') and the model rebuilt on it; the caller told either way. */
  private async recover(): Promise<void> {
    const reason = this.ctx.lostReason ?? 'unknown';
    const tell = (recovered: boolean): void => this.loss.onLost?.({ model: this.weights.name, reason, recovered });
    if (this.loss.policy === 'fail' || !this.ownsSession) {
      tell(false);
      this.ctx.assertAlive(this.ownsSession ? this.weights.name : `${this.weights.name} (on training's session, which the trainer recovers)`);
    }
    try {
      await this.ctx.renew();
      this.rebuild();
    } catch (e) {
      tell(false);
      throw e;
    }
    tell(true);
  }

  /** The session uploaded again and the programs and frames dropped, on the context's current device. */
  private rebuild(): void {
    if (!this.ownsSession || !this.uploadGraph) throw new GpuError(`${this.weights.name}: the GPU device was renewed under training's session, which this model cannot upload again`, 'device-lost');
    this.programs.clear();
    this.framesValue?.release();
    // Its buffers died with the device; releasing them only forgets them.
    this.sessionValue?.dispose();
    this.sessionValue = Session.create(this.ctx, this.uploadGraph, this.weights.params, this.weights.name, { checked: true });
    this.generation = this.ctx.generation;
  }

  /**
   * dispose() once the device has run what the model queued (a refused load's weight uploads):
   * a refusal leaves nothing of the model's in flight on a caller's context, and no device is
   * destroyed with work queued (src/gpu/context.ts says what Dawn does with one).
   */
  async disposeWhenIdle(): Promise<void> {
    if (!this.disposed && !this.ctx.isLost) await this.ctx.device.queue.onSubmittedWorkDone().catch(() => undefined);
    this.dispose();
  }

  /**
   * Releases every GPU buffer the model holds (and the device, when the model created it). A call
   * already running finishes first; calls still queued fail as used after dispose().
   */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    const release = (): void => {
      this.programs.clear();
      this.framesValue?.release();
      if (this.ownsSession) this.sessionValue?.dispose();
      this.sessionValue = null;
      if (this.ownsContext) this.ctx.destroy();
    };
    // Queued behind this model's calls, so it runs when the last of them has settled.
    if (this.calls > 0) void contextQueue(this.ctx).run(async () => release());
    else release();
  }
}
