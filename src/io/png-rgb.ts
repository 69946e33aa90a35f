// RGB PNG encoding (Node: pngjs), for overlays written to files.
import pngjs from 'pngjs';
import type { RgbImage } from './rgb-image.js';

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
