// PNG decoding to 8-bit RGBA (colour-mask labels): pngjs in Node; the browser bundle swaps this
// module for src/browser/png-rgba.ts, which reads the 8-bit, non-interlaced PNGs masks are.
import { PNG } from 'pngjs';

export interface RgbaPixels {
  width: number;
  height: number;
  /** RGBA, 4 bytes a pixel, row-major. */
  data: Uint8Array;
}

export function decodePngRgba(bytes: Uint8Array): RgbaPixels {
  const buffer = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return PNG.sync.read(buffer);
}
