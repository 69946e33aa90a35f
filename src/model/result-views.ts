// What a segmentation shows a person, the same in Node and in the page: the classes found with
// their share of the pixels, and the class colours over the photo.
import { overlayPalette } from '../io/overlay.js';
import type { RgbImage } from '../io/rgb-image.js';
import type { SegmentResult } from './segment-options.js';

/** The classes present in a prediction, with their share of the pixels, largest first. */
export function classesFound(result: SegmentResult, names: readonly string[]): { index: number; name: string; share: number }[] {
  const counts = new Array<number>(result.numClasses).fill(0);
  for (const c of result.classes) counts[c]++;
  const n = result.classes.length;
  return counts
    .map((count, index) => ({ index, name: names[index] ?? `class ${index}`, share: count / n }))
    .filter((c) => c.share > 0)
    .sort((a, b) => b.share - a.share);
}

/**
 * `image` with the prediction's class colours blended in (`alpha` of the colour; background left
 * as the photo), as RGB: what `overlayPng` encodes and the page's `drawOverlay` draws.
 */
export function overlayImage(image: RgbImage, result: SegmentResult, palette: Uint8Array, alpha = 0.5): RgbImage {
  if (result.width !== image.width || result.height !== image.height) {
    throw new Error(`overlay: the prediction is ${result.width}x${result.height}, the image ${image.width}x${image.height}`);
  }
  return overlayPalette(image, result.classes, palette, alpha);
}
