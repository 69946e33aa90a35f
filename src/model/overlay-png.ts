// The overlay as a PNG file's bytes in Node (pngjs); the page's overlayPng encodes with its canvas
// (src/browser/overlay.ts).
import { encodeRgbPng } from '../io/png-rgb.js';
import type { RgbImage } from '../io/rgb-image.js';
import { overlayImage } from './result-views.js';
import type { SegmentResult } from './segment-options.js';

/** An RGB PNG of `image` with the prediction's class colours blended in (see overlayImage). */
export async function overlayPng(image: RgbImage, result: SegmentResult, palette: Uint8Array, alpha = 0.5): Promise<Uint8Array> {
  return encodeRgbPng(overlayImage(image, result, palette, alpha));
}
