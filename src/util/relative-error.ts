// ‖out − ref‖ / ‖ref‖: the one accuracy measure of the project (tests, parity checks, benchmarks).

/** Relative L2 error; NaN or Inf anywhere in `out` gives Infinity; an all-zero `ref` gives ‖out‖. */
export function relativeError(out: ArrayLike<number>, ref: ArrayLike<number>): number {
  if (out.length !== ref.length) throw new Error(`relativeError: length mismatch ${out.length} vs ${ref.length}`);
  let num = 0;
  let den = 0;
  for (let i = 0; i < ref.length; i++) {
    const o = out[i];
    if (!Number.isFinite(o)) return Infinity;
    const d = o - ref[i];
    num += d * d;
    den += ref[i] * ref[i];
  }
  return den === 0 ? Math.sqrt(num) : Math.sqrt(num / den);
}
