// What a model holds on the GPU and how its calls take turns there: the context (its own, or
// the caller's), the session of its weights (its own, or training's), its programs within the
// memory budget (model-programs.ts), and the turn each call's GPU work takes on the context's
// queue. dispose() waits for the calls already queued, then gives everything back.
import type { GpuContext } from '../gpu/context.js';
import { contextQueue } from '../gpu/serial-queue.js';
import type { Graph } from '../graph/ir.js';
import type { Program } from '../graph/program.js';
import { Session } from '../graph/session.js';
import type { LoadedWeights } from './loading/load-weights.js';
import type { Precision } from './loading/options.js';
import type { ModelMemory } from './memory.js';
import { ModelPrograms } from './model-programs.js';

/** GPU memory a model holds outside its session and programs (its frames' texture and kernels). */
export interface ModelExtras {
  readonly bytes: number;
  release(): void;
}

export class ModelGpu {
  readonly programs: ModelPrograms;
  private sessionValue: Session | null = null;
  private ownsSession = true;
  private disposed = false;
  /** Calls queued or running on the context's queue (dispose() waits for them). */
  private calls = 0;

  constructor(
    readonly ctx: GpuContext,
    private readonly ownsContext: boolean,
    private readonly weights: LoadedWeights,
    precision: Precision,
    memoryBudget: number | null,
    private readonly extras: () => ModelExtras,
  ) {
    this.programs = new ModelPrograms(ctx, weights, precision, memoryBudget, () => ({
      weights: this.ownsSession ? (this.sessionValue?.byteLength ?? 0) : 0,
      frames: this.extras().bytes,
    }));
  }

  /** Uploads the weights for `graph` (the network at its own size) into a session of the model's own. */
  uploadWeights(graph: Graph, paramsChecked: boolean): void {
    this.programs.checkWeightsFit(graph);
    this.sessionValue = Session.create(this.ctx, graph, this.weights.params, this.weights.name, { checked: paramsChecked });
    this.ownsSession = true;
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

  /** The network's program at one batch and input size. */
  network(height: number, width: number, batch = 1): Promise<Program> {
    return this.programs.network(this.session, height, width, batch);
  }

  memory(): ModelMemory {
    return this.programs.memory();
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
        this.programs.nextTurn();
        return work();
      })
      .finally(() => this.calls--);
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
      this.extras().release();
      if (this.ownsSession) this.sessionValue?.dispose();
      this.sessionValue = null;
      if (this.ownsContext) this.ctx.destroy();
    };
    // Queued behind this model's calls, so it runs when the last of them has settled.
    if (this.calls > 0) void contextQueue(this.ctx).run(async () => release());
    else release();
  }
}
