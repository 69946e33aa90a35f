// The input pipelines' CPU side: resizing an RGB image exactly as PIL's
// Image.resize(size, Image.BILINEAR) does (the TFLite model's reference input was made that way)
// or as torch's antialiased uint8 resize does (transformers' image processors), and the input
// normalisations (TF DeepLab's [-1, 1], torchvision's ImageNet mean/std).
//
// Pillow's algorithm (libImaging/Resample.c), reproduced to the bit:
// - separable: a horizontal pass into a uint8 image, then a vertical pass on that;
// - per output pixel, the triangle filter with support 1 * max(1, scale), scale = in/out, so a
//   downscale averages over a proportionally wider window (antialiasing);
// - window [trunc(center - support + 0.5), trunc(center + support + 0.5)) clamped to the image,
//   weights filter((i - center + 0.5) * (1 / max(1, scale))) in double, normalised to sum 1;
// - weights turned to fixed point with PRECISION_BITS = 32 - 8 - 2 = 22 (round half away from
//   zero), accumulated in int32 starting from 1 << 21 (the rounding bias), then >> 22 and clamped
//   to 0..255. This rounding between the passes is why a float re-implementation differs by 1s.
// torch's uint8 antialiased resize (ATen's UpSampleKernel, what torchvision's resize of a uint8
// tensor runs, and so transformers' fast image processors) is the same algorithm with the
// weights in int16: as many fraction bits as the pass's largest weight leaves room for (at most
// 22, as Pillow's; a downscale's weights, all under 1/2, take more than 15), so a value here and
// there lands one level from Pillow's (0.4 % of the hub fixtures' input values; their pixel values
// are torch's to the bit).
import type { RgbImage } from './rgb-image.js';

export const PRECISION_BITS = 22;

export interface Coeffs {
  /** Fraction bits of the fixed-point weights. */
  precision: number;
  /** First input index of each output's window. */
  start: Int32Array;
  /** Window length of each output (<= ksize). */
  count: Int32Array;
  /** Fixed-point weights, ksize per output. */
  weights: Int32Array;
  ksize: number;
}

/** Pillow's resampling filters we reproduce: BILINEAR (2), BICUBIC (3) and LANCZOS (1, once ANTIALIAS: TF DeepLab's demo). */
export type PilFilter = 'bilinear' | 'bicubic' | 'lanczos';

/** Whose fixed point: Pillow's (int32 weights, 22 fraction bits) or torch's (int16 weights). */
export type FixedPoint = 'pillow' | 'torch';

/** A resize of an input pipeline: its filter and whose fixed-point arithmetic. */
export interface Resample {
  filter: PilFilter;
  fixedPoint: FixedPoint;
}

/** PIL's Image.resize with BILINEAR: the TF models' and torchvision's pipelines. */
export const PIL_BILINEAR: Resample = { filter: 'bilinear', fixedPoint: 'pillow' };

/** Pillow's sinc (Resample.c's sinc_filter). */
const sinc = (x: number): number => (x === 0 ? 1 : Math.sin(x * Math.PI) / (x * Math.PI));

/**
 * Each filter's support and its function of the signed distance, as Resample.c writes them:
 * bilinear and bicubic (a = -0.5) take |x|; lanczos is sinc(x) sinc(x / 3) on [-3, 3).
 */
const FILTERS: Record<PilFilter, { support: number; f(x: number): number }> = {
  bilinear: { support: 1, f: (x) => (Math.abs(x) < 1 ? 1 - Math.abs(x) : 0) },
  bicubic: {
    support: 2,
    f(signed) {
      const a = -0.5;
      const x = Math.abs(signed);
      if (x < 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
      if (x < 2) return (((x - 5) * x + 8) * x - 4) * a;
      return 0;
    },
  },
  lanczos: { support: 3, f: (x) => (x >= -3 && x < 3 ? sinc(x) * sinc(x / 3) : 0) },
};

/** One pass's weights in double, normalised to sum 1 (Pillow's, before any fixed point): ksize per output. */
export interface Weights64 {
  start: Int32Array;
  count: Int32Array;
  weights: Float64Array;
  ksize: number;
}

/** One pass's weights in double as Pillow computes them (`precompute_coeffs`): what its float ('F') images are resized with. */
export function resampleWeights(inSize: number, outSize: number, filter: PilFilter): Weights64 {
  const { support: filterSupport, f } = FILTERS[filter];
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1);
  const support = filterSupport * filterScale;
  const ksize = Math.ceil(support) * 2 + 1;
  const start = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const weights = new Float64Array(outSize * ksize);
  const w = new Float64Array(ksize);
  const ss = 1 / filterScale; // Pillow multiplies by the reciprocal; dividing could differ by an ulp
  for (let o = 0; o < outSize; o++) {
    const center = (o + 0.5) * scale;
    const lo = Math.max(Math.trunc(center - support + 0.5), 0);
    const hi = Math.min(Math.trunc(center + support + 0.5), inSize);
    const n = hi - lo;
    let sum = 0;
    for (let i = 0; i < n; i++) {
      w[i] = f((i + lo - center + 0.5) * ss);
      sum += w[i];
    }
    for (let i = 0; i < n; i++) weights[o * ksize + i] = sum !== 0 ? w[i] / sum : w[i];
    start[o] = lo;
    count[o] = n;
  }
  return { start, count, weights, ksize };
}

/** One pass's coefficients: the filter's weights in double (the same for both), then in `r.fixedPoint`'s fixed point. */
export function resampleCoeffs(inSize: number, outSize: number, r: Resample): Coeffs {
  const { start, count, weights: normalized, ksize } = resampleWeights(inSize, outSize, r.filter);
  let largest = 0;
  for (const k of normalized) largest = Math.max(largest, k);
  const precision = r.fixedPoint === 'pillow' ? PRECISION_BITS : int16Precision(largest);
  const one = 2 ** precision;
  // (int)(k * 2^precision +- 0.5): C truncation toward zero, i.e. round half away from zero.
  const weights = Int32Array.from(normalized, (k) => Math.trunc(k < 0 ? k * one - 0.5 : k * one + 0.5));
  return { precision, start, count, weights, ksize };
}

/**
 * torch's fraction bits for int16 weights: the most (up to 22, its loop's bound) that keep the
 * largest weight below 2^15; weights under 1/2 (a downscale's) take 16 bits or more.
 */
function int16Precision(largest: number): number {
  let bits = 0;
  while (bits < 22 && Math.trunc(0.5 + largest * 2 ** (bits + 1)) < 1 << 15) bits++;
  return bits;
}

/** A fixed-point sum to uint8, as Pillow's clip8 (and torch's). */
function clip8(acc: number, precision: number): number {
  const v = acc >> precision;
  return v < 0 ? 0 : v > 255 ? 255 : v;
}

function resizeHorizontal(src: RgbImage, outW: number, resample: Resample): RgbImage {
  const { precision, start, count, weights, ksize } = resampleCoeffs(src.width, outW, resample);
  const bias = 1 << (precision - 1);
  const out = new Uint8Array(outW * src.height * 3);
  const data = src.data;
  for (let y = 0; y < src.height; y++) {
    const rowIn = y * src.width * 3;
    const rowOut = y * outW * 3;
    for (let x = 0; x < outW; x++) {
      let r = bias;
      let g = bias;
      let b = bias;
      const k0 = x * ksize;
      const taps = count[x];
      let p = rowIn + start[x] * 3;
      for (let i = 0; i < taps; i++, p += 3) {
        const k = weights[k0 + i];
        r += data[p] * k;
        g += data[p + 1] * k;
        b += data[p + 2] * k;
      }
      out[rowOut + 3 * x] = clip8(r, precision);
      out[rowOut + 3 * x + 1] = clip8(g, precision);
      out[rowOut + 3 * x + 2] = clip8(b, precision);
    }
  }
  return { width: outW, height: src.height, data: out };
}

function resizeVertical(src: RgbImage, outH: number, resample: Resample): RgbImage {
  const { precision, start, count, weights, ksize } = resampleCoeffs(src.height, outH, resample);
  const bias = 1 << (precision - 1);
  const rowLen = src.width * 3;
  const out = new Uint8Array(rowLen * outH);
  const data = src.data;
  // A row of sums at a time, tap by tap (each tap's input row read in order). Int32 sums wrap as
  // the per-value sums' ToInt32 in clip8 does: the same bits.
  const acc = new Int32Array(rowLen);
  for (let y = 0; y < outH; y++) {
    const k0 = y * ksize;
    acc.fill(bias);
    for (let i = 0; i < count[y]; i++) {
      const k = weights[k0 + i];
      const row = (start[y] + i) * rowLen;
      for (let c = 0; c < rowLen; c++) acc[c] += data[row + c] * k;
    }
    const at = y * rowLen;
    for (let c = 0; c < rowLen; c++) out[at + c] = clip8(acc[c], precision);
  }
  return { width: src.width, height: outH, data: out };
}

function checkRgb(img: RgbImage, fn: string): void {
  if (!Number.isInteger(img.width) || !Number.isInteger(img.height) || img.width < 1 || img.height < 1) {
    throw new Error(`${fn}: image size must be positive integers, got ${img.width}x${img.height}`);
  }
  if (img.data.length !== img.width * img.height * 3) {
    throw new Error(`${fn}: image data has ${img.data.length} bytes, expected ${img.width}x${img.height}x3 = ${img.width * img.height * 3}`);
  }
}

/** PIL's Image.resize((outW, outH), Image.BILINEAR) (or `filter`) on an RGB image, bit-exact. */
export function resizeRgbPil(img: RgbImage, outW: number, outH: number, filter: PilFilter = 'bilinear'): RgbImage {
  return resizeRgb(img, outW, outH, { filter, fixedPoint: 'pillow' }, 'resizeRgbPil');
}

/**
 * An RGB image resized as `resample` says, bit-exact: with Pillow's fixed point as PIL's
 * Image.resize, with torch's as torchvision's resize of a uint8 tensor (antialias=True).
 */
export function resizeRgb(img: RgbImage, outW: number, outH: number, resample: Resample, fn = 'resizeRgb'): RgbImage {
  checkRgb(img, fn);
  if (!Number.isInteger(outW) || !Number.isInteger(outH) || outW < 1 || outH < 1) {
    throw new Error(`${fn}: output size must be positive integers, got ${outW}x${outH}`);
  }
  // Both skip a pass whose size does not change (and copy when neither does).
  let cur = img;
  if (outW !== img.width) cur = resizeHorizontal(cur, outW, resample);
  if (outH !== img.height) cur = resizeVertical(cur, outH, resample);
  return cur === img ? { width: img.width, height: img.height, data: img.data.slice() } : cur;
}

// Both normalisations round after every operation, as NumPy / PyTorch do on float32 arrays, so
// the result is bit-identical to the reference pipelines' inputs (not just within an ulp).
const f32 = Math.fround;

/** NHWC [1,H,W,3] float32 with x / 127.5 - 1 (TF DeepLab's preprocessing). */
export function normalizeToMinusOneOne(img: RgbImage): Float32Array {
  checkRgb(img, 'normalizeToMinusOneOne');
  const out = new Float32Array(img.data.length);
  for (let i = 0; i < out.length; i++) out[i] = f32(img.data[i] / 127.5) - 1;
  return out;
}

/** NHWC [1,H,W,3] float32 with x / 255 (transformers' rescale, MobileViT's whole normalisation). */
export function normalizeToUnit(img: RgbImage): Float32Array {
  checkRgb(img, 'normalizeToUnit');
  const out = new Float32Array(img.data.length);
  for (let i = 0; i < out.length; i++) out[i] = img.data[i] / 255;
  return out;
}

export const IMAGENET_MEAN = [0.485, 0.456, 0.406] as const;
export const IMAGENET_STD = [0.229, 0.224, 0.225] as const;

/** NHWC [1,H,W,3] float32 with (x / 255 - mean) / std per channel (torchvision's preprocessing). */
export function normalizeImagenet(img: RgbImage): Float32Array {
  checkRgb(img, 'normalizeImagenet');
  const mean = IMAGENET_MEAN.map(f32);
  const std = IMAGENET_STD.map(f32);
  const out = new Float32Array(img.data.length);
  for (let i = 0; i < out.length; i++) {
    const c = i % 3;
    out[i] = f32(f32(img.data[i] / 255) - mean[c]) / std[c];
  }
  return out;
}
