// A Program is a compiled graph made runnable on the GPU for one batch and input size.
//
// create(): lowers the graph (and its derive graph) for the adapter and compiles every pipeline
// in parallel (lowering.ts, where tuning runs too), then allocates the planned buffers and
// prepares one Dispatch per kernel launch, binding state to the Session's buffers
// (program-resources.ts). run():
// writes the inputs (f32 or u32 arrays, per-run scalars included, or tensors already on the
// GPU), recomputes stale derived state first, records the whole pass into one command buffer,
// submits it and reads the outputs back (readback.ts), timing its host phases (run-host-time.ts). dispose() releases every buffer the program made; the
// session (parameters) outlives it unless the program created it.
//
// Runs of one program take turns (a queue): every run writes the same input, activation and
// readback buffers, so overlapping callers each wait for the runs before theirs (a run reads its
// inputs when its turn comes). runOnGpu's outputs stay views of the program's buffers: a caller
// that reads them after its run must keep other runs out until it is done (DeepLabModel does,
// with its context's queue).
import type { GpuContext } from '../gpu/context.js';
import { type Dispatch, encodeDispatches } from '../gpu/dispatch.js';
import { GpuError } from '../gpu/errors.js';
import { GpuTensor, shapeString } from '../gpu/tensor.js';
import { SerialQueue } from '../gpu/serial-queue.js';
import { WorkTimer } from '../gpu/work-timer.js';
import type { CompiledGraph, Graph, Node } from './ir.js';
import { lowerForAdapter } from './lowering.js';
import type { MemoryPlan } from './memory-plan.js';
import type { HostParams } from './params.js';
import type { ProgramBytes } from './program-memory.js';
import { ProgramResources } from './program-resources.js';
import { Readback } from './readback.js';
import { type RunHostMs, RunPhases } from './run-host-time.js';
import { Session } from './session.js';

export type RunInput = Float32Array | Uint32Array | GpuTensor;

/** A program whose pass runs first in the same command buffer, with its inputs (runAfter). */
interface Prelude {
  program: Program;
  inputs: Record<string, RunInput>;
}

export class Program {
  private disposed = false;
  /** How long a pass takes, so waiting for it can sleep instead of polling. */
  private readonly timer = new WorkTimer();
  /** How long runAfter's two passes take (the first program's and this one's). */
  private readonly chainedTimer = new WorkTimer();
  /** Mappable copies of the outputs for run(), made on its first call. */
  private readonly readback: Readback;
  /** One run at a time: they share every buffer (and the timer). */
  private readonly turns = new SerialQueue();
  /** Where the last run() spent its time on the host (the profile part of the bench reports it). */
  lastRunHostMs: RunHostMs | null = null;
  private writeMs = 0;
  /** The device generation its buffers and pipelines were made on (GpuContext.renew). */
  private readonly generation: number;

  private constructor(
    private readonly ctx: GpuContext,
    readonly graph: Graph,
    readonly session: Session,
    private readonly ownsSession: boolean,
    private readonly resources: ProgramResources,
    private readonly derivedNames: string[],
  ) {
    this.generation = ctx.generation;
    this.readback = new Readback(ctx, [...graph.outputs].map(([name, v]) => ({ name, t: resources.tensors.get(v.id)! })));
  }

  /** The activation memory plan (which values share a buffer). */
  get plan(): MemoryPlan {
    return this.resources.plan;
  }

  private get dispatches(): readonly Dispatch[] {
    return this.resources.dispatches;
  }

  private get deriveDispatches(): readonly Dispatch[] {
    return this.resources.deriveDispatches;
  }

  private get inputBuffers(): ReadonlyMap<string, GpuTensor> {
    return this.resources.inputBuffers;
  }

  /** Whether a run writes parameters or statistics (an optimizer step, BN running statistics). */
  private get updatesWeights(): boolean {
    return this.graph.nodes.some((n) => n.outputs.some((v) => v.kind === 'state' && (v.role === 'param' || v.role === 'statistic')));
  }

  /**
   * `compiled` is a compiled graph, or a plain graph to run as it is. State comes from a shared
   * session, or from host tensors (checked against the graph, uploaded into a session the
   * program owns).
   */
  static async create(
    ctx: GpuContext,
    compiled: CompiledGraph | Graph,
    state: Session | HostParams = new Map(),
    label = 'model',
  ): Promise<Program> {
    const { graph, derive, source } = 'derive' in compiled ? compiled : { graph: compiled, derive: null, source: compiled };
    const kernels = await lowerForAdapter(ctx, graph, derive, label);

    const ownsSession = !(state instanceof Session);
    const session = state instanceof Session ? state : Session.create(ctx, source, state, label);
    let resources: ProgramResources;
    try {
      resources = await ProgramResources.allocate(ctx, graph, derive, session, kernels, label);
    } catch (e) {
      if (ownsSession) session.dispose();
      throw e;
    }
    const derivedNames = (derive?.nodes ?? []).flatMap((n) => n.outputs.map((v) => v.name));
    return new Program(ctx, graph, session, ownsSession, resources, derivedNames);
  }

  /** The GPU bytes this program holds now (its session's state aside). */
  get bytes(): ProgramBytes {
    return { ...this.resources.bytes, readback: this.readback.bytes };
  }

  /** Number of kernel launches in one pass (derive dispatches not counted). */
  get dispatchCount(): number {
    return this.dispatches.length;
  }

  /** The pipeline (shader and specialisation) of each kernel launch of one pass, in order. */
  get kernelKeys(): string[] {
    return this.dispatches.map((d) => d.key);
  }

  private writeInputs(inputs: Record<string, RunInput>, encoder: GPUCommandEncoder): void {
    for (const name of Object.keys(inputs)) {
      if (!this.inputBuffers.has(name)) {
        throw new Error(`unknown input '${name}' (the model takes ${[...this.inputBuffers.keys()].join(', ')})`);
      }
    }
    for (const [name, t] of this.inputBuffers) {
      const data = inputs[name];
      if (data === undefined) throw new Error(`input '${name}' ${shapeString(t.shape)} not given`);
      if (data instanceof GpuTensor) {
        if (data.size !== t.size) throw new Error(`input '${name}': expected ${shapeString(t.shape)}, got ${shapeString(data.shape)}`);
        if (data.dtype !== t.dtype) throw new Error(`input '${name}': expected ${t.dtype}, got a ${data.dtype} tensor`);
        encoder.copyBufferToBuffer(data.buffer, data.byteOffset, t.buffer, 0, t.byteLength);
      } else {
        const dtype = data instanceof Uint32Array ? 'u32' : 'f32';
        if (dtype !== t.dtype) throw new Error(`input '${name}': expected ${t.dtype} values, got ${data.constructor.name}`);
        if (data.length !== t.size) {
          throw new Error(`input '${name}': expected ${t.size} values ${shapeString(t.shape)}, got ${data.length}`);
        }
        this.ctx.device.queue.writeBuffer(t.buffer, 0, data.buffer, data.byteOffset, data.byteLength);
      }
    }
  }

  /** Whether derived state (folded weights, f16 copies) must be recomputed before the next pass. */
  private get deriveStale(): boolean {
    return this.derivedNames.length > 0 && !this.session.derivedFresh(this.derivedNames);
  }

  /** Records the whole pass (after the inputs) into `encoder`; returns whether derived state was recomputed. */
  private encodePass(inputs: Record<string, RunInput>, encoder: GPUCommandEncoder, timestampWrites?: GPUComputePassTimestampWrites): boolean {
    if (this.generation !== this.ctx.generation) {
      throw new GpuError(`${this.session.label}: a program made before the GPU device was lost and renewed; make it again`, 'device-lost');
    }
    const derive = this.deriveStale;
    const w0 = performance.now();
    this.writeInputs(inputs, encoder);
    this.writeMs = performance.now() - w0;
    const pass = encoder.beginComputePass({ label: 'forward', timestampWrites });
    if (derive) encodeDispatches(pass, this.deriveDispatches);
    encodeDispatches(pass, this.dispatches);
    pass.end();
    return derive;
  }

  private afterPass(derived: boolean): void {
    if (derived) {
      this.session.markDerived(this.derivedNames);
      // That pass did more than a pass does: not a time to expect again.
      this.timer.reset();
    }
    // Parameters changed on the GPU: what is derived from them (folded weights) is stale now.
    if (this.updatesWeights) this.session.markChanged();
  }

  private kernelCount(): number {
    const derive = this.deriveStale;
    return this.dispatches.length + (derive ? this.deriveDispatches.length : 0);
  }

  /**
   * The layers that launch kernels, in order, each with its dispatches: what a profiler times
   * (graph/timed-layers.ts records them in passes of their own).
   */
  get kernelLayers(): readonly { node: Node; dispatches: readonly Dispatch[] }[] {
    let next = 0;
    return this.resources.layerKernels.map(({ node, count }) => ({ node, dispatches: this.dispatches.slice(next, (next += count)) }));
  }

  /** For a profiler: writes `inputs` into the program's input buffers (copies of GPU tensors recorded into `encoder`); derived state must be fresh. */
  writeInputsInto(inputs: Record<string, RunInput>, encoder: GPUCommandEncoder): void {
    if (this.deriveStale) throw new Error('writeInputsInto: derived state is stale; run the program once first');
    this.writeInputs(inputs, encoder);
  }

  /**
   * For a profiler: records one whole pass (the inputs written, one compute pass, its ends
   * written to `timestampWrites` where given) as a run does; derived state must be fresh.
   */
  encodeWholePass(inputs: Record<string, RunInput>, encoder: GPUCommandEncoder, timestampWrites?: GPUComputePassTimestampWrites): void {
    if (this.deriveStale) throw new Error('encodeWholePass: derived state is stale; run the program once first');
    this.encodePass(inputs, encoder, timestampWrites);
  }

  /**
   * Runs one pass; outputs stay on the GPU (views of the program's own buffers, valid until the
   * next run or dispose; do not dispose them).
   */
  runOnGpu(inputs: Record<string, RunInput>): Promise<Map<string, GpuTensor>> {
    return this.turns.run(() => this.runOnGpuNow(inputs));
  }

  private async runOnGpuNow(inputs: Record<string, RunInput>, prelude?: Prelude): Promise<Map<string, GpuTensor>> {
    if (this.disposed) throw new Error('Program used after dispose()');
    let derived = false;
    let preludeDerived = false;
    await this.ctx.checked(`forward pass (${this.kernelLabel(prelude)} kernels)`, async () => {
      const encoder = this.ctx.device.createCommandEncoder({ label: 'forward' });
      if (prelude) preludeDerived = prelude.program.encodePass(prelude.inputs, encoder);
      derived = this.encodePass(inputs, encoder);
      await this.ctx.submitAndWait([encoder.finish()], prelude ? this.chainedTimer : this.timer);
    });
    this.afterPasses(derived, prelude, preludeDerived);
    return this.outputTensors();
  }

  /** The kernels a pass (after `prelude`'s) launches, for error messages. */
  private kernelLabel(prelude?: Prelude): string {
    return prelude ? `${prelude.program.kernelCount()} + ${this.kernelCount()}` : `${this.kernelCount()}`;
  }

  /** afterPass for this program and any prelude; a pass that derived state does not teach the chained timer. */
  private afterPasses(derived: boolean, prelude: Prelude | undefined, preludeDerived: boolean): void {
    if (prelude) prelude.program.afterPass(preludeDerived);
    this.afterPass(derived);
    if (derived || preludeDerived) this.chainedTimer.reset();
  }

  /**
   * Runs one pass and reads every output back. The copies to mappable buffers ride in the
   * pass's own command buffer, so the host waits once.
   */
  run(inputs: Record<string, RunInput>): Promise<Map<string, Float32Array | Uint32Array>> {
    return this.turns.run(() => this.runNow(inputs));
  }

  /**
   * Runs `first` and then this program on `first`'s outputs, both passes in one command buffer:
   * one submission and one wait, and only this program's outputs read back (`first`'s stay on
   * the GPU as runOnGpu leaves them). segment() runs the network and its post-processing so:
   * each wait is a round trip through the driver's event processing and the host's sleep,
   * which a second submission paid again.
   */
  runAfter(
    first: Program,
    firstInputs: Record<string, RunInput>,
    inputsFrom: (firstOutputs: Map<string, GpuTensor>) => Record<string, RunInput>,
  ): Promise<Map<string, Float32Array | Uint32Array>> {
    return this.chained(first, () => this.runNow(inputsFrom(first.outputTensors()), { program: first, inputs: firstInputs }));
  }

  /**
   * As runAfter, one submission and one wait for both passes, but this program's outputs stay
   * on the GPU (runOnGpu's views) instead of being read back: multi-scale inference adds each
   * view's probabilities up so.
   */
  runOnGpuAfter(
    first: Program,
    firstInputs: Record<string, RunInput>,
    inputsFrom: (firstOutputs: Map<string, GpuTensor>) => Record<string, RunInput>,
  ): Promise<Map<string, GpuTensor>> {
    return this.chained(first, () => this.runOnGpuNow(inputsFrom(first.outputTensors()), { program: first, inputs: firstInputs }));
  }

  /** Runs `fn` holding both programs' turns (first's, then this one's). */
  private chained<T>(first: Program, fn: () => Promise<T>): Promise<T> {
    if (first === this) throw new Error('Program.runAfter: a program cannot run after itself');
    return first.turns.run(() =>
      this.turns.run(() => {
        if (first.disposed) throw new Error('Program used after dispose()');
        return fn();
      }),
    );
  }

  /** The outputs as tensors on the GPU: views of the program's buffers (what runOnGpu returns). */
  private outputTensors(): Map<string, GpuTensor> {
    const out = new Map<string, GpuTensor>();
    for (const [name, v] of this.graph.outputs) out.set(name, this.resources.tensors.get(v.id)!);
    return out;
  }

  private async runNow(inputs: Record<string, RunInput>, prelude?: Prelude): Promise<Map<string, Float32Array | Uint32Array>> {
    if (this.disposed) throw new Error('Program used after dispose()');
    let derived = false;
    let preludeDerived = false;
    let out = new Map<string, Float32Array | Uint32Array>();
    const phases = new RunPhases();
    await this.ctx.checked(`forward pass (${this.kernelLabel(prelude)} kernels) and readback`, async () => {
      const encoder = this.ctx.device.createCommandEncoder({ label: 'forward' });
      if (prelude) preludeDerived = prelude.program.encodePass(prelude.inputs, encoder);
      derived = this.encodePass(inputs, encoder);
      this.readback.encodeCopies(encoder);
      const commands = encoder.finish();
      phases.mark();
      const queue = this.ctx.device.queue;
      queue.submit([commands]);
      phases.mark();
      // Wait on the queue, not on the maps: mapping a large buffer takes milliseconds of its
      // own, which would read as GPU time. Both passes together take longer than this one
      // alone: they have a timer of their own.
      const timer = prelude ? this.chainedTimer : this.timer;
      await timer.wait(performance.now(), () => queue.onSubmittedWorkDone());
      phases.mark();
      out = await this.readback.read();
      phases.mark();
    });
    phases.mark();
    this.lastRunHostMs = phases.result(this.writeMs);
    this.ctx.assertAlive();
    this.afterPasses(derived, prelude, preludeDerived);
    return out;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.resources.release();
    this.readback.destroy();
    if (this.ownsSession) this.session.dispose();
  }
}
