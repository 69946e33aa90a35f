// How two engines' logits agree: the share of pixels given the same class. No Node module is
// imported here (the browser bench's page uses it too).

/** Fraction of pixels whose argmax class agrees between two [.., C] logit maps. */
export function argmaxAgreement(a: Float32Array, b: Float32Array, classes: number): number {
  const argmax = (x: Float32Array, base: number): number => {
    let best = 0;
    for (let c = 1; c < classes; c++) if (x[base + c] > x[base + best]) best = c;
    return best;
  };
  const pixels = a.length / classes;
  let same = 0;
  for (let p = 0; p < pixels; p++) if (argmax(a, p * classes) === argmax(b, p * classes)) same++;
  return same / pixels;
}
