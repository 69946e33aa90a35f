// transformers' image processors' float32 arithmetic on the resized bytes (its fast processors,
// the default: torch tensors of float32). Rescaling multiplies by the float32 of 1/255; with a
// mean and std, rescaling and normalising are fused into (x - mean / r) / (std / r) on 0..255
// values, each step rounded to float32 (the mean and std tensors are float32 times float32(1 / r)). Bit for bit the hub fixtures' pixel values, where the
// formulas of TF's pipeline (x / 127.5 - 1) and of x / 255 differ from them in the last bit for
// half the byte values.
import type { RgbImage } from './rgb-image.js';

const f32 = Math.fround;

/** transformers' rescale_factor, 1/255 as its configs write it. */
const RESCALE = 0.00392156862745098;

/** NHWC [1,H,W,3] float32 x * float32(1/255): the processors' rescale alone (MobileViT). */
export function normalizeRescaleF32(img: RgbImage): Float32Array {
  const r = f32(RESCALE);
  return Float32Array.from(img.data, (v) => v * r);
}

/** NHWC [1,H,W,3] float32 (x - 127.5) / 127.5 on 0..255: rescale fused with mean = std = 0.5 (MobileNetV2). */
export function normalizeHalfFused(img: RgbImage): Float32Array {
  const k = f32(0.5 / RESCALE);
  return Float32Array.from(img.data, (v) => f32(v - k) / k);
}

/** NHWC [1,H,W,3] float32 (x - mean / r) / (std / r) on 0..255 per channel: rescale fused with any mean and std (SegFormer's ImageNet statistics). */
export function normalizeFusedF32(mean: readonly number[], std: readonly number[]): (img: RgbImage) => Float32Array {
  const inverse = f32(1 / RESCALE);
  const m = mean.map((v) => f32(f32(v) * inverse));
  const s = std.map((v) => f32(f32(v) * inverse));
  return (img) => Float32Array.from(img.data, (v, i) => f32(v - m[i % 3]) / s[i % 3]);
}
