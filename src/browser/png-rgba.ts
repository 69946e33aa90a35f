// The browser's stand-in for src/io/png-rgba.ts (pngjs in Node): colour-mask PNGs to RGBA with
// our own chunk reader, inflate and unfilter, so the colours are the file's exact values (a
// canvas may colour-manage them). Masks are 8-bit and not interlaced; other PNGs are refused,
// saying what they are.
import { joinIdat, parseIhdr, readPngChunks } from '../io/png-chunks.js';
import type { RgbaPixels } from '../io/png-rgba.js';
import { unfilterRows } from '../io/png-unfilter.js';
import { checkImageSize } from '../io/rgb-image.js';
import { inflateZlib } from './inflate.js';

export type { RgbaPixels } from '../io/png-rgba.js';

/** Samples per pixel of each colour type: grey, RGB, palette, grey + alpha, RGBA. */
const CHANNELS: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };

export function decodePngRgba(bytes: Uint8Array): RgbaPixels {
  const context = 'PNG';
  const chunks = readPngChunks(bytes, context);
  const h = parseIhdr(chunks, context);
  if (h.bitDepth !== 8) throw new Error(`bit depth ${h.bitDepth} (colour type ${h.colorType}) is not read in the browser; masks are 8-bit`);
  if (h.interlaced) throw new Error('interlaced (Adam7) PNGs are not read in the browser');
  checkImageSize(h.width, h.height, context);
  const channels = CHANNELS[h.colorType];
  let palette: Uint8Array | undefined;
  if (h.colorType === 3) {
    palette = chunks.find((c) => c.type === 'PLTE')?.data;
    if (!palette) throw new Error('corrupt PNG: palette image without a PLTE chunk');
  }
  const rowBytes = h.width * channels;
  const expected = (rowBytes + 1) * h.height;
  let raw: Uint8Array;
  try {
    raw = inflateZlib(joinIdat(chunks, context), expected + 1);
  } catch (e) {
    throw new Error(`corrupt PNG: image data does not inflate: ${(e as Error).message}`);
  }
  if (raw.length !== expected) throw new Error(`corrupt PNG: image data inflates to ${raw.length} bytes, expected ${expected} for ${h.width}x${h.height}`);
  const px = unfilterRows(raw, rowBytes, h.height, channels, context);
  const n = h.width * h.height;
  const data = new Uint8Array(4 * n);
  for (let i = 0; i < n; i++) {
    const s = i * channels;
    const o = 4 * i;
    switch (h.colorType) {
      case 0:
      case 4:
        data[o] = data[o + 1] = data[o + 2] = px[s];
        data[o + 3] = h.colorType === 4 ? px[s + 1] : 255;
        break;
      case 2:
      case 6:
        data[o] = px[s];
        data[o + 1] = px[s + 1];
        data[o + 2] = px[s + 2];
        data[o + 3] = h.colorType === 6 ? px[s + 3] : 255;
        break;
      case 3: {
        const k = 3 * px[s];
        if (k + 2 >= palette!.length) throw new Error(`corrupt PNG: pixel (${i % h.width}, ${Math.floor(i / h.width)}) is palette entry ${px[s]} of ${palette!.length / 3}`);
        data[o] = palette![k];
        data[o + 1] = palette![k + 1];
        data[o + 2] = palette![k + 2];
        data[o + 3] = 255;
        break;
      }
    }
  }
  return { width: h.width, height: h.height, data };
}
