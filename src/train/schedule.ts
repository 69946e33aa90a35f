// The learning rate of each step: the paper's "poly" policy, lr = base * (1 - step / max) ^ 0.9,
// optionally after a linear warm-up (which keeps small batches from diverging early).

export interface ScheduleOptions {
  baseLr: number;
  /** Total optimizer steps (the poly schedule reaches 0 there). */
  steps: number;
  /** Poly exponent (the paper's 0.9). */
  power?: number;
  /** Steps of linear warm-up from ~0 to the poly value (default 0). */
  warmup?: number;
}

export function checkSchedule(o: ScheduleOptions): void {
  if (!(o.baseLr > 0) || !Number.isFinite(o.baseLr)) throw new Error(`learning rate must be a positive number, got ${o.baseLr}`);
  if (!Number.isInteger(o.steps) || o.steps < 1) throw new Error(`steps must be a positive integer, got ${o.steps}`);
  const warmup = o.warmup ?? 0;
  if (!Number.isInteger(warmup) || warmup < 0 || warmup >= o.steps) throw new Error(`warm-up must be an integer in [0, steps), got ${warmup}`);
  if (o.power !== undefined && !(o.power > 0)) throw new Error(`poly power must be positive, got ${o.power}`);
}

/** The learning rate of optimizer step `step` (0-based). */
export function learningRate(o: ScheduleOptions, step: number): number {
  const poly = o.baseLr * Math.pow(1 - step / o.steps, o.power ?? 0.9);
  const warmup = o.warmup ?? 0;
  return step < warmup ? (poly * (step + 1)) / (warmup + 1) : poly;
}
