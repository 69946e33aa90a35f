// A Program is a compiled graph made runnable on the GPU for one batch and input size.
//
// create(): compiles every pipeline the graph (and its derive graph) needs in parallel
// (createComputePipelineAsync), plans activation memory, allocates the planned buffers and
// prepares one Dispatch per kernel launch, binding state to the Session's buffers. run():
// writes the inputs (f32 or u32 arrays, per-run scalars included, or tensors already on the
// GPU), recomputes stale derived state first, records the whole pass into one command buffer,
// submits it and reads the outputs back. dispose() releases every buffer the program made; the
// session (parameters) outlives it unless the program created it.
//
// Runs of one program take turns (a queue): every run writes the same input, activation and
// readback buffers, so overlapping callers each wait for the runs before theirs (a run reads its
// inputs when its turn comes). runOnGpu's outputs stay views of the program's buffers: a caller
// that reads them after its run must keep other runs out until it is done (DeepLabModel does,
// with its context's queue).
import type { GpuContext } from '../gpu/context.js';
import { type Dispatch, disposeDispatch, encodeDispatches } from '../gpu/dispatch.js';
import { STORAGE_USAGE } from '../gpu/buffer-pool.js';
import { GpuTensor, checkBindable, shapeString, tensorBytes, tensorValues } from '../gpu/tensor.js';
import { SerialQueue } from '../gpu/serial-queue.js';
import { WorkTimer } from '../gpu/work-timer.js';
import type { CompiledGraph } from './ir.js';
import type { Graph, Node, Value } from './ir.js';
import { type MemoryPlan, planMemory } from './memory-plan.js';
import type { LoweredOp } from './ops/op-def.js';
import type { KernelSpec } from '../gpu/pipeline-cache.js';
import { nodeInputs, opDef } from './ops/registry.js';
import type { HostParams } from './params.js';
import { Session } from './session.js';
import { tuneGraph } from './tune.js';

export type RunInput = Float32Array | Uint32Array | GpuTensor;

/** GPU bytes a program holds: its activations and inputs, its read-back copies, its kernels' uniforms and scratch. */
export interface ProgramBytes {
  activations: number;
  readback: number;
  kernels: number;
}

/** What a program of `graph` will allocate for activations, inputs and read-backs, before it is made (scratch aside). */
export function plannedProgramBytes(graph: Graph): ProgramBytes {
  const bytes = (v: Value): number => tensorBytes(v.shape, v.dtype);
  return {
    activations: planMemory(graph).peakBytes + graph.inputs.reduce((a, v) => a + bytes(v), 0),
    readback: [...graph.outputs.values()].reduce((a, v) => a + bytes(v), 0),
    kernels: 0,
  };
}

/** A run's host time by phase (ms): inputs written, the pass encoded, submitted, waited for, outputs read back, error scopes closed. */
export interface RunHostMs {
  writeMs: number;
  encodeMs: number;
  submitMs: number;
  waitMs: number;
  readBackMs: number;
  errorScopesMs: number;
  totalMs: number;
}

/** Checks that every node reads only inputs, state and values produced before it. */
function checkOrder(graph: Graph): void {
  const ready = new Set<number>([...graph.inputs, ...graph.state].map((v) => v.id));
  for (const n of graph.nodes) {
    for (const v of nodeInputs(n)) {
      if (!ready.has(v.id)) throw new Error(`graph: layer ${n.name} reads ${v.name} before it is computed`);
    }
    for (const v of n.outputs) ready.add(v.id);
  }
  for (const [name, v] of graph.outputs) {
    if (!ready.has(v.id)) throw new Error(`graph: output ${name} is never computed`);
  }
}

/** A node touching f16 values runs its kernels' half-precision variants (as makeDispatch picks them). */
function halfSpecs(n: Node, lowered: LoweredOp): LoweredOp {
  const half = [...nodeInputs(n), ...n.outputs].some((v) => v.dtype === 'f16');
  return half ? { ...lowered, specs: lowered.specs.map((s) => ({ ...s, half: true })) } : lowered;
}

/** Each node lowered for `ctx`: its kernels (half-precision variants where it binds f16) and their dispatches. */
function lowerNodes(ctx: GpuContext, nodes: readonly Node[]): { node: Node; lowered: LoweredOp }[] {
  return nodes.map((n) => ({ node: n, lowered: halfSpecs(n, opDef(n.op).lower(n.op, n.outputs, ctx)) }));
}

/** Every kernel a program of `compiled` compiles on `ctx` (derive graph included), as Program.create lowers them. */
export function programKernelSpecs(ctx: GpuContext, compiled: Pick<CompiledGraph, 'graph' | 'derive'>): KernelSpec[] {
  return lowerNodes(ctx, [...(compiled.derive?.nodes ?? []), ...compiled.graph.nodes]).flatMap((l) => l.lowered.specs);
}

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
  private staging: Map<string, GPUBuffer> | null = null;
  /** One run at a time: they share every buffer (and the timer). */
  private readonly turns = new SerialQueue();
  /** Where the last run() spent its time on the host (the profile part of the bench reports it). */
  lastRunHostMs: RunHostMs | null = null;
  private writeMs = 0;

  private constructor(
    private readonly ctx: GpuContext,
    readonly graph: Graph,
    readonly plan: MemoryPlan,
    readonly session: Session,
    private readonly ownsSession: boolean,
    private readonly slots: GPUBuffer[],
    private readonly inputBuffers: Map<string, GpuTensor>,
    private readonly tensors: Map<number, GpuTensor>,
    private readonly deriveDispatches: Dispatch[],
    private readonly derivedNames: string[],
    private readonly dispatches: Dispatch[],
    /** For each layer with kernels, in order: how many of `dispatches` it launches. */
    private readonly layerKernels: { node: Node; count: number }[],
  ) {}

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
    checkOrder(graph);
    if (derive) checkOrder(derive);
    // Every tensor is bound whole to some kernel: refuse sizes the device cannot bind, naming
    // the layer, before anything is allocated.
    for (const v of [...graph.inputs, ...graph.nodes.flatMap((n) => n.outputs)]) {
      checkBindable(ctx, tensorBytes(v.shape, v.dtype), `${label}: ${v.kind === 'input' ? 'input' : 'layer'} ${v.name} ${shapeString(v.shape)}`);
    }
    // The adapter checks the graph's ops ask for (a convolution's subgroup matrices are used only
    // once checked against the CPU reference), before anything is lowered; each keeps its result.
    const checks = new Set([...graph.nodes, ...(derive?.nodes ?? [])].map((n) => opDef(n.op).adapterCheck).filter((c) => c !== undefined));
    for (const check of checks) await check(ctx);
    // Tuning mode 'full': measure the kernel choices this adapter has not seen yet, so the
    // lowering below picks them up.
    if (ctx.tuning.mode === 'full') await tuneGraph(ctx, graph);
    const lowered = lowerNodes(ctx, graph.nodes);
    const loweredDerive = lowerNodes(ctx, derive?.nodes ?? []);
    // All pipelines first, in parallel: compiling is the slow part of a first run.
    await ctx.checked(`${label}: compiling kernels`, () =>
      ctx.pipelines.compile([...loweredDerive, ...lowered].flatMap((l) => l.lowered.specs)),
    );

    const ownsSession = !(state instanceof Session);
    const session = state instanceof Session ? state : Session.create(ctx, source, state, label);
    const plan = planMemory(graph);
    const slots: GPUBuffer[] = [];
    const inputBuffers = new Map<string, GpuTensor>();
    const tensors = new Map<number, GpuTensor>();
    const dispatches: Dispatch[] = [];
    const deriveDispatches: Dispatch[] = [];
    const layerKernels: { node: Node; count: number }[] = [];
    const cleanup = (): void => {
      for (const d of [...deriveDispatches, ...dispatches]) disposeDispatch(ctx, d);
      for (const b of slots) ctx.destroyBuffer(b);
      for (const t of inputBuffers.values()) ctx.destroyBuffer(t.buffer);
      if (ownsSession) session.dispose();
    };
    try {
      await ctx.checked(`${label}: preparing`, () => {
        for (const [i, bytes] of plan.slotBytes.entries()) slots.push(ctx.createBuffer(bytes, STORAGE_USAGE, `${label}:slot${i}`));
        for (const v of graph.inputs) {
          const t = new GpuTensor(ctx, ctx.createBuffer(tensorBytes(v.shape, v.dtype), STORAGE_USAGE, v.name), v.shape, v.dtype, 'borrowed');
          inputBuffers.set(v.name, t);
          tensors.set(v.id, t);
        }
        const bind = (v: Value): void => {
          if (tensors.has(v.id)) return;
          if (v.kind === 'state') tensors.set(v.id, session.tensor(v));
          else if (v.kind === 'activation') tensors.set(v.id, new GpuTensor(ctx, slots[plan.slotOf.get(v.id)!], v.shape, v.dtype, 'borrowed'));
        };
        for (const v of [...graph.state, ...(derive?.state ?? [])]) bind(v);
        for (const n of graph.nodes) for (const v of n.outputs) bind(v);
        const tensorOf = (v: Value): GpuTensor => tensors.get(v.id)!;
        const prepare = (list: typeof lowered, into: Dispatch[], layers?: typeof layerKernels): void => {
          for (const { node, lowered: l } of list) {
            try {
              const made = l.prepare(ctx, tensorOf, node.outputs.map(tensorOf));
              into.push(...made);
              if (made.length > 0) layers?.push({ node, count: made.length });
            } catch (e) {
              throw new Error(`layer ${node.name}: ${(e as Error).message}`);
            }
          }
        };
        prepare(loweredDerive, deriveDispatches);
        prepare(lowered, dispatches, layerKernels);
      });
    } catch (e) {
      cleanup();
      throw e;
    }
    const derivedNames = (derive?.nodes ?? []).flatMap((n) => n.outputs.map((v) => v.name));
    return new Program(ctx, graph, plan, session, ownsSession, slots, inputBuffers, tensors, deriveDispatches, derivedNames, dispatches, layerKernels);
  }

  /** The GPU bytes this program holds now (its session's state aside). */
  get bytes(): ProgramBytes {
    const size = (buffers: Iterable<GPUBuffer>): number => {
      let n = 0;
      for (const b of buffers) n += b.size;
      return n;
    };
    return {
      activations: size(this.slots) + size([...this.inputBuffers.values()].map((t) => t.buffer)),
      readback: size(this.staging?.values() ?? []),
      kernels: size([...this.deriveDispatches, ...this.dispatches].flatMap((d) => [d.uniformBuffer, ...(d.ownedBuffers ?? [])])),
    };
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
    return this.layerKernels.map(({ node, count }) => ({ node, dispatches: this.dispatches.slice(next, (next += count)) }));
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
    for (const [name, v] of this.graph.outputs) out.set(name, this.tensors.get(v.id)!);
    return out;
  }

  private async runNow(inputs: Record<string, RunInput>, prelude?: Prelude): Promise<Map<string, Float32Array | Uint32Array>> {
    if (this.disposed) throw new Error('Program used after dispose()');
    const outputs = [...this.graph.outputs].map(([name, v]) => ({ name, t: this.tensors.get(v.id)! }));
    if (!this.staging) {
      this.staging = new Map();
      for (const { name, t } of outputs) {
        this.staging.set(name, this.ctx.createBuffer(t.byteLength, GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST, `${name}:readback`));
      }
    }
    const staging = this.staging;
    let derived = false;
    let preludeDerived = false;
    const out = new Map<string, Float32Array | Uint32Array>();
    const t = [performance.now()];
    await this.ctx.checked(`forward pass (${this.kernelLabel(prelude)} kernels) and readback`, async () => {
      const encoder = this.ctx.device.createCommandEncoder({ label: 'forward' });
      if (prelude) preludeDerived = prelude.program.encodePass(prelude.inputs, encoder);
      derived = this.encodePass(inputs, encoder);
      for (const { name, t } of outputs) encoder.copyBufferToBuffer(t.buffer, t.byteOffset, staging.get(name)!, 0, t.byteLength);
      const commands = encoder.finish();
      t.push(performance.now());
      const queue = this.ctx.device.queue;
      queue.submit([commands]);
      t.push(performance.now());
      // Wait on the queue, not on the maps: mapping a large buffer takes milliseconds of its
      // own, which would read as GPU time. Both passes together take longer than this one
      // alone: they have a timer of their own.
      const timer = prelude ? this.chainedTimer : this.timer;
      await timer.wait(performance.now(), () => queue.onSubmittedWorkDone());
      t.push(performance.now());
      const mapped = await Promise.allSettled(outputs.map(({ name }) => staging.get(name)!.mapAsync(GPUMapMode.READ)));
      const failed = mapped.find((m): m is PromiseRejectedResult => m.status === 'rejected');
      if (failed) {
        // Leave no buffer mapped: the next run copies into them.
        for (const b of staging.values()) if (b.mapState === 'mapped') b.unmap();
        throw failed.reason;
      }
      for (const { name, t } of outputs) {
        const buffer = staging.get(name)!;
        const bytes = buffer.getMappedRange().slice(0, t.byteLength);
        buffer.unmap();
        out.set(name, tensorValues(bytes, t));
      }
      t.push(performance.now());
    });
    t.push(performance.now());
    const span = (i: number): number => t[i + 1] - t[i];
    this.lastRunHostMs = { writeMs: this.writeMs, encodeMs: span(0) - this.writeMs, submitMs: span(1), waitMs: span(2), readBackMs: span(3), errorScopesMs: span(4), totalMs: t[5] - t[0] };
    this.ctx.assertAlive();
    this.afterPasses(derived, prelude, preludeDerived);
    return out;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const d of [...this.deriveDispatches, ...this.dispatches]) disposeDispatch(this.ctx, d);
    for (const b of this.slots) this.ctx.destroyBuffer(b);
    for (const t of this.inputBuffers.values()) this.ctx.destroyBuffer(t.buffer);
    for (const b of this.staging?.values() ?? []) this.ctx.destroyBuffer(b);
    if (this.ownsSession) this.session.dispose();
  }
}
