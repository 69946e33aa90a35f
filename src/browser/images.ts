// Browser images to our RGB: anything a canvas can draw (ImageBitmap, <img>, <canvas>,
// <video> frames, VideoFrame) or ImageData; encoded bytes through the browser's own decoders
// (createImageBitmap applies EXIF orientation, as viewers show the photo).
import { type RgbImage, checkImageSize } from '../io/rgb-image.js';
import { canvasPixels, rgbaToRgb } from '../io/frame-pixels.js';

export type BrowserImage = ImageBitmap | HTMLImageElement | HTMLCanvasElement | OffscreenCanvas | HTMLVideoElement | VideoFrame | ImageData;

function sizeOf(image: Exclude<BrowserImage, ImageData>): [number, number] {
  if (typeof HTMLImageElement !== 'undefined' && image instanceof HTMLImageElement) return [image.naturalWidth, image.naturalHeight];
  if (typeof HTMLVideoElement !== 'undefined' && image instanceof HTMLVideoElement) return [image.videoWidth, image.videoHeight];
  if (typeof VideoFrame !== 'undefined' && image instanceof VideoFrame) return [image.displayWidth, image.displayHeight];
  const sized = image as { width: number; height: number };
  return [sized.width, sized.height];
}

/** The RGB pixels of a browser image at its own (natural) size. */
export function imageToRgb(image: BrowserImage, what = 'image'): RgbImage {
  if (image instanceof ImageData) {
    checkImageSize(image.width, image.height, what);
    return rgbaToRgb(image.data, image.width, image.height);
  }
  const [width, height] = sizeOf(image);
  return canvasPixels(image as CanvasImageSource, width, height, what);
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
