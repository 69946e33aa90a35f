// Runs a Graph on the GPU.
//
// create(): checks and uploads params (unless a shared ParamStore is given), compiles every
// pipeline the graph needs in parallel (createComputePipelineAsync), plans activation memory,
// allocates the planned buffers and prepares one Dispatch per kernel launch. run(): writes the
// inputs, records the whole forward pass into one command buffer, submits it and reads the
// outputs back. dispose() releases every buffer the executor made.
import type { GpuContext } from '../gpu/context.js';
import { type Dispatch, disposeDispatch, encodeDispatches } from '../gpu/dispatch.js';
import { STORAGE_USAGE } from '../gpu/buffer-pool.js';
import { GpuTensor, checkBindable, readBuffer, shapeString } from '../gpu/tensor.js';
import type { Graph, Value } from './ir.js';
import { nodeInputs } from './ir.js';
import { lowerNode } from './lowering.js';
import { type MemoryPlan, planMemory } from './memory-plan.js';
import { type HostParams, ParamStore } from './params.js';

/** Checks that every node reads only inputs, params and values produced before it. */
function checkOrder(graph: Graph): void {
  const ready = new Set<number>([...graph.inputs, ...graph.params].map((v) => v.id));
  for (const n of graph.nodes) {
    for (const v of nodeInputs(n.op)) {
      if (!ready.has(v.id)) throw new Error(`graph: layer ${n.name} reads ${v.name} before it is computed`);
    }
    ready.add(n.output.id);
  }
  for (const [name, v] of graph.outputs) {
    if (!ready.has(v.id)) throw new Error(`graph: output ${name} is never computed`);
  }
}

export class Executor {
  private disposed = false;

  private constructor(
    private readonly ctx: GpuContext,
    readonly graph: Graph,
    readonly plan: MemoryPlan,
    private readonly params: ParamStore,
    private readonly ownsParams: boolean,
    private readonly slots: GPUBuffer[],
    private readonly inputBuffers: Map<string, GpuTensor>,
    private readonly tensors: Map<number, GpuTensor>,
    private readonly dispatches: Dispatch[],
  ) {}

  static async create(ctx: GpuContext, graph: Graph, params: HostParams | ParamStore, label = 'model'): Promise<Executor> {
    checkOrder(graph);
    // Every tensor is bound whole to some kernel: refuse sizes the device cannot bind, naming
    // the layer, before anything is allocated.
    for (const v of [...graph.inputs, ...graph.nodes.map((n) => n.output)]) {
      checkBindable(ctx, v.shape.reduce((a, b) => a * b, 1) * 4, `${label}: ${v.kind === 'input' ? 'input' : 'layer'} ${v.name} ${shapeString(v.shape)}`);
    }
    const lowered = graph.nodes.map((n) => ({ node: n, lowered: lowerNode(n) }));
    // All pipelines first, in parallel: compiling is the slow part of a first run.
    await ctx.checked(`${label}: compiling kernels`, () => ctx.pipelines.compile(lowered.flatMap((l) => l.lowered.specs)));

    const ownsParams = !(params instanceof ParamStore);
    const store = params instanceof ParamStore ? params : ParamStore.upload(ctx, graph, params, label);
    const plan = planMemory(graph);
    const slots: GPUBuffer[] = [];
    const inputBuffers = new Map<string, GpuTensor>();
    const tensors = new Map<number, GpuTensor>();
    const dispatches: Dispatch[] = [];
    const cleanup = (): void => {
      for (const d of dispatches) disposeDispatch(ctx, d);
      for (const b of slots) ctx.destroyBuffer(b);
      for (const t of inputBuffers.values()) ctx.destroyBuffer(t.buffer);
      if (ownsParams) store.dispose();
    };
    try {
      await ctx.checked(`${label}: preparing`, () => {
        for (const [i, bytes] of plan.slotBytes.entries()) slots.push(ctx.createBuffer(bytes, STORAGE_USAGE, `${label}:slot${i}`));
        for (const v of graph.inputs) {
          const t = new GpuTensor(ctx, ctx.createBuffer(v.shape.reduce((a, b) => a * b, 1) * 4, STORAGE_USAGE, v.name), v.shape, 'f32', 'borrowed');
          inputBuffers.set(v.name, t);
          tensors.set(v.id, t);
        }
        for (const p of graph.params) tensors.set(p.id, store.get(p.name));
        for (const n of graph.nodes) {
          const slot = plan.slotOf.get(n.output.id)!;
          tensors.set(n.output.id, new GpuTensor(ctx, slots[slot], n.output.shape, n.output.dtype, 'borrowed'));
        }
        const tensorOf = (v: Value): GpuTensor => tensors.get(v.id)!;
        for (const { node, lowered: l } of lowered) {
          try {
            dispatches.push(...l.prepare(ctx, tensorOf, tensorOf(node.output)));
          } catch (e) {
            throw new Error(`layer ${node.name}: ${(e as Error).message}`);
          }
        }
      });
    } catch (e) {
      cleanup();
      throw e;
    }
    return new Executor(ctx, graph, plan, store, ownsParams, slots, inputBuffers, tensors, dispatches);
  }

  /** Number of kernel launches in one forward pass. */
  get dispatchCount(): number {
    return this.dispatches.length;
  }

  private writeInputs(inputs: Record<string, Float32Array | GpuTensor>, encoder: GPUCommandEncoder): void {
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
        encoder.copyBufferToBuffer(data.buffer, 0, t.buffer, 0, t.byteLength);
      } else {
        if (data.length !== t.size) {
          throw new Error(`input '${name}': expected ${t.size} values ${shapeString(t.shape)}, got ${data.length}`);
        }
        this.ctx.device.queue.writeBuffer(t.buffer, 0, data.buffer, data.byteOffset, data.byteLength);
      }
    }
  }

  /**
   * Runs one forward pass; outputs stay on the GPU (views of the executor's own buffers,
   * valid until the next run or dispose; do not dispose them).
   */
  async runOnGpu(inputs: Record<string, Float32Array | GpuTensor>): Promise<Map<string, GpuTensor>> {
    if (this.disposed) throw new Error('Executor used after dispose()');
    await this.ctx.checked(`forward pass (${this.dispatches.length} kernels)`, async () => {
      const encoder = this.ctx.device.createCommandEncoder({ label: 'forward' });
      this.writeInputs(inputs, encoder);
      const pass = encoder.beginComputePass({ label: 'forward' });
      encodeDispatches(pass, this.dispatches);
      pass.end();
      await this.ctx.submitAndWait([encoder.finish()]);
    });
    const out = new Map<string, GpuTensor>();
    for (const [name, v] of this.graph.outputs) out.set(name, this.tensors.get(v.id)!);
    return out;
  }

  /** Runs one forward pass and reads every output back. */
  async run(inputs: Record<string, Float32Array | GpuTensor>): Promise<Map<string, Float32Array | Uint32Array>> {
    const onGpu = await this.runOnGpu(inputs);
    const out = new Map<string, Float32Array | Uint32Array>();
    for (const [name, t] of onGpu) {
      const bytes = await readBuffer(this.ctx, t.buffer, t.byteLength);
      out.set(name, t.dtype === 'u32' ? new Uint32Array(bytes) : new Float32Array(bytes));
    }
    return out;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const d of this.dispatches) disposeDispatch(this.ctx, d);
    for (const b of this.slots) this.ctx.destroyBuffer(b);
    for (const t of this.inputBuffers.values()) this.ctx.destroyBuffer(t.buffer);
    if (this.ownsParams) this.params.dispose();
  }
}
