// Showing a prediction in a page: the class colours blended over the photo, into a canvas.
import { overlayPalette } from '../io/overlay.js';
import type { RgbImage } from '../io/rgb-image.js';
import type { SegmentResult } from '../model/model.js';

/**
 * Draws `image` with the prediction's class colours blended in (background left as the photo)
 * into `canvas`, which takes the image's size.
 */
export function drawOverlay(canvas: HTMLCanvasElement | OffscreenCanvas, image: RgbImage, result: SegmentResult, palette: Uint8Array, alpha = 0.5): void {
  if (result.width !== image.width || result.height !== image.height) {
    throw new Error(`drawOverlay: the prediction is ${result.width}x${result.height}, the image ${image.width}x${image.height}`);
  }
  const blended = overlayPalette(image, result.classes, palette, alpha);
  canvas.width = image.width;
  canvas.height = image.height;
  const context = canvas.getContext('2d') as CanvasRenderingContext2D | OffscreenCanvasRenderingContext2D | null;
  if (!context) throw new Error('drawOverlay: no 2d context on the canvas');
  const rgba = new ImageData(image.width, image.height);
  for (let i = 0, n = image.width * image.height; i < n; i++) {
    rgba.data[4 * i] = blended.data[3 * i];
    rgba.data[4 * i + 1] = blended.data[3 * i + 1];
    rgba.data[4 * i + 2] = blended.data[3 * i + 2];
    rgba.data[4 * i + 3] = 255;
  }
  context.putImageData(rgba, 0, 0);
}

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
