// A picture of bands to draw an overlay on: bands 0, 1, 2 as red, green and blue (band 0 as grey
// when there are fewer than three), each stretched from its own minimum to maximum, as GIS viewers
// show a multispectral image by default.
import type { BandArray } from './band-image.js';
import type { RgbImage } from './rgb-image.js';

export function bandPreview(a: BandArray): RgbImage {
  const { width, height, channels, data } = a;
  const pixels = width * height;
  const at = (p: number, c: number): number => data[a.layout === 'planar' ? c * pixels + p : p * channels + c];
  const shown = channels >= 3 ? [0, 1, 2] : [0, 0, 0];
  const out = new Uint8Array(pixels * 3);
  for (const [k, c] of shown.entries()) {
    let lo = Infinity;
    let hi = -Infinity;
    for (let p = 0; p < pixels; p++) {
      lo = Math.min(lo, at(p, c));
      hi = Math.max(hi, at(p, c));
    }
    const scale = hi > lo ? 255 / (hi - lo) : 0;
    for (let p = 0; p < pixels; p++) out[p * 3 + k] = Math.round((at(p, c) - lo) * scale);
  }
  return { width, height, data: out };
}
