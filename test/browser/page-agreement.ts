// Which logits of a page's segment() result are compared with Node's for the same model and image:
// those of every LOGIT_STRIDE-th pixel across and down (all of them would be megabytes through the
// browser's protocol), by helpers' relativeError; the class maps by helpers' classAgreement.

/** The logits compared: those of every STRIDE-th pixel across and down. */
export const LOGIT_STRIDE = 4;

/** The logits of every stride-th pixel of an [h, w, c] map (the pages pick them the same way). */
export function strided(logits: ArrayLike<number>, width: number, height: number, classes: number, stride = LOGIT_STRIDE): number[] {
  const out: number[] = [];
  for (let y = 0; y < height; y += stride) for (let x = 0; x < width; x += stride) for (let c = 0; c < classes; c++) out.push(logits[(y * width + x) * classes + c]);
  return out;
}
