// How two engines agree: the share of pixels given the same class, from their logits or their
// class maps. No Node module is
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

/** Fraction of pixels given the same class by two class maps of one image (row-major, one class index a pixel). */
export function labelAgreement(a: Uint8Array, b: Uint8Array): number {
  if (a.length !== b.length) throw new Error(`labelAgreement: class maps of ${a.length} and ${b.length} pixels`);
  let same = 0;
  for (let i = 0; i < a.length; i++) if (a[i] === b[i]) same++;
  return same / a.length;
}
