// mmsegmentation's test-time input on the CPU: OpenCV's bilinear resize (INTER_LINEAR, what
// mmcv's imresize calls) and the mean/std normalisation on 0..255 RGB values.
//
// OpenCV's INTER_LINEAR on 8-bit images, as its vectorised code computes it (checked equal to
// cv2.resize 4.14 on x86 at several sizes, up and down): half-pixel source coordinates
// f = (d + 0.5) * in/out - 0.5 in float32, the two weights (1 - frac, frac) rounded half to even
// to 11-bit fixed point. Along x the left tap floor(f) is clamped to the image with weight 1 on
// the edge pixel past either end; along y the weights keep their fraction and both taps are
// clamped (the edge row then weighs 1 - frac + frac). A horizontal pass into integers
// (value * weight), then the vertical pass as OpenCV's SIMD rows round it: each row's sum shifted
// right by 4, times its 16-bit weight keeping the high 16 bits, the two added (saturating) and
// rounded by (sum + 2) >> 2, clamped to 0..255. Its scalar formula, (sum + 2^21) >> 22, differs
// from that by a grey level on about one value in eight. No antialiasing when shrinking (unlike
// PIL's).
import type { RgbImage } from './rgb-image.js';
import { roundHalfEven } from '../util/round-half-even.js';

const COEF_BITS = 11;
const COEF_SCALE = 1 << COEF_BITS;

/**
 * Per output index: the left and right source indices and their two fixed-point weights. Along x
 * (`clampWeights`) a tap past the edge takes the edge pixel with weight 1; along y the weights
 * stay and only the indices are clamped.
 */
function linearTaps(inSize: number, outSize: number, clampWeights: boolean): { left: Int32Array; right: Int32Array; w0: Int32Array; w1: Int32Array } {
  const scale = inSize / outSize;
  const left = new Int32Array(outSize);
  const right = new Int32Array(outSize);
  const w0 = new Int32Array(outSize);
  const w1 = new Int32Array(outSize);
  const clamp = (i: number) => Math.min(Math.max(i, 0), inSize - 1);
  for (let d = 0; d < outSize; d++) {
    let f = Math.fround((d + 0.5) * scale - 0.5);
    let s = Math.floor(f);
    f = Math.fround(f - s);
    if (clampWeights && s < 0) {
      s = 0;
      f = 0;
    }
    if (clampWeights && s >= inSize - 1) {
      s = inSize - 1;
      f = 0;
    }
    left[d] = clamp(s);
    right[d] = clamp(s + 1);
    // OpenCV's saturate_cast<short>(float) rounds half to even.
    w0[d] = roundHalfEven(Math.fround(1 - f) * COEF_SCALE);
    w1[d] = roundHalfEven(f * COEF_SCALE);
  }
  return { left, right, w0, w1 };
}

/** A 32-bit value saturated to int16 (OpenCV's v_pack). */
const saturate16 = (v: number): number => (v > 32767 ? 32767 : v < -32768 ? -32768 : v);

/** cv2.resize(img, (outW, outH), interpolation=cv2.INTER_LINEAR) on an RGB image. */
export function resizeRgbBilinear(img: RgbImage, outW: number, outH: number): RgbImage {
  if (!Number.isInteger(outW) || !Number.isInteger(outH) || outW < 1 || outH < 1) {
    throw new Error(`resizeRgbBilinear: output size must be positive integers, got ${outW}x${outH}`);
  }
  if (img.data.length !== img.width * img.height * 3 || img.width < 1 || img.height < 1) {
    throw new Error(`resizeRgbBilinear: image data has ${img.data.length} bytes, expected ${img.width}x${img.height}x3`);
  }
  if (outW === img.width && outH === img.height) return { width: outW, height: outH, data: img.data.slice() };
  const xs = linearTaps(img.width, outW, true);
  const ys = linearTaps(img.height, outH, false);
  // Horizontal pass on every source row that a vertical tap reads.
  const rows = new Map<number, Int32Array>();
  const row = (y: number): Int32Array => {
    let r = rows.get(y);
    if (r) return r;
    r = new Int32Array(outW * 3);
    const base = y * img.width * 3;
    for (let x = 0; x < outW; x++) {
      const a = base + xs.left[x] * 3;
      const b = base + xs.right[x] * 3;
      for (let c = 0; c < 3; c++) r[x * 3 + c] = img.data[a + c] * xs.w0[x] + img.data[b + c] * xs.w1[x];
    }
    rows.set(y, r);
    return r;
  };
  const out = new Uint8Array(outW * outH * 3);
  for (let y = 0; y < outH; y++) {
    const r0 = row(ys.left[y]);
    const r1 = row(ys.right[y]);
    const b0 = ys.w0[y];
    const b1 = ys.w1[y];
    const o = y * outW * 3;
    for (let i = 0; i < outW * 3; i++) {
      const v = (saturate16(((saturate16(r0[i] >> 4) * b0) >> 16) + ((saturate16(r1[i] >> 4) * b1) >> 16)) + 2) >> 2;
      out[o + i] = v < 0 ? 0 : v > 255 ? 255 : v;
    }
    // Rows no later output row reads are dropped (taps only move down).
    for (const k of rows.keys()) if (k < ys.left[y]) rows.delete(k);
  }
  return { width: outW, height: outH, data: out };
}

/** mmseg's data preprocessor's mean and std, on 0..255 RGB values (ImageNet's, times 255). */
export const MMSEG_MEAN = [123.675, 116.28, 103.53] as const;
export const MMSEG_STD = [58.395, 57.12, 57.375] as const;

/** NHWC float32 (x - mean) / std per RGB channel on 0..255 values, computed in float64 and rounded once. */
export function normalizeMeanStd255(img: RgbImage): Float32Array {
  const out = new Float32Array(img.data.length);
  for (let i = 0; i < out.length; i++) {
    const c = i % 3;
    out[i] = (img.data[i] - MMSEG_MEAN[c]) / MMSEG_STD[c];
  }
  return out;
}
