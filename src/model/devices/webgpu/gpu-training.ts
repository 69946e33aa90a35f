// A training run on WebGPU (TrainingRun, src/model/devices/training.ts): the step graph compiled
// in training mode and the update graph, as programs bound to one session that holds the
// parameters, gradients and momentum for the whole run. Each step sends a batch and reads back
// the loss (and the invalid-label count); nothing else leaves the GPU.
//
// A lost device is recovered from state kept on the host (recover): the device renewed
// (GpuContext.renew), a session made on it from that state, and the programs made again; the
// trainer replays the step.
import type { GpuContext } from '../../../gpu/context.js';
import { GpuError } from '../../../gpu/errors.js';
import type { ReadBackMemory } from '../../../gpu/read-back-memory.js';
import { type CompiledGraph, compile } from '../../../graph/compile.js';
import type { Graph } from '../../../graph/ir.js';
import { type HostParams, storedState } from '../../../graph/params.js';
import { Program } from '../../../graph/program.js';
import { Session } from '../../../graph/session.js';
import type { HostValues } from '../device.js';
import type { StatePart, TrainingDevice, TrainingPlan, TrainingRun } from '../training.js';

export class GpuTrainingRun implements TrainingRun {
  readonly device = 'webgpu';
  private disposed = false;
  /** The context's device generation the session and programs live on. */
  private generation: number;

  private constructor(
    readonly ctx: GpuContext,
    private sessionValue: Session,
    private readonly ownsSession: boolean,
    private stepProgramValue: Program,
    private updateProgram: Program,
    private readonly plan: { label: string; network: Graph; step: CompiledGraph; update: Graph },
  ) {
    this.generation = ctx.generation;
  }

  /** Opens a run on `ctx`: the weights uploaded to a session of its own, or `session` shared (a model's, whose state it then trains). */
  static async open(ctx: GpuContext, plan: TrainingPlan, session?: Session): Promise<GpuTrainingRun> {
    const compiled = { label: plan.label, network: plan.network, step: compile(plan.step, { mode: 'training' }), update: plan.update };
    const s = session ?? Session.create(ctx, plan.network, plan.params, plan.label);
    try {
      const { step, update } = await GpuTrainingRun.programs(ctx, compiled, s);
      return new GpuTrainingRun(ctx, s, !session, step, update, compiled);
    } catch (e) {
      if (!session) s.dispose();
      throw e;
    }
  }

  private static async programs(ctx: GpuContext, plan: GpuTrainingRun['plan'], session: Session): Promise<{ step: Program; update: Program }> {
    const step = await Program.create(ctx, plan.step, session, `${plan.label} training step`);
    try {
      return { step, update: await Program.create(ctx, plan.update, session, `${plan.label} SGD`) };
    } catch (e) {
      step.dispose();
      throw e;
    }
  }

  /** The parameters, gradients and momentum of the run (a new one after a recovery). */
  get session(): Session {
    return this.sessionValue;
  }

  /** The step's program (forward, loss, backward, accumulation): what a profile times layer by layer. */
  get stepProgram(): Program {
    return this.stepProgramValue;
  }

  get activationBytes(): number {
    return this.stepProgramValue.plan.peakBytes;
  }

  async step(inputs: Record<string, HostValues>): Promise<Map<string, HostValues>> {
    return (await this.stepProgramValue.run(inputs)) as Map<string, HostValues>;
  }

  async update(inputs: Record<string, HostValues>): Promise<void> {
    // Nothing to read back: the update's effect is on the session's state (run() would map a copy of its nominal output).
    await this.updateProgram.runOnGpu(inputs);
  }

  /** In one read (each read waits for the GPU: reading a network's tensors one by one took seconds in Firefox). */
  readState(parts: readonly StatePart[], memory?: ReadBackMemory): Promise<HostParams> {
    return this.session.downloadState(parts, memory);
  }

  writeState(state: HostParams): void {
    for (const [name, t] of state) this.session.upload(name, t.data, t.shape);
  }

  /** Whether `e` came of the device being lost (the step's work is gone with it). */
  lostBy(e: unknown): boolean {
    return e instanceof GpuError && e.kind === 'device-lost' && this.ctx.isLost;
  }

  /**
   * The run on a live device: where its device was lost, a new one with `state` (the last
   * step's, kept on the host) uploaded and the programs made again; without `state`, the loss as
   * an error.
   */
  async recover(state: HostParams | null, onLost?: (reason: string) => void): Promise<void> {
    const ctx = this.ctx;
    if (!ctx.isLost && this.generation === ctx.generation) return;
    if (!state) ctx.assertAlive(`${this.plan.label} training`);
    if (ctx.isLost) {
      onLost?.(ctx.lostReason ?? 'unknown');
      await ctx.renew();
    }
    // The lost device's buffers are only forgotten.
    this.stepProgramValue.dispose();
    this.updateProgram.dispose();
    this.session.dispose();
    const stored = new Set(storedState(this.plan.network).map((v) => v.name));
    this.sessionValue = Session.create(ctx, this.plan.network, new Map([...state!].filter(([name]) => stored.has(name))), this.plan.label, { checked: true });
    ({ step: this.stepProgramValue, update: this.updateProgram } = await GpuTrainingRun.programs(ctx, this.plan, this.session));
    // The optimizer's buffers are the update program's: uploaded once it has made them.
    for (const [name, t] of state!) if (!stored.has(name)) this.session.upload(name, t.data as Float32Array, t.shape);
    this.generation = ctx.generation;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.stepProgramValue.dispose();
    this.updateProgram.dispose();
    if (this.ownsSession) this.session.dispose();
  }
}

/** WebGPU on `ctx` as a device training runs on; with `session`, runs train that session's state. */
export function gpuTrainingDevice(ctx: GpuContext, session?: Session): TrainingDevice & { open(plan: TrainingPlan): Promise<GpuTrainingRun> } {
  return { name: 'webgpu', label: `WebGPU on ${ctx.adapterInfo.name}`, open: (plan) => GpuTrainingRun.open(ctx, plan, session) };
}
