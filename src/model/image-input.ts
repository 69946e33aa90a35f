// Still images as segment() takes them: a path, encoded bytes or decoded RGB, made decoded RGB and
// checked (bands: band-input.ts); and the crops and mirror images tiles and flips run.
import { type StillImage, cropBands, flipBands, isBandImage } from '../io/band-image.js';
import { decodeImageSource } from '../io/image-source.js';
import { type RgbImage, checkImageSize, cropRgb } from '../io/rgb-image.js';

export async function toRgbImage(image: RgbImage | Uint8Array | string): Promise<RgbImage> {
  if (typeof image === 'string' || image instanceof Uint8Array) return decodeImageSource(image);
  if (!Number.isInteger(image.width) || !Number.isInteger(image.height) || image.width < 0 || image.height < 0) {
    throw new Error(`segment: image size must be whole numbers, got ${image.width}x${image.height}`);
  }
  checkImageSize(image.width, image.height, 'segment');
  if (image.data.length !== image.width * image.height * 3) {
    throw new Error(`segment: image data has ${image.data.length} bytes, expected ${image.width}x${image.height}x3 = ${image.width * image.height * 3}`);
  }
  return image;
}

/** The image mirrored left-right. */
export function flipRgb(img: RgbImage): RgbImage {
  const { width: W, height: H, data } = img;
  const out = new Uint8Array(data.length);
  for (let y = 0; y < H; y++)
    for (let x = 0; x < W; x++) {
      const s = (y * W + (W - 1 - x)) * 3;
      const d = (y * W + x) * 3;
      out[d] = data[s];
      out[d + 1] = data[s + 1];
      out[d + 2] = data[s + 2];
    }
  return { width: W, height: H, data: out };
}

/** A still image mirrored left-right, RGB or bands. */
export const flipImage = (img: StillImage): StillImage => (isBandImage(img) ? flipBands(img) : flipRgb(img));

/** The width x height part of a still image whose top-left corner is (x, y). */
export const cropImage = (img: StillImage, x: number, y: number, width: number, height: number): StillImage =>
  isBandImage(img) ? cropBands(img, x, y, width, height) : cropRgb(img, x, y, width, height);
