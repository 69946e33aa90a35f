// Evening out rare classes: the loss weighted by inverse class frequency, and the classes whose
// images bootstrapping repeats.
import type { Dataset } from '../data/dataset.js';

/** Median-frequency balancing: w_c = median(freq) / freq_c over the classes present. */
export function medianFrequencyWeights(data: Dataset, readCounts: (path: string) => Uint8Array): Float32Array {
  const C = data.classes.names.length;
  const counts = new Float64Array(C);
  for (const item of data.items) for (const v of readCounts(item.labelPath)) if (v < C) counts[v]++;
  const total = counts.reduce((a, b) => a + b, 0);
  const freqs = [...counts].map((c) => c / total);
  const present = freqs.filter((f) => f > 0).sort((a, b) => a - b);
  const median = present[Math.floor(present.length / 2)];
  return Float32Array.from(freqs, (f) => (f > 0 ? median / f : 0));
}

/** Class ids from ids or names; an unknown one is an error listing the classes. */
export function classIds(classes: readonly (number | string)[], names: readonly string[]): number[] {
  return classes.map((c) => {
    const id = typeof c === 'number' ? c : names.indexOf(c);
    if (!Number.isInteger(id) || id < 0 || id >= names.length) throw new Error(`bootstrapping: no class '${c}' (classes: ${names.join(', ')})`);
    return id;
  });
}
