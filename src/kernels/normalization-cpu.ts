// The normalisations' CPU references (layer norm over a row, group norm over a batch item: both
// normalise contiguous groups of values, then scale and shift per channel, the last axis), and
// what they check: eps, and each array's length (per channel, or one per input value).
import { type Shape, numel, shapeString } from '../gpu/tensor.js';
import { type FloatArray, zerosLike } from './cpu-arrays.js';

export function checkEps(eps: number, kernel: string): void {
  if (!Number.isFinite(eps) || eps < 0) throw new Error(`${kernel}: eps must be a finite number >= 0, got ${eps}`);
}

/** The mean of x[start, start + count) and 1 / sqrt(var + eps), the variance about the mean (two passes). */
function meanAndRstd(x: FloatArray, start: number, count: number, eps: number): [number, number] {
  let sum = 0;
  for (let i = start; i < start + count; i++) sum += x[i];
  const mean = sum / count;
  let squares = 0;
  for (let i = start; i < start + count; i++) squares += (x[i] - mean) ** 2;
  return [mean, 1 / Math.sqrt(squares / count + eps)];
}

/** Each array holds C values if named in `perChannel`, else one per value of `shape`. */
export function checkLengths(kernel: string, shape: Shape, C: number, arrays: Record<string, FloatArray>, perChannel: string[]): void {
  for (const [name, a] of Object.entries(arrays)) {
    const want = perChannel.includes(name) ? C : numel(shape);
    if (a.length !== want) throw new Error(`${kernel}: ${name} has ${a.length} values, expected ${want} (input ${shapeString(shape)})`);
  }
}

/** Each run of `groupSize` values of x normalised (biased variance), then scaled and shifted per channel (index mod C). */
export function normalizeGroupsCpu<T extends FloatArray>(x: T, groupSize: number, C: number, gamma: FloatArray, beta: FloatArray, eps: number): T {
  const out = zerosLike(x, x.length);
  for (let start = 0; start < x.length; start += groupSize) {
    const [mean, rstd] = meanAndRstd(x, start, groupSize, eps);
    for (let i = start; i < start + groupSize; i++) out[i] = (x[i] - mean) * rstd * gamma[i % C] + beta[i % C];
  }
  return out;
}

/** normalizeGroupsCpu's gradients: dx, and dgamma and dbeta summed over every group. */
export function normalizeGroupsGradCpu<T extends FloatArray>(x: T, groupSize: number, C: number, gamma: FloatArray, dy: FloatArray, eps: number): { dx: T; dgamma: T; dbeta: T } {
  const dx = zerosLike(x, x.length);
  const dgamma = zerosLike(x, C);
  const dbeta = zerosLike(x, C);
  for (let start = 0; start < x.length; start += groupSize) {
    const [mean, rstd] = meanAndRstd(x, start, groupSize, eps);
    let meanG = 0;
    let meanGX = 0;
    for (let i = start; i < start + groupSize; i++) {
      const xhat = (x[i] - mean) * rstd;
      meanG += dy[i] * gamma[i % C];
      meanGX += dy[i] * gamma[i % C] * xhat;
      dgamma[i % C] += dy[i] * xhat;
      dbeta[i % C] += dy[i];
    }
    meanG /= groupSize;
    meanGX /= groupSize;
    for (let i = start; i < start + groupSize; i++) dx[i] = rstd * (dy[i] * gamma[i % C] - meanG - (x[i] - mean) * rstd * meanGX);
  }
  return { dx, dgamma, dbeta };
}
