// From a graph to its kernels on one adapter, before a Program allocates anything: the graph's
// order checked, every tensor checked bindable, the adapter checks its ops ask for run, the
// kernel choices tuned (tuning mode 'full'), each node lowered to its kernels (half-precision
// variants where it binds f16) and every pipeline compiled. Program.create runs it first; what
// it returns is what the program prepares dispatches from.
import type { GpuContext } from '../gpu/context.js';
import type { KernelSpec } from '../gpu/pipeline-cache.js';
import { checkBindable, shapeString, tensorBytes } from '../gpu/tensor.js';
import type { CompiledGraph, Graph, Node } from './ir.js';
import type { LoweredOp } from './ops/op-def.js';
import { nodeInputs, opDef } from './ops/registry.js';
import { tuneGraph } from './tune.js';

/** A node and its kernels. */
export interface LoweredNode {
  node: Node;
  lowered: LoweredOp;
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
function lowerNodes(ctx: GpuContext, nodes: readonly Node[]): LoweredNode[] {
  return nodes.map((n) => ({ node: n, lowered: halfSpecs(n, opDef(n.op).lower(n.op, n.outputs, ctx)) }));
}

/** Every kernel a program of `compiled` compiles on `ctx` (derive graph included), as lowerForAdapter lowers them. */
export function programKernelSpecs(ctx: GpuContext, compiled: Pick<CompiledGraph, 'graph' | 'derive'>): KernelSpec[] {
  return lowerNodes(ctx, [...(compiled.derive?.nodes ?? []), ...compiled.graph.nodes]).flatMap((l) => l.lowered.specs);
}

/**
 * `graph` (and the `derive` graph of its derived state) lowered for `ctx`, every pipeline
 * compiled; refuses a graph out of order or a tensor the device cannot bind, naming the layer.
 */
export async function lowerForAdapter(
  ctx: GpuContext,
  graph: Graph,
  derive: Graph | null,
  label: string,
): Promise<{ lowered: LoweredNode[]; loweredDerive: LoweredNode[] }> {
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
  await ctx.checked(`${label}: compiling kernels`, () => ctx.pipelines.compile([...loweredDerive, ...lowered].flatMap((l) => l.lowered.specs)));
  return { lowered, loweredDerive };
}
