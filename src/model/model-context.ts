// The GPU context a model is loaded onto, as LoadOptions ask: the caller's (its tuning mode set
// where given) or a new one the model owns, tuning's budget and patience, and the precision
// checked against the adapter's features.
import { GpuContext } from '../gpu/context.js';
import { ensureRuntimeDir } from '../gpu/runtime-dir.js';
import type { LoadOptions, Precision } from './loading/options.js';
import { checkedMemoryBudget } from './memory.js';

/** The context options of loading, and the page's quick tuning. */
export type ContextOptions = Pick<LoadOptions, 'ctx' | 'precision' | 'tune' | 'tuneBudgetMs' | 'memoryBudget' | 'deviceLoss'> & {
  /** The page's: a patience per layer, and tuned once. */
  quickTuning?: { patience: number };
  /** The weights' own precision (LoadedWeights.precision): taken where `precision` is not given and the adapter has shader-f16. */
  weightsPrecision?: Precision;
};

/** A model's GPU context, whether the model owns it, its precision and memory budget. */
export interface ModelContext {
  ctx: GpuContext;
  owned: boolean;
  precision: Precision;
  memoryBudget: number | null;
}

/** A model's context, precision and memory budget; refuses bad options before a device is made. */
export async function modelContext(opts: ContextOptions): Promise<ModelContext> {
  const asked = opts.precision;
  if (asked !== undefined && asked !== 'f32' && asked !== 'f16') throw new Error(`precision must be 'f32' or 'f16', got '${String(asked)}'`);
  const memoryBudget = checkedMemoryBudget(opts.memoryBudget) ?? null;
  if (opts.deviceLoss !== undefined && opts.deviceLoss !== 'recover' && opts.deviceLoss !== 'fail') {
    throw new Error(`deviceLoss must be 'recover' or 'fail', got ${JSON.stringify(opts.deviceLoss)}`);
  }
  const budgetMs = opts.tuneBudgetMs === undefined ? undefined : checkedBudget(opts.tuneBudgetMs);
  ensureRuntimeDir();
  const ctx = opts.ctx ?? (await GpuContext.create({ tune: opts.tune }));
  if (opts.ctx && opts.tune) await ctx.tuning.setMode(opts.tune);
  if (budgetMs !== undefined) ctx.tuning.budgetMs = budgetMs;
  // Quick tuning (the page's): what the budget does not reach keeps its default, so the next
  // load times nothing.
  if (opts.quickTuning) [ctx.tuning.patience, ctx.tuning.once] = [opts.quickTuning.patience, true];
  const precision = asked ?? (opts.weightsPrecision === 'f16' && ctx.hasHalf ? 'f16' : 'f32');
  if (precision === 'f16' && !ctx.hasHalf) {
    if (!opts.ctx) ctx.destroy();
    throw new Error(`precision 'f16' needs the shader-f16 feature, which this adapter lacks (${ctx.adapterInfo.description}); use 'f32'`);
  }
  return { ctx, owned: !opts.ctx, precision, memoryBudget };
}

/** A tuning budget in milliseconds: a non-negative number. */
function checkedBudget(ms: number): number {
  if (typeof ms !== 'number' || !(ms >= 0)) throw new Error(`tuneBudgetMs must be a non-negative number of milliseconds, got ${String(ms)}`);
  return ms;
}
