// Visualising a prediction: the class colours blended over the photo (any platform).
import type { RgbImage } from './rgb-image.js';

/**
 * Each pixel of class c != 0 becomes round((1 - alpha) * photo + alpha * palette[c]);
 * background (class 0) stays the photo so the scene remains readable.
 */
export function overlayPalette(img: RgbImage, classes: Uint8Array, palette: Uint8Array, alpha = 0.5): RgbImage {
  const fn = 'overlayPalette';
  const n = img.width * img.height;
  if (img.data.length !== 3 * n) throw new Error(`${fn}: image data has ${img.data.length} bytes, expected ${img.width}x${img.height}x3`);
  if (classes.length !== n) {
    throw new Error(`${fn}: classes has ${classes.length} values, the image is ${img.width}x${img.height} = ${n} pixels`);
  }
  if (palette.length === 0 || palette.length % 3 !== 0) throw new Error(`${fn}: palette must be RGB triples, got ${palette.length} bytes`);
  if (!(alpha >= 0 && alpha <= 1)) throw new Error(`${fn}: alpha must be in [0, 1], got ${alpha}`);
  const entries = palette.length / 3;
  const out = new Uint8Array(img.data);
  for (let i = 0; i < n; i++) {
    const c = classes[i];
    if (c === 0) continue;
    if (c >= entries) throw new Error(`${fn}: class ${c} at pixel ${i} is outside the ${entries}-entry palette`);
    for (let ch = 0; ch < 3; ch++) {
      out[3 * i + ch] = Math.round((1 - alpha) * img.data[3 * i + ch] + alpha * palette[3 * c + ch]);
    }
  }
  return { width: img.width, height: img.height, data: out };
}
