// Gradient checking against central finite differences in float64.
//
// A backward rule is checked through a scalar probe loss L(x) = sum(f(x) * r) with a fixed
// random r: dL/df = r, so the analytic gradient is the backward rule applied to r, and the
// numeric one perturbs x one element at a time. The forward must be computed in float64 (the
// CPU references accept Float64Array for this), so a step of 1e-6 leaves ~1e-9 error.
import { expect } from 'chai';
import { relativeError } from '../src/util/relative-error.js';
import { rng } from './helpers.js';

/** The step numericGradient takes each way. */
export const GRADCHECK_STEP = 1e-6;

/**
 * `n` values in [lo, hi), no two within (hi - lo) / (2n) of each other (evenly spaced levels,
 * jittered by at most a quarter of their spacing, in random order): inputs for an op with a kink
 * where two inputs meet (a max window, a sort). Uniform random values would put two of them
 * within a central difference's step now and then, and the difference would then measure the
 * kink, not the gradient.
 */
export function separatedValues(n: number, lo = -1, hi = 1, r: () => number = rng()): Float64Array {
  const spacing = (hi - lo) / n;
  if (spacing / 2 <= 4 * GRADCHECK_STEP) throw new Error(`separatedValues: ${n} values in [${lo}, ${hi}) cannot stay ${8 * GRADCHECK_STEP} apart`);
  const levels = Float64Array.from({ length: n }, (_, i) => lo + spacing * (i + 0.5 + (r() - 0.5) / 2));
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [levels[i], levels[j]] = [levels[j], levels[i]];
  }
  return levels;
}

/** Central differences of a scalar function: (f(x + h e_i) - f(x - h e_i)) / 2h for each i. */
export function numericGradient(f: (x: Float64Array) => number, x: Float64Array, h = GRADCHECK_STEP): Float64Array {
  const g = new Float64Array(x.length);
  const probe = Float64Array.from(x);
  for (let i = 0; i < x.length; i++) {
    probe[i] = x[i] + h;
    const up = f(probe);
    probe[i] = x[i] - h;
    const down = f(probe);
    probe[i] = x[i];
    g[i] = (up - down) / (2 * h);
  }
  return g;
}

/** sum(a * b) in float64. */
export function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`dot: lengths differ (${a.length} vs ${b.length})`);
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

/** Float64 copy of any numeric array. */
export function f64(a: ArrayLike<number>): Float64Array {
  return Float64Array.from(a as ArrayLike<number>);
}

/** Tolerance for analytic vs. numeric gradients, both in float64. */
export const GRADCHECK_TOLERANCE = 1e-6;

/**
 * Checks an analytic gradient against central differences of `forward` under the probe loss
 * sum(forward(x) * r): `analytic` must be d(probe)/dx.
 */
export function expectGradient(
  forward: (x: Float64Array) => ArrayLike<number>,
  x: Float64Array,
  r: ArrayLike<number>,
  analytic: ArrayLike<number>,
  what: string,
  tol = GRADCHECK_TOLERANCE,
): void {
  const numeric = numericGradient((v) => dot(forward(v), r), x);
  expect(analytic.length, `${what}: gradient length`).to.equal(x.length);
  const err = relativeError(analytic, numeric);
  expect(err, `${what}: analytic vs central differences, relative error ${err} (tolerance ${tol})`).to.be.lessThan(tol);
}
