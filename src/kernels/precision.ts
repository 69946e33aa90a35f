// Precision, the one place of the f16 rule ("f16 sums only in half programs"). A layer's
// precision (the program's storage type, and the narrowest type its candidates may accumulate
// in: src/gpu/tuning.ts' `Precision`) is a field of its tuning key, so a choice measured in one
// precision never runs in another, and every family makes its candidates for a precision with
// `precisionCandidates`: each kernel variant summing in f32, then, where the precision admits
// f16 sums, each variant whose kernel can sum in f16 once more, summing in f16. Such a candidate
// is named as its f32 twin with an 'h', compiles with `accumulate: 'f16'` (`summing`), and the
// tuner times it only where its output stays within F16_ACCUMULATION_ERROR of the default's.
import type { KernelSpec } from '../gpu/pipeline-cache.js';
import type { FloatType, Precision } from '../gpu/tuning.js';

/**
 * The relative error an f16-accumulating candidate (any family's) may show against the layer's
 * f32-accumulating default on the same f16 operands: eight f16 roundings (u = 2^-11). Summing K
 * random products in f16 errs about u * sqrt(K / 2), so this admits short reductions (depthwise
 * taps, pointwise layers over few channels, attention over a head's channels) and sets aside
 * long ones (3x3 GEMMs over many channels), which keep f32 accumulators.
 */
export const F16_ACCUMULATION_ERROR = 8 * 2 ** -11;

/** The precision of a program whose float tensors are `storage`: f16 sums are admitted where storage is f16. */
export function precisionOf(storage: FloatType): Precision {
  return { storage, accumulate: storage };
}

/** A kernel variant at an accumulation type. */
export interface Summed<V> {
  variant: V;
  accumulate: FloatType;
}

/** A candidate's name from its variant's: 'r16c8l8k1', or 'r16c8l8k1h' summing in f16. */
export function summedName(name: string, accumulate: FloatType): string {
  return accumulate === 'f16' ? `${name}h` : name;
}

/**
 * A family's candidates for a precision, from its kernel variants (valid, the default first):
 * each summing in f32, then, where the precision admits f16 sums, each whose kernel can
 * (`halfSums` names why not, or gives null; absent: no kernel of the family can) summing in f16.
 */
export function precisionCandidates<V>(precision: Precision, variants: readonly V[], halfSums?: (v: V) => string | null): Summed<V>[] {
  const out: Summed<V>[] = variants.map((variant) => ({ variant, accumulate: 'f32' }));
  if (precision.accumulate !== 'f16' || !halfSums) return out;
  for (const variant of variants) if (halfSums(variant) === null) out.push({ variant, accumulate: 'f16' });
  return out;
}

/** The relative error a candidate summing in `accumulate` is allowed against its default's output; undefined where it is as accurate. */
export function accumulationError(accumulate: FloatType): number | undefined {
  return accumulate === 'f16' ? F16_ACCUMULATION_ERROR : undefined;
}

/** A kernel spec summing in `accumulate` (its `acc_t`). */
export function summing(spec: KernelSpec, accumulate: FloatType): KernelSpec {
  return accumulate === 'f16' ? { ...spec, accumulate: 'f16' } : spec;
}

/**
 * Refuses f16 sums asked of a kernel (`what`) on tensors stored as `storage` where they are not
 * admitted, or where its kernel cannot sum in f16 (`problem`, the family's reason).
 */
export function checkAccumulation(what: string, storage: FloatType, accumulate: FloatType, problem: string | null): void {
  if (accumulate !== 'f16') return;
  if (storage !== 'f16') throw new Error(`${what}: f16 sums are for half-precision programs (its tensors are ${storage})`);
  if (problem !== null) throw new Error(`${what}: ${problem}`);
}
