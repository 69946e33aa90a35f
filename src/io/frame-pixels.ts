// A page's frame (a VideoFrame, <video>, ImageBitmap or canvas) as RGB pixels on the host, drawn
// into a 2d canvas and read back: how a model without the GPU frame path (on the CPU) takes one.
import { type ExternalFrame, externalFrameSize } from './frame-source.js';
import { type RgbImage, checkImageSize } from './rgb-image.js';

/** RGBA pixels (canvas order) to RGB: alpha dropped, not blended, as PIL's convert('RGB') does. */
export function rgbaToRgb(rgba: Uint8ClampedArray | Uint8Array, width: number, height: number): RgbImage {
  const n = width * height;
  const data = new Uint8Array(3 * n);
  for (let i = 0; i < n; i++) {
    data[3 * i] = rgba[4 * i];
    data[3 * i + 1] = rgba[4 * i + 1];
    data[3 * i + 2] = rgba[4 * i + 2];
  }
  return { width, height, data };
}

/** Pixels of anything a 2d canvas draws, at `width` x `height`. */
export function canvasPixels(image: CanvasImageSource, width: number, height: number, what: string): RgbImage {
  checkImageSize(width, height, what);
  if (typeof OffscreenCanvas === 'undefined') throw new Error(`${what}: no OffscreenCanvas here to read the frame's pixels with`);
  const canvas = new OffscreenCanvas(width, height);
  const context = canvas.getContext('2d', { willReadFrequently: true, colorSpace: 'srgb' });
  if (!context) throw new Error(`${what}: no 2d canvas context to read the pixels with`);
  context.drawImage(image, 0, 0);
  return rgbaToRgb(context.getImageData(0, 0, width, height, { colorSpace: 'srgb' }).data, width, height);
}

/** A page's frame's pixels at the size it would be copied at (externalFrameSize). */
export function externalFramePixels(frame: ExternalFrame, what = 'frame'): RgbImage {
  const [width, height] = externalFrameSize(frame, what);
  return canvasPixels(frame as CanvasImageSource, width, height, what);
}
