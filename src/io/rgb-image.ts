// The decoded image every pipeline starts from, and the size checks every decoder applies.

export interface RgbImage {
  width: number;
  height: number;
  /** RGB, 3 bytes per pixel, row-major. */
  data: Uint8Array;
}

/** Larger images are refused before any pixel memory is allocated (decompression bombs). */
export const MAX_IMAGE_PIXELS = 100_000_000;

/** Throws unless width x height is a non-empty image within MAX_IMAGE_PIXELS. */
export function checkImageSize(width: number, height: number, context: string): void {
  if (width === 0 || height === 0) throw new Error(`${context}: zero-size image (${width}x${height})`);
  if (width * height > MAX_IMAGE_PIXELS) {
    throw new Error(
      `${context}: image too large: ${width}x${height} = ${width * height} pixels, the limit is ${MAX_IMAGE_PIXELS} (100 megapixels)`,
    );
  }
}

/** The width x height part of an image whose top-left corner is (x, y) (a copy). */
export function cropRgb(img: RgbImage, x: number, y: number, width: number, height: number): RgbImage {
  if (![x, y, width, height].every(Number.isInteger) || x < 0 || y < 0 || width < 1 || height < 1 || x + width > img.width || y + height > img.height) {
    throw new Error(`cropRgb: ${width}x${height} at ${x},${y} is not inside a ${img.width}x${img.height} image`);
  }
  const data = new Uint8Array(width * height * 3);
  for (let row = 0; row < height; row++) {
    const from = ((y + row) * img.width + x) * 3;
    data.set(img.data.subarray(from, from + width * 3), row * width * 3);
  }
  return { width, height, data };
}
