// What the normalisations' CPU references share (layer norm over a row, group norm over a batch
// item): the eps check, the mean and reciprocal deviation of a contiguous run of values, and the
// check of each array's length (per channel, or one per input value).
import { type Shape, numel, shapeString } from '../gpu/tensor.js';
import type { FloatArray } from './cpu-arrays.js';

export function checkEps(eps: number, kernel: string): void {
  if (!Number.isFinite(eps) || eps < 0) throw new Error(`${kernel}: eps must be a finite number >= 0, got ${eps}`);
}

/** The mean of x[start, start + count) and 1 / sqrt(var + eps), the variance about the mean (two passes). */
export function meanAndRstd(x: FloatArray, start: number, count: number, eps: number): [number, number] {
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
