// Visualising a prediction: the class colours blended over the photo, and RGB PNG encoding.
import pngjs from 'pngjs';
import type { RgbImage } from './image.js';

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

/** An 8-bit RGB (colour type 2) PNG of the image. */
export function encodeRgbPng(img: RgbImage): Uint8Array {
  if (!Number.isInteger(img.width) || !Number.isInteger(img.height) || img.width < 1 || img.height < 1) {
    throw new Error(`encodeRgbPng: image size must be positive integers, got ${img.width}x${img.height}`);
  }
  if (img.data.length !== img.width * img.height * 3) {
    throw new Error(`encodeRgbPng: image data has ${img.data.length} bytes, expected ${img.width}x${img.height}x3`);
  }
  const data = Buffer.from(img.data.buffer, img.data.byteOffset, img.data.length);
  // Same input and output colour type: pngjs writes the RGB bytes as they are.
  const png = pngjs.PNG.sync.write({ width: img.width, height: img.height, data } as pngjs.PNG, {
    colorType: 2,
    inputColorType: 2,
    inputHasAlpha: false,
    bitDepth: 8,
  });
  return new Uint8Array(png.buffer, png.byteOffset, png.length);
}
