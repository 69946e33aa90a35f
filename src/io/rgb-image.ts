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
