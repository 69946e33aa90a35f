// Browser images to our RGB: anything a canvas can draw (ImageBitmap, <img>, <canvas>,
// <video> frames, VideoFrame) or ImageData; encoded bytes through the browser's own decoders
// (createImageBitmap applies EXIF orientation, as viewers show the photo).
import { type RgbImage, checkImageSize } from '../io/rgb-image.js';

export type BrowserImage = ImageBitmap | HTMLImageElement | HTMLCanvasElement | OffscreenCanvas | HTMLVideoElement | VideoFrame | ImageData;

function sizeOf(image: Exclude<BrowserImage, ImageData>): [number, number] {
  if (typeof HTMLImageElement !== 'undefined' && image instanceof HTMLImageElement) return [image.naturalWidth, image.naturalHeight];
  if (typeof HTMLVideoElement !== 'undefined' && image instanceof HTMLVideoElement) return [image.videoWidth, image.videoHeight];
  if (typeof VideoFrame !== 'undefined' && image instanceof VideoFrame) return [image.displayWidth, image.displayHeight];
  const sized = image as { width: number; height: number };
  return [sized.width, sized.height];
}

/** RGBA pixels (canvas order) to RGB: alpha dropped, not blended, as PIL's convert('RGB') does. */
function rgbaToRgb(rgba: Uint8ClampedArray, width: number, height: number): RgbImage {
  const n = width * height;
  const data = new Uint8Array(3 * n);
  for (let i = 0; i < n; i++) {
    data[3 * i] = rgba[4 * i];
    data[3 * i + 1] = rgba[4 * i + 1];
    data[3 * i + 2] = rgba[4 * i + 2];
  }
  return { width, height, data };
}

/** The RGB pixels of a browser image at its own (natural) size. */
export function imageToRgb(image: BrowserImage, what = 'image'): RgbImage {
  if (image instanceof ImageData) {
    checkImageSize(image.width, image.height, what);
    return rgbaToRgb(image.data, image.width, image.height);
  }
  const [width, height] = sizeOf(image);
  checkImageSize(width, height, what);
  const canvas = new OffscreenCanvas(width, height);
  const context = canvas.getContext('2d', { willReadFrequently: true, colorSpace: 'srgb' });
  if (!context) throw new Error(`${what}: no 2d canvas context to read the pixels with`);
  context.drawImage(image as CanvasImageSource, 0, 0);
  return rgbaToRgb(context.getImageData(0, 0, width, height, { colorSpace: 'srgb' }).data, width, height);
}

/** Encoded bytes (any format the browser decodes: JPEG, PNG, WebP, AVIF, GIF, ...) to RGB. */
export async function decodeImageBytes(bytes: Uint8Array | Blob, what = 'image'): Promise<RgbImage> {
  const blob = bytes instanceof Blob ? bytes : new Blob([bytes as Uint8Array<ArrayBuffer>]);
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(blob, { colorSpaceConversion: 'none', premultiplyAlpha: 'none', imageOrientation: 'from-image' });
  } catch (e) {
    throw new Error(`${what}: not an image this browser can decode (${(e as Error).message})`);
  }
  try {
    return imageToRgb(bitmap, what);
  } finally {
    bitmap.close();
  }
}
