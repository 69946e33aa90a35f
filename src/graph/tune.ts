// Per-adapter tuning of a graph's kernels: for every layer shape with choices that this adapter
// has not measured yet, time each candidate on the adapter and keep the fastest
// (src/gpu/tuning.ts stores the choice). What has choices is each op definition's business
// (`tunable`, src/graph/ops): the kernel families describe their candidates (src/kernels/tuning.ts).
//
// A candidate is timed on its own layer shape, with random data and no epilogue (the epilogue
// is the same for every candidate), as `reps` back-to-back dispatches in one compute pass, after
// one warm-up that compiles its pipeline (compilation is not counted). GPU timestamps time the
// pass where the context has them; otherwise the host clock times submit-to-done. The default
// variant is timed first, so a budget that runs out still leaves a choice no slower than it.
import type { GpuContext } from '../gpu/context.js';
import { type Dispatch, disposeDispatch, encodeDispatches } from '../gpu/dispatch.js';
import { type GpuTensor, createTensor, writeTensor } from '../gpu/tensor.js';
import { WorkTimer } from '../gpu/work-timer.js';
import type { TuneEntry } from '../gpu/tuning.js';
import type { TunableLayer as KernelChoices } from '../kernels/tuning.js';
import type { Graph } from './ir.js';
import { opDef } from './ops/registry.js';

export interface TuneOptions {
  /** Stop timing new candidates after this long (the layer being timed finishes its candidate). Default 60 s. */
  budgetMs?: number;
  /** Told after each layer shape. */
  onLayer?(done: TunedLayer, index: number, total: number): void;
  /** Time candidates again even where a choice is stored. */
  retune?: boolean;
}

export interface TunedLayer {
  kernel: string;
  shape: string;
  /** Layers of the graph with this shape. */
  layers: string[];
  /** Candidates in the space (entry.timed of them were timed before the budget ran out). */
  candidates: number;
  entry: TuneEntry;
  /** Milliseconds per run of each candidate timed, by name. */
  times: Record<string, number>;
}

export interface TuneReport {
  tuned: TunedLayer[];
  /** Shapes already measured (not timed again). */
  cached: number;
  /** Shapes left untuned when the budget ran out. */
  skipped: number;
  ms: number;
}

/** One layer shape with choices, and the graph's layers of that shape. */
type TunableLayer = KernelChoices & { names: string[] };

/** The graph's layers with kernel choices on `ctx`, one per kernel family and shape key, in graph order. */
function tunableLayers(ctx: GpuContext, graph: Graph): TunableLayer[] {
  const byKey = new Map<string, TunableLayer>();
  for (const n of graph.nodes) {
    const layer = opDef(n.op).tunable?.(n.op, ctx);
    if (!layer) continue;
    const known = byKey.get(`${layer.kernel}/${layer.shape}`);
    if (known) known.names.push(n.name);
    else byKey.set(`${layer.kernel}/${layer.shape}`, { ...layer, names: [n.name] });
  }
  return [...byKey.values()];
}

/**
 * Milliseconds per run of `dispatches`, `reps` times in one pass. The host sleeps through most
 * of the pass (`timer`, taught by the calls before) instead of polling: on a software adapter a
 * polling host takes a core from the kernels it times, which measured them up to 2x slow and
 * favoured the wrong variants.
 */
async function timePass(ctx: GpuContext, dispatches: readonly Dispatch[], reps: number, timer: WorkTimer): Promise<number> {
  const querySet = ctx.hasTimestamps ? ctx.device.createQuerySet({ type: 'timestamp', count: 2 }) : null;
  const resolve = querySet ? ctx.createBuffer(16, GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC, 'tune:resolve') : null;
  const staging = querySet ? ctx.createBuffer(16, GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST, 'tune:staging') : null;
  try {
    return await ctx.checked('tuning', async () => {
      const encoder = ctx.device.createCommandEncoder({ label: 'tune' });
      const pass = encoder.beginComputePass(querySet ? { timestampWrites: { querySet, beginningOfPassWriteIndex: 0, endOfPassWriteIndex: 1 } } : {});
      for (let r = 0; r < reps; r++) encodeDispatches(pass, dispatches);
      pass.end();
      if (querySet) {
        encoder.resolveQuerySet(querySet, 0, 2, resolve!, 0);
        encoder.copyBufferToBuffer(resolve!, 0, staging!, 0, 16);
      }
      const t0 = performance.now();
      await ctx.submitAndWait([encoder.finish()], timer);
      const hostMs = performance.now() - t0;
      if (!staging) return hostMs / reps;
      await staging.mapAsync(GPUMapMode.READ);
      const t = new BigUint64Array(staging.getMappedRange().slice(0));
      staging.unmap();
      return Number(t[1] - t[0]) / 1e6 / reps;
    });
  } finally {
    querySet?.destroy();
    if (resolve) ctx.destroyBuffer(resolve);
    if (staging) ctx.destroyBuffer(staging);
  }
}

/** A challenger replaces the default only if it is still this much faster when both are timed again. */
const CONFIRM_MARGIN = 0.05;

/** One layer's candidates as timed, and the choice. */
interface LayerTiming {
  times: Map<string, number>;
  /** The fastest candidate, or the default where the fastest did not keep its lead. */
  choice: string;
}

/**
 * Times `candidates` on one layer: best of 2 passes each, stopping early (after at least the
 * first) once `deadline` (performance.now()) has passed. Isolated timings on a shared host are
 * noisy (a core taken for a moment makes one candidate look 2x slow), so the fastest candidate
 * and the default are then timed again, alternating, and the default stays unless the
 * challenger still wins by CONFIRM_MARGIN.
 */
async function timeCandidates(ctx: GpuContext, layer: TunableLayer, deadline: number): Promise<LayerTiming> {
  const tensors: GpuTensor[] = [];
  const times = new Map<string, number>();
  try {
    for (const [i, o] of layer.operands.entries()) {
      const t = createTensor(ctx, o.shape, 'f32', `tune:operand${i}`);
      tensors.push(t);
      if (o.fill) writeTensor(ctx, t, Float32Array.from({ length: t.size }, (_, j) => Math.sin(j) * 0.5));
    }
    /** Best of `trials` passes of one candidate (after a warm-up that compiles it). */
    const time = async (c: TunableLayer['candidates'][number], trials: number): Promise<number> => {
      const dispatches = await ctx.checked(`tuning ${layer.names[0]}`, () => c.prepare(ctx, tensors));
      try {
        const timer = new WorkTimer();
        const first = await timePass(ctx, dispatches, 1, timer); // warm-up: pipeline compiled, caches filled
        // Enough repetitions for ~20 ms of work (at least 1, at most 50); the first timed pass
        // teaches the timer how long a pass of them takes.
        const reps = Math.max(1, Math.min(50, Math.round(20 / Math.max(first, 0.01))));
        await timePass(ctx, dispatches, reps, timer);
        let best = Infinity;
        for (let trial = 0; trial < trials; trial++) best = Math.min(best, await timePass(ctx, dispatches, reps, timer));
        return best;
      } finally {
        for (const d of dispatches) disposeDispatch(ctx, d);
      }
    };
    for (const c of layer.candidates) {
      if (times.size > 0 && performance.now() > deadline) break;
      times.set(c.name, await time(c, 2));
    }
    const fastest = [...times].reduce((best, t) => (t[1] < best[1] ? t : best))[0];
    const byDefault = layer.candidates[0];
    if (fastest === byDefault.name) return { times, choice: fastest };
    const challenger = layer.candidates.find((c) => c.name === fastest)!;
    let [defaultMs, challengerMs] = [Infinity, Infinity];
    for (let round = 0; round < 2; round++) {
      defaultMs = Math.min(defaultMs, await time(byDefault, 1));
      challengerMs = Math.min(challengerMs, await time(challenger, 1));
    }
    // The record keeps the better of each one's timings.
    times.set(byDefault.name, Math.min(times.get(byDefault.name)!, defaultMs));
    times.set(fastest, Math.min(times.get(fastest)!, challengerMs));
    return { times, choice: challengerMs < defaultMs * (1 - CONFIRM_MARGIN) ? fastest : byDefault.name };
  } finally {
    for (const t of tensors) t.dispose();
  }
}

/**
 * Times the candidates of every tunable layer shape of `graph` with choices that `ctx` has no
 * stored choice for, stores the fastest of each, and saves the store. The context's tuning mode
 * is not consulted: this is what mode 'full' and `deeplab tune` call.
 */
export async function tuneGraph(ctx: GpuContext, graph: Graph, opts: TuneOptions = {}): Promise<TuneReport> {
  const start = performance.now();
  const deadline = start + (opts.budgetMs ?? 60_000);
  const layers = tunableLayers(ctx, graph);
  const report: TuneReport = { tuned: [], cached: 0, skipped: 0, ms: 0 };
  for (const [i, layer] of layers.entries()) {
    const { checksum, candidates } = layer;
    const stored = ctx.tuning.entry(layer.kernel, layer.shape);
    // A layer whose timing a budget cut short is timed again, whole.
    if (!opts.retune && stored && stored.checksum === checksum && stored.timed === candidates.length) {
      report.cached++;
      continue;
    }
    if (performance.now() > deadline) {
      report.skipped++;
      continue;
    }
    const { times, choice } = await timeCandidates(ctx, layer, deadline);
    const entry: TuneEntry = { variant: choice, ms: times.get(choice)!, defaultMs: times.get(candidates[0].name)!, timed: times.size, checksum };
    ctx.tuning.record(layer.kernel, layer.shape, entry);
    const tuned = { kernel: layer.kernel, shape: layer.shape, layers: layer.names, candidates: candidates.length, entry, times: Object.fromEntries(times) };
    report.tuned.push(tuned);
    opts.onLayer?.(tuned, i, layers.length);
  }
  await ctx.tuning.save();
  report.ms = performance.now() - start;
  return report;
}
