// Warm-up until the times settle, then timed rounds, then each engine's median with its spread
// (issue 75). On a GPU the first rounds run while its clocks ramp up (an H100's SM clock went
// from 345 MHz idle to 1980 MHz under load), so a fixed warm-up of a round or two left the ramp
// in the medians, which moved 1.19-1.30x from run to run. Here the warm-up rounds go on, the
// engines alternating as in the timed rounds, until every engine's recent times settle: the
// median of its last SETTLE_WINDOW rounds within SETTLE_TOLERANCE of the median of the
// SETTLE_WINDOW before. A round cap and a time budget stop it where the times never settle (a
// loaded host) or a round takes seconds (a software adapter); the row then says `settled: false`.
import { median } from './common.js';

/** Rounds in each of the two windows the rule compares. */
export const SETTLE_WINDOW = 3;
/** How far apart (relative) the two windows' medians may be. */
export const SETTLE_TOLERANCE = 0.05;

export interface SettleOptions {
  /** Least warm-up rounds (`--warmup`). */
  minRounds: number;
  /**
   * Least warm-up wall time, ms: a kernel of a millisecond settles in a few rounds at the idle
   * clock, before the GPU has raised it, so the warm-up lasts at least this long.
   */
  minMs: number;
  /** Most warm-up rounds. */
  maxRounds: number;
  /** Most warm-up wall time, ms (`--warmup-budget`); `minRounds` are run even past it. */
  budgetMs: number;
}

/** The runner's defaults: `--warmup 1`, `--warmup-budget 10` (3 with `--quick`). */
export function settleDefaults(o: { quick: boolean; warmup?: number; budgetSeconds?: number }): SettleOptions {
  return { minRounds: o.warmup ?? 1, minMs: 1000, maxRounds: 1000, budgetMs: 1000 * (o.budgetSeconds ?? (o.quick ? 3 : 10)) };
}

/** Whether `timesMs` has settled: the median of its last `window` within `tolerance` of the median of the `window` before. */
export function hasSettled(timesMs: readonly number[], window = SETTLE_WINDOW, tolerance = SETTLE_TOLERANCE): boolean {
  if (timesMs.length < 2 * window) return false;
  const last = median(timesMs.slice(-window));
  const before = median(timesMs.slice(-2 * window, -window));
  return Math.abs(last - before) <= tolerance * before;
}

/** The quantile `q` of `xs` (0 to 1), interpolating linearly between the sorted values. */
export function quantile(xs: readonly number[], q: number): number {
  if (!xs.length) throw new Error('quantile: no values');
  const s = [...xs].sort((a, b) => a - b);
  const at = q * (s.length - 1);
  const lo = Math.floor(at);
  return lo + 1 < s.length ? s[lo] + (at - lo) * (s[lo + 1] - s[lo]) : s[lo];
}

/** The median of the timed rounds and their quartiles. */
export interface Spread {
  medianMs: number;
  p25Ms: number;
  p75Ms: number;
}

export function spread(samplesMs: readonly number[]): Spread {
  return { medianMs: median([...samplesMs]), p25Ms: quantile(samplesMs, 0.25), p75Ms: quantile(samplesMs, 0.75) };
}

/** One engine's run, returning the time it reports (GPU timestamps or wall time), in ms. */
export type TimedRun = () => Promise<number>;

export interface Warmup {
  rounds: number;
  /** True when it stopped because every engine's times settled; false: stopped by the round cap or the budget. */
  settled: boolean;
  /** Its wall time. */
  ms: number;
  /** Each engine's warm-up times, round by round. */
  timesMs: number[][];
}

function checkOptions(o: SettleOptions): void {
  const bad = Object.entries(o).filter(([, v]) => !(Number.isFinite(v) && v >= 0));
  if (bad.length) throw new Error(`settle: ${bad.map(([k, v]) => `${k} must be a non-negative number, got ${v}`).join('; ')}`);
  if (!Number.isInteger(o.minRounds) || !Number.isInteger(o.maxRounds)) throw new Error(`settle: minRounds and maxRounds must be integers, got ${o.minRounds} and ${o.maxRounds}`);
}

/** One round: every engine once, in order on even rounds and in reverse on odd ones (so none always runs right after another). */
async function round(engines: readonly TimedRun[], index: number, times: number[][]): Promise<void> {
  const order = engines.map((_, k) => k);
  if (index % 2) order.reverse();
  for (const k of order) times[k].push(await engines[k]());
}

/**
 * Warm-up rounds until every engine's times settle (hasSettled), after at least `minRounds`
 * rounds and `minMs`; at most `maxRounds` rounds and `budgetMs`. `clock` is the wall clock (ms).
 */
export async function warmUp(engines: readonly TimedRun[], o: SettleOptions, clock: () => number = () => performance.now()): Promise<Warmup> {
  checkOptions(o);
  const t0 = clock();
  const timesMs: number[][] = engines.map(() => []);
  for (let rounds = 0; ; ) {
    if (rounds >= o.minRounds) {
      const elapsed = clock() - t0;
      if (elapsed >= o.minMs && timesMs.every((t) => hasSettled(t))) return { rounds, settled: true, ms: elapsed, timesMs };
      if (rounds >= o.maxRounds || elapsed >= o.budgetMs) return { rounds, settled: false, ms: elapsed, timesMs };
    }
    await round(engines, rounds++, timesMs);
  }
}

/** `repeats` timed rounds, each engine once a round, the leading engine swapped every round. */
async function timedRounds(engines: readonly TimedRun[], repeats: number): Promise<number[][]> {
  const times: number[][] = engines.map(() => []);
  for (let i = 0; i < repeats; i++) await round(engines, i, times);
  return times;
}

/** One engine's timed rounds: median, quartiles and samples, and the warm-up before them. */
export interface Settled extends Spread {
  samplesMs: number[];
  warmupRounds: number;
  settled: boolean;
}

/** Warm-up until settled (warmUp), then `repeats` timed rounds: each engine's figures, in the engines' order. */
export async function measureSettled(engines: readonly TimedRun[], repeats: number, o: SettleOptions, clock?: () => number): Promise<Settled[]> {
  if (!Number.isInteger(repeats) || repeats < 1) throw new Error(`settle: repeats must be a positive integer, got ${repeats}`);
  const w = await warmUp(engines, o, clock);
  const times = await timedRounds(engines, repeats);
  return times.map((samplesMs) => ({ ...spread(samplesMs), samplesMs, warmupRounds: w.rounds, settled: w.settled }));
}

/** How a row's warm-up went, for the tables: `settled after 12` or `unsettled after 40`. */
export function describeWarmup(s: { warmupRounds: number; settled: boolean }): string {
  return `${s.settled ? 'settled' : 'unsettled'} after ${s.warmupRounds}`;
}

/** The interquartile spread relative to the median, as a table shows it: `±4 %`. */
export function describeSpread(s: Spread): string {
  return `±${((50 * (s.p75Ms - s.p25Ms)) / s.medianMs).toFixed(0)} %`;
}
