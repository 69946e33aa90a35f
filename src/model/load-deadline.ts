// Tuning as a deadline on the whole load (the page's `loadModel(..., { tune: 'full' })`): the
// model's program is compiled first with what is stored (a working model, and how long compiling
// takes here), the kernel candidates are timed with what is left, and the program is compiled
// again with the new choices only if that still ends by the deadline. Compiling again costs at
// most what the first compile did (the chosen candidates' pipelines were compiled while timing
// them), so the tuning's own budget is what is left less the first compile's time.
import type { GpuContext } from '../gpu/context.js';
import type { Graph } from '../graph/ir.js';
import { type TuneReport, tuneGraph } from '../graph/tune.js';

/** What storing the choices and the tuner's last candidate may take past its budget, kept free. */
const DEADLINE_MARGIN_MS = 250;

export interface DeadlineLoad {
  /** Tuning's report (every layer shape skipped where no time was left). */
  report: TuneReport;
  /** Whether the program was compiled again with new choices. */
  recompiled: boolean;
}

/**
 * Compiles through `compile` (with the stored choices), tunes `graph` within what is left before
 * `deadline` (performance.now()), and recompiles through `recompile` if a choice changed and it
 * fits. The context's tuning mode is 'full' before and after; compiles inside run with 'cached'.
 */
export async function compileWithinDeadline(
  ctx: GpuContext,
  deadline: number,
  graph: () => Graph,
  compile: () => Promise<unknown>,
  recompile: () => Promise<unknown>,
): Promise<DeadlineLoad> {
  const cached = <T>(work: () => Promise<T>): Promise<T> => withTuneMode(ctx, 'cached', work);
  const t0 = performance.now();
  await cached(compile);
  const compileMs = performance.now() - t0;
  // With no time left the budget is negative: every shape is skipped (and with tuning once,
  // stored at its default, so the next load times nothing either).
  const budgetMs = Math.max(-1, deadline - performance.now() - compileMs - DEADLINE_MARGIN_MS);
  const report = await tuneGraph(ctx, graph(), { budgetMs });
  // The first time recorded for a layer is its default's (src/graph/tune.ts times it first).
  const changed = report.tuned.some((l) => l.entry.variant !== Object.keys(l.times)[0]);
  if (!changed || performance.now() + compileMs > deadline) return { report, recompiled: false };
  await cached(recompile);
  return { report, recompiled: true };
}

async function withTuneMode<T>(ctx: GpuContext, mode: 'cached', work: () => Promise<T>): Promise<T> {
  const before = ctx.tuning.mode;
  await ctx.tuning.setMode(mode);
  try {
    return await work();
  } finally {
    await ctx.tuning.setMode(before);
  }
}
