// Class-index maps as PNG files: writing predictions as palette PNGs (each pixel's value is its
// class index; the palette only decides how viewers colour it) and reading VOC ground-truth masks
// as raw sample values, NOT palette colours (255 = void). pngjs always expands palettes to RGBA,
// which loses the indices, hence this small codec of our own for 8-bit single-sample PNGs.
import { deflateZlib, inflateZlib } from './inflate.js';
import { checkImageSize } from './rgb-image.js';
import { PNG_SIGNATURE, joinIdat, makeChunk, parseIhdr, readPngChunks } from './png-chunks.js';
import { unfilterRows } from './png-unfilter.js';

/**
 * A colour-type-3, 8-bit PNG whose pixel values are `indices` (row-major, width*height) and
 * whose PLTE is `palette` (RGB triples; 256*3 bytes for the VOC map). No tRNS: fully opaque.
 */
export function encodeIndexedPng(indices: Uint8Array, width: number, height: number, palette: Uint8Array): Uint8Array {
  const context = 'encodeIndexedPng';
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new Error(`${context}: width and height must be positive integers, got ${width}x${height}`);
  }
  checkImageSize(width, height, context);
  if (indices.length !== width * height) {
    throw new Error(`${context}: indices has ${indices.length} values, expected ${width}x${height} = ${width * height}`);
  }
  if (palette.length === 0 || palette.length % 3 !== 0 || palette.length > 256 * 3) {
    throw new Error(`${context}: palette must hold 1..256 RGB triples, got ${palette.length} bytes`);
  }
  const entries = palette.length / 3;
  let maxIndex = 0;
  for (let i = 0; i < indices.length; i++) if (indices[i] > maxIndex) maxIndex = indices[i];
  if (maxIndex >= entries) throw new Error(`${context}: index ${maxIndex} is outside the ${entries}-entry palette`);

  // Filter type 0 on every row: masks are flat regions that deflate compresses well as they are.
  const raw = new Uint8Array(height * (width + 1));
  for (let y = 0; y < height; y++) raw.set(indices.subarray(y * width, (y + 1) * width), y * (width + 1) + 1);
  const ihdr = new Uint8Array(13);
  const view = new DataView(ihdr.buffer);
  view.setUint32(0, width);
  view.setUint32(4, height);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 3; // palette colour
  const parts = [
    PNG_SIGNATURE,
    makeChunk('IHDR', ihdr),
    makeChunk('PLTE', palette),
    makeChunk('IDAT', deflateZlib(raw)),
    makeChunk('IEND', new Uint8Array(0)),
  ];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/**
 * The raw 8-bit sample values of a palette (colour type 3) or grey (colour type 0) PNG, one
 * byte per pixel, not expanded to colours. Other colour types, other bit depths and interlaced
 * files are refused with an error naming what was found.
 */
export function readIndexedPng(bytes: Uint8Array, what = '<bytes>'): { width: number; height: number; indices: Uint8Array } {
  const context = `readIndexedPng(${what})`;
  const chunks = readPngChunks(bytes, context);
  const h = parseIhdr(chunks, context);
  if (h.colorType !== 3 && h.colorType !== 0) {
    throw new Error(`${context}: colour type ${h.colorType} is not an index map (expected 3 = palette or 0 = grey)`);
  }
  if (h.bitDepth !== 8) throw new Error(`${context}: bit depth ${h.bitDepth} is not supported (expected 8)`);
  if (h.interlaced) throw new Error(`${context}: interlaced (Adam7) PNGs are not supported`);
  checkImageSize(h.width, h.height, context);
  if (h.colorType === 3) {
    const plte = chunks.findIndex((c) => c.type === 'PLTE');
    const idat = chunks.findIndex((c) => c.type === 'IDAT');
    if (plte < 0 || (idat >= 0 && plte > idat)) throw new Error(`${context}: corrupt PNG: palette image without a PLTE chunk before IDAT`);
  }

  const stride = h.width + 1; // one filter-type byte per row
  const expected = stride * h.height;
  let raw: Uint8Array;
  try {
    raw = inflateZlib(joinIdat(chunks, context), expected + 1);
  } catch (e) {
    if ((e as Error).message.startsWith(context)) throw e;
    throw new Error(`${context}: corrupt PNG: image data does not inflate: ${(e as Error).message}`);
  }
  if (raw.length !== expected) {
    throw new Error(`${context}: corrupt PNG: image data inflates to ${raw.length} bytes, expected ${expected} for ${h.width}x${h.height}`);
  }
  return { width: h.width, height: h.height, indices: unfilterRows(raw, h.width, h.height, 1, context) };
}
