// Per-adapter tuning of a graph's kernels: for every layer shape with choices that this adapter
// has not measured yet in the layer's precision, time each candidate on the adapter and keep the
// fastest (src/gpu/tuning.ts stores the choice under the family, the shape and the precision).
// What has choices is each op definition's business (`tunable`, src/graph/ops): the kernel
// families describe their candidates (src/kernels/tuning.ts, src/kernels/precision.ts).
//
// A candidate is timed on its own layer shape, with random data and no epilogue (the epilogue
// is the same for every candidate), as `reps` back-to-back dispatches in one compute pass, after
// one warm-up that compiles its pipeline (compilation is not counted). GPU timestamps time the
// pass where the context has them; otherwise the host clock times submit-to-done.
//
// Within a budget, the time goes where it pays: layer shapes are tuned in order of their work
// (FLOPs, times the layers of that shape), each timing its default first (so a budget that runs
// out still leaves a choice no slower than it), then its candidates in the space's order (most
// promising first), stopping after `patience` candidates in a row no faster than its best, or
// when the next one would overrun the budget.
//
// A candidate that trades accuracy for speed (f16 accumulation) carries the relative error it is
// allowed: it is run once against the default's output on the same operands first, and one
// outside it is set aside untimed (TunedLayer.rejected), so no stored choice ever fails its check.
import type { GpuContext } from '../gpu/context.js';
import { type Precision, type TuneEntry, tuneKeyName } from '../gpu/tuning.js';
import type { TunableLayer } from '../kernels/tuning.js';
import type { Graph } from './ir.js';
import { opDef } from './ops/registry.js';
import { type CandidateBench, LayerBench, type ShapeToTune } from './tune-bench.js';

export interface TuneOptions {
  /** Stop timing new candidates after this long. Default: the context's (ctx.tuning.budgetMs, 60 s). */
  budgetMs?: number;
  /**
   * Stop a layer after this many candidates in a row no faster than its best so far. Default:
   * the context's (ctx.tuning.patience: every candidate).
   */
  patience?: number;
  /** Told after each layer shape. */
  onLayer?(done: TunedLayer, index: number, total: number): void;
  /** Time candidates again even where a choice is stored. */
  retune?: boolean;
  /**
   * Tune once: layer shapes the budget does not reach keep their default for good (stored as
   * settled, not timed), so later compiles time nothing (the page's quick tuning). Default:
   * the context's (ctx.tuning.once: left for a later call).
   */
  once?: boolean;
  /**
   * Cancels tuning: checked before each layer shape and each candidate; an abort rejects with the
   * signal's reason, the layer shapes finished before it stored (and saved), the one under way not.
   */
  signal?: AbortSignal;
}

export interface TunedLayer {
  kernel: string;
  shape: string;
  precision: Precision;
  /** Layers of the graph with this shape. */
  layers: string[];
  /** Candidates in the space (entry.timed of them were timed before the budget ran out). */
  candidates: number;
  entry: TuneEntry;
  /** Milliseconds per run of each candidate timed, by name. */
  times: Record<string, number>;
  /** Candidates set aside untimed by their accuracy check: their relative error against the default's output. */
  rejected?: Record<string, number>;
}

export interface TuneReport {
  tuned: TunedLayer[];
  /** Shapes already measured (not timed again). */
  cached: number;
  /** Shapes left untuned when the budget ran out. */
  skipped: number;
  ms: number;
}


/** The graph's layers with kernel choices on `ctx`, one per tuning key (family, shape and precision), in graph order. */
function shapesToTune(ctx: GpuContext, graph: Graph): ShapeToTune[] {
  const byKey = new Map<string, ShapeToTune>();
  for (const n of graph.nodes) {
    const def = opDef(n.op);
    const layer = def.tunable?.(n.op, ctx);
    if (!layer) continue;
    const flops = def.cost(n.op, n.outputs).flops;
    const key = tuneKeyName(layer);
    const known = byKey.get(key);
    if (known) {
      known.names.push(n.name);
      known.flops += flops;
    } else byKey.set(key, { ...layer, names: [n.name], flops });
  }
  return [...byKey.values()];
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
 * Times one layer's candidates after its default (timed already: `defaultMs`), in the space's
 * order: best of `trials` passes each, stopping after `patience` in a row no faster than the best so
 * far, or when the next candidate would end past `deadline` (on the bench's clock). Isolated
 * timings on a shared host are noisy (a core taken for a moment makes one candidate look 2x
 * slow), so the fastest candidate and the default are then timed again, alternating, and the
 * default stays unless the challenger still wins by CONFIRM_MARGIN. `complete`: whether the
 * layer's timing ended by its own rule (every candidate, or patience), not by the budget.
 * Exported for its tests, which time stand-in candidates.
 */
export async function timeCandidates(
  bench: CandidateBench,
  layer: Pick<TunableLayer, 'candidates'>,
  timed: { defaultMs: number; cost: number },
  deadline: number,
  patience: number,
  trials: number,
  signal?: AbortSignal,
): Promise<LayerTiming & { complete: boolean; rejected: Map<string, number> }> {
  const now = (): number => bench.now?.() ?? performance.now();
  const byDefault = layer.candidates[0];
  const times = new Map<string, number>([[byDefault.name, timed.defaultMs]]);
  const rejected = new Map<string, number>();
  let best = timed.defaultMs;
  let sinceBest = 0;
  // What timing a candidate costs (compile and passes), from the last one: the next starts only
  // if it would end within the budget.
  let lastCost = timed.cost;
  let complete = true;
  for (const c of layer.candidates.slice(1)) {
    signal?.throwIfAborted();
    if (sinceBest >= patience) break;
    if (now() + lastCost > deadline) {
      complete = false;
      break;
    }
    const t0 = now();
    if (c.accuracy !== undefined) {
      // Checked before it is timed: a candidate outside its accuracy is never chosen.
      const error = await bench.error(c);
      if (error === null || !(error < c.accuracy)) {
        rejected.set(c.name, error ?? NaN);
        continue;
      }
    }
    const ms = await bench.time(c, trials);
    lastCost = now() - t0;
    times.set(c.name, ms);
    if (ms < best) [best, sinceBest] = [ms, 0];
    else sinceBest++;
  }
  const fastest = [...times].reduce((a, t) => (t[1] < a[1] ? t : a))[0];
  if (fastest === byDefault.name) return { times, choice: fastest, complete, rejected };
  // No budget left to confirm: the challenger must have won by twice the margin alone.
  if (now() + 2 * lastCost > deadline) {
    return { times, choice: times.get(fastest)! < timed.defaultMs * (1 - 2 * CONFIRM_MARGIN) ? fastest : byDefault.name, complete, rejected };
  }
  const challenger = layer.candidates.find((c) => c.name === fastest)!;
  let [againDefault, againChallenger] = [Infinity, Infinity];
  for (let round = 0; round < 2; round++) {
    againDefault = Math.min(againDefault, await bench.time(byDefault, 1));
    againChallenger = Math.min(againChallenger, await bench.time(challenger, 1));
  }
  // The record keeps the better of each one's timings.
  times.set(byDefault.name, Math.min(times.get(byDefault.name)!, againDefault));
  times.set(fastest, Math.min(times.get(fastest)!, againChallenger));
  return { times, choice: againChallenger < againDefault * (1 - CONFIRM_MARGIN) ? fastest : byDefault.name, complete, rejected };
}

/**
 * The relative error of `layer`'s candidate `name` against its default on the tuner's operands:
 * the accuracy check the tuner runs before timing a candidate that carries one. Null where the
 * layer names no output to compare.
 */
export async function candidateError(ctx: GpuContext, layer: TunableLayer, name: string): Promise<number | null> {
  const candidate = layer.candidates.find((c) => c.name === name);
  if (!candidate) throw new Error(`${layer.kernel} ${layer.shape}: no candidate ${name}`);
  const bench = new LayerBench(ctx, { ...layer, names: [layer.shape], flops: 0 });
  try {
    return await bench.error(candidate);
  } finally {
    bench.dispose();
  }
}

/**
 * Times the candidates of every tunable layer shape of `graph` with choices that `ctx` has no
 * stored choice for, within the budget, stores the fastest of each, and saves the store. The
 * context's tuning mode is not consulted: this is what mode 'full' and `deeplab tune` call.
 */
export async function tuneGraph(ctx: GpuContext, graph: Graph, opts: TuneOptions = {}): Promise<TuneReport> {
  const start = performance.now();
  const deadline = start + (opts.budgetMs ?? ctx.tuning.budgetMs);
  const patience = opts.patience ?? ctx.tuning.patience;
  const once = opts.once ?? ctx.tuning.once;
  // A tuner in a hurry (a finite patience) takes one timed pass a candidate, not the best of two.
  const trials = Number.isFinite(patience) ? 1 : 2;
  const report: TuneReport = { tuned: [], cached: 0, skipped: 0, ms: 0 };
  // A layer whose timing a budget cut short is timed again.
  const todo = shapesToTune(ctx, graph).filter((layer) => {
    const cached = !opts.retune && ctx.tuning.settled(layer, layer.checksum, layer.candidates.length);
    if (cached) report.cached++;
    return !cached;
  });
  // The layer shapes with the most work first.
  const order = [...todo].sort((a, b) => b.flops - a.flops);
  // What timing a layer's default cost (compile and passes), to judge whether the next fits.
  let lastDefaultCost = 0;
  try {
    await tuneLayers();
  } finally {
    // What was finished is kept, cancelled or not.
    await ctx.tuning.save();
  }
  report.ms = performance.now() - start;
  return report;

  async function tuneLayers(): Promise<void> {
    for (const [i, layer] of order.entries()) {
      opts.signal?.throwIfAborted();
      if (performance.now() + lastDefaultCost > deadline) {
        report.skipped++;
        // Tuning once: the default stays, and later compiles time nothing.
        if (once) ctx.tuning.record(layer, { variant: layer.candidates[0].name, ms: 0, defaultMs: 0, timed: 0, checksum: layer.checksum, settled: true });
        continue;
      }
      const bench = new LayerBench(ctx, layer);
      try {
        const t0 = performance.now();
        const defaultMs = await bench.time(layer.candidates[0], trials);
        lastDefaultCost = performance.now() - t0;
        const { times, choice, complete, rejected } = await timeCandidates(bench, layer, { defaultMs, cost: lastDefaultCost }, deadline, patience, trials, opts.signal);
        const entry: TuneEntry = {
          variant: choice,
          ms: times.get(choice)!,
          defaultMs: times.get(layer.candidates[0].name)!,
          timed: times.size + rejected.size,
          checksum: layer.checksum,
          settled: complete || once,
        };
        ctx.tuning.record(layer, entry);
        const tuned: TunedLayer = { kernel: layer.kernel, shape: layer.shape, precision: layer.precision, layers: layer.names, candidates: layer.candidates.length, entry, times: Object.fromEntries(times) };
        if (rejected.size) tuned.rejected = Object.fromEntries(rejected);
        report.tuned.push(tuned);
        opts.onLayer?.(tuned, i, order.length);
      } finally {
        bench.dispose();
      }
    }
  }
}
