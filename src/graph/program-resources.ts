// What a Program allocates on the GPU, once: the planned activation buffers (slots), the input
// buffers, every value bound to a tensor (state to the session's buffers), and one Dispatch per
// kernel launch of the pass and of its derive graph. release() gives it all back.
import type { GpuContext } from '../gpu/context.js';
import { type Dispatch, disposeDispatch } from '../gpu/dispatch.js';
import { STORAGE_USAGE } from '../gpu/buffer-pool.js';
import { GpuTensor, tensorBytes } from '../gpu/tensor.js';
import type { Graph, Node, Value } from './ir.js';
import type { LoweredNode } from './lowering.js';
import { type MemoryPlan, planMemory } from './memory-plan.js';
import { bufferBytes } from './program-memory.js';
import type { Session } from './session.js';

export class ProgramResources {
  readonly slots: GPUBuffer[] = [];
  readonly inputBuffers = new Map<string, GpuTensor>();
  /** Every bound value's tensor, by value id. */
  readonly tensors = new Map<number, GpuTensor>();
  readonly dispatches: Dispatch[] = [];
  readonly deriveDispatches: Dispatch[] = [];
  /** For each layer with kernels, in order: how many of `dispatches` it launches. */
  readonly layerKernels: { node: Node; count: number }[] = [];
  readonly plan: MemoryPlan;

  private constructor(
    private readonly ctx: GpuContext,
    graph: Graph,
  ) {
    this.plan = planMemory(graph);
  }

  /** Allocates and prepares everything a pass of `graph` binds; on failure nothing stays allocated. */
  static async allocate(
    ctx: GpuContext,
    graph: Graph,
    derive: Graph | null,
    session: Session,
    kernels: { lowered: LoweredNode[]; loweredDerive: LoweredNode[] },
    label: string,
  ): Promise<ProgramResources> {
    const r = new ProgramResources(ctx, graph);
    try {
      await ctx.checked(`${label}: preparing`, () => {
        for (const [i, bytes] of r.plan.slotBytes.entries()) r.slots.push(ctx.createBuffer(bytes, STORAGE_USAGE, `${label}:slot${i}`));
        for (const v of graph.inputs) {
          const t = new GpuTensor(ctx, ctx.createBuffer(tensorBytes(v.shape, v.dtype), STORAGE_USAGE, v.name), v.shape, v.dtype, 'borrowed');
          r.inputBuffers.set(v.name, t);
          r.tensors.set(v.id, t);
        }
        for (const v of [...graph.state, ...(derive?.state ?? [])]) r.bind(v, session);
        for (const n of graph.nodes) for (const v of n.outputs) r.bind(v, session);
        r.prepare(kernels.loweredDerive, r.deriveDispatches);
        r.prepare(kernels.lowered, r.dispatches, r.layerKernels);
      });
    } catch (e) {
      r.release();
      throw e;
    }
    return r;
  }

  /** A value's tensor: state in the session, an activation in its planned slot. */
  private bind(v: Value, session: Session): void {
    if (this.tensors.has(v.id)) return;
    if (v.kind === 'state') this.tensors.set(v.id, session.tensor(v));
    else if (v.kind === 'activation') this.tensors.set(v.id, new GpuTensor(this.ctx, this.slots[this.plan.slotOf.get(v.id)!], v.shape, v.dtype, 'borrowed'));
  }

  private prepare(list: readonly LoweredNode[], into: Dispatch[], layers?: { node: Node; count: number }[]): void {
    const tensorOf = (v: Value): GpuTensor => this.tensors.get(v.id)!;
    for (const { node, lowered } of list) {
      try {
        const made = lowered.prepare(this.ctx, tensorOf, node.outputs.map(tensorOf));
        into.push(...made);
        if (made.length > 0) layers?.push({ node, count: made.length });
      } catch (e) {
        throw new Error(`layer ${node.name}: ${(e as Error).message}`);
      }
    }
  }

  /** GPU bytes of the activations and inputs, and of the kernels' uniforms and scratch. */
  get bytes(): { activations: number; kernels: number } {
    return {
      activations: bufferBytes(this.slots) + bufferBytes([...this.inputBuffers.values()].map((t) => t.buffer)),
      kernels: bufferBytes([...this.deriveDispatches, ...this.dispatches].flatMap((d) => [d.uniformBuffer, ...(d.ownedBuffers ?? [])])),
    };
  }

  release(): void {
    for (const d of [...this.deriveDispatches, ...this.dispatches]) disposeDispatch(this.ctx, d);
    for (const b of this.slots) this.ctx.destroyBuffer(b);
    for (const t of this.inputBuffers.values()) this.ctx.destroyBuffer(t.buffer);
  }
}
