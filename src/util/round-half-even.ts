/** Round half to even (IEEE 754's default rounding to an integer; NumPy's round, Python 3's round, WGSL's round). */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}
