// Networks of other than three input channels (smp's `in_channels`): a grayscale network takes an
// RGB image as Pillow's `convert('L')` makes it gray (ITU-R 601-2 luma in Pillow's fixed point:
// L = (19595 R + 38470 G + 7471 B + 32768) >> 16), normalised with the mean and std of channel 0,
// as smp cycles the RGB statistics over a stem of other width (channel i takes those of i mod 3).
import type { InputNormalization } from './input-normalization.js';
import type { RgbImage } from './rgb-image.js';

/** Pillow's 'L' of an RGB image, a byte per pixel. */
export function grayscaleOf(img: RgbImage): Uint8Array {
  const out = new Uint8Array(img.width * img.height);
  for (let i = 0, p = 0; i < out.length; i++, p += 3) out[i] = (19595 * img.data[p] + 38470 * img.data[p + 1] + 7471 * img.data[p + 2] + 32768) >>> 16;
  return out;
}

/**
 * Bands [H*W*channels] (interleaved, 0..255 as 8-bit images have them) normalised as `norm` does
 * RGB, channel i with the statistics of channel i mod 3: the NHWC network input.
 */
export function normalizeBands(bands: ArrayLike<number>, channels: number, norm: InputNormalization): Float32Array {
  // Each normalisation's exact arithmetic is per RGB image; on another channel count its mean and
  // std on [0,1] values are used, computed in float32 as 'imagenet' computes them.
  const f32 = Math.fround;
  const mean = norm.mean.map(f32);
  const std = norm.std.map(f32);
  const out = new Float32Array(bands.length);
  for (let i = 0; i < out.length; i++) {
    const c = (i % channels) % 3;
    out[i] = f32(f32(f32(bands[i] / 255) - mean[c]) / std[c]);
  }
  return out;
}
