// Showing a prediction in a page: the class colours blended over the photo, into a canvas or a
// PNG file's bytes (the browser's encoder).
import type { RgbImage } from '../io/rgb-image.js';
import { overlayImage } from '../model/result-views.js';
import type { SegmentResult } from '../model/model.js';

export { classesFound, overlayImage } from '../model/result-views.js';

/** The RGB image as RGBA ImageData (opaque). */
function imageData(image: RgbImage): ImageData {
  const rgba = new ImageData(image.width, image.height);
  for (let i = 0, n = image.width * image.height; i < n; i++) {
    rgba.data[4 * i] = image.data[3 * i];
    rgba.data[4 * i + 1] = image.data[3 * i + 1];
    rgba.data[4 * i + 2] = image.data[3 * i + 2];
    rgba.data[4 * i + 3] = 255;
  }
  return rgba;
}

/**
 * Draws `image` with the prediction's class colours blended in (background left as the photo)
 * into `canvas`, which takes the image's size.
 */
export function drawOverlay(canvas: HTMLCanvasElement | OffscreenCanvas, image: RgbImage, result: SegmentResult, palette: Uint8Array, alpha = 0.5): void {
  const blended = overlayImage(image, result, palette, alpha);
  canvas.width = image.width;
  canvas.height = image.height;
  const context = canvas.getContext('2d') as CanvasRenderingContext2D | OffscreenCanvasRenderingContext2D | null;
  if (!context) throw new Error('drawOverlay: no 2d context on the canvas');
  context.putImageData(imageData(blended), 0, 0);
}

/** A PNG of `image` with the prediction's class colours blended in, as Node's overlayPng gives. */
export async function overlayPng(image: RgbImage, result: SegmentResult, palette: Uint8Array, alpha = 0.5): Promise<Uint8Array> {
  const canvas = new OffscreenCanvas(image.width, image.height);
  drawOverlay(canvas, image, result, palette, alpha);
  const blob = await canvas.convertToBlob({ type: 'image/png' });
  return new Uint8Array(await blob.arrayBuffer());
}
