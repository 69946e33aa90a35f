// Undoing PNG's per-row filters (the PNG specification, section 9): each row starts with a filter
// type byte, and a byte is predicted from the bytes one pixel to its left, above, and above-left.
// Shared by the index-map reader and the browser's colour-PNG reader.

/**
 * The filtered scanlines `raw` (height rows of 1 + rowBytes bytes) unfiltered into height rows of
 * rowBytes bytes; `bpp` is the bytes per pixel (at least 1), the distance of the "left" byte.
 */
export function unfilterRows(raw: Uint8Array, rowBytes: number, height: number, bpp: number, context: string): Uint8Array {
  const out = new Uint8Array(rowBytes * height);
  for (let y = 0; y < height; y++) {
    const type = raw[y * (rowBytes + 1)];
    const src = raw.subarray(y * (rowBytes + 1) + 1, (y + 1) * (rowBytes + 1));
    const row = y * rowBytes;
    const prev = row - rowBytes; // previous output row; absent (zeros) for y = 0
    for (let x = 0; x < rowBytes; x++) {
      const a = x >= bpp ? out[row + x - bpp] : 0;
      const b = y > 0 ? out[prev + x] : 0;
      const c = x >= bpp && y > 0 ? out[prev + x - bpp] : 0;
      let pred: number;
      switch (type) {
        case 0:
          pred = 0;
          break;
        case 1:
          pred = a;
          break;
        case 2:
          pred = b;
          break;
        case 3:
          pred = (a + b) >> 1;
          break;
        case 4:
          pred = paeth(a, b, c);
          break;
        default:
          throw new Error(`${context}: corrupt PNG: invalid filter type ${type} on row ${y}`);
      }
      out[row + x] = (src[x] + pred) & 0xff;
    }
  }
  return out;
}

function paeth(a: number, b: number, c: number): number {
  const p = a + b - c;
  const pa = Math.abs(p - a);
  const pb = Math.abs(p - b);
  const pc = Math.abs(p - c);
  if (pa <= pb && pa <= pc) return a;
  return pb <= pc ? b : c;
}
