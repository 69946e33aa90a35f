// The family's split policy, for the forward GEMM's split-K and the weight gradient's pixel
// chunks alike: a reduction whose outputs alone give too little parallel work is cut into
// splits, each computed by its own workgroups into a scratch, then summed in order. Each kernel
// gives its own figures (the work it wants in flight, how many splits at most).

/** `splits` made valid for a reduction of `length` terms: no empty split (as many as chunks of ceil(length / splits) cover). */
export function normaliseSplits(length: number, splits: number): number {
  if (splits < 2) return 1;
  return Math.ceil(length / Math.ceil(length / Math.min(splits, length)));
}

/**
 * Splits of a reduction of `length` terms whose outputs give `parallel` units of work: enough to
 * reach `target` units, within every one of `limits` (the kernel's caps: splits at most, terms a
 * split at least, scratch at most), at least 1, none empty.
 */
export function reductionSplits(length: number, parallel: number, target: number, ...limits: number[]): number {
  return normaliseSplits(length, Math.max(1, Math.min(Math.ceil(target / parallel), ...limits)));
}
