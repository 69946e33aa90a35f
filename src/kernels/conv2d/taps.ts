// The taps of a convolution, listed once for its CPU references (forward: reference.ts; gradients:
// conv2d-backward/reference.ts): each reference then runs one tight loop over the list with every
// operand a Float64Array, which V8 compiles monomorphic. (The loops before, a visitor callback
// per tap over arrays of either kind, ran 2-3.5x slower on a 128-channel 3x3 layer.)
import type { Conv2dParams, ConvGeometry } from './params.js';

/**
 * Every (output pixel, tap) of the convolution that reads a real (non-padding) input pixel, in the
 * order n, oh, ow, kh, kw, as triples of flat offsets: the input pixel's channel 0, the tap's
 * weight row for input channel 0 and output channel 0 (HWIO), and the output pixel's channel 0.
 * Each product x[x0 + ci] * w[w0 + ci * cout + co] feeds y[y0 + co].
 */
export function convTaps(g: ConvGeometry, p: Conv2dParams): Int32Array {
  const { N, H, W, cin, KH, KW, cout, OH, OW, cinPerGroup } = g;
  let count = 0;
  for (let oh = 0; oh < OH; oh++) {
    for (let kh = 0; kh < KH; kh++) {
      const ih = oh * p.strideH - p.padTop + kh * p.dilationH;
      if (ih < 0 || ih >= H) continue;
      for (let ow = 0; ow < OW; ow++) {
        for (let kw = 0; kw < KW; kw++) {
          const iw = ow * p.strideW - p.padLeft + kw * p.dilationW;
          if (iw >= 0 && iw < W) count++;
        }
      }
    }
  }
  const taps = new Int32Array(3 * N * count);
  let t = 0;
  for (let n = 0; n < N; n++) {
    for (let oh = 0; oh < OH; oh++) {
      for (let ow = 0; ow < OW; ow++) {
        const y0 = ((n * OH + oh) * OW + ow) * cout;
        for (let kh = 0; kh < KH; kh++) {
          const ih = oh * p.strideH - p.padTop + kh * p.dilationH;
          if (ih < 0 || ih >= H) continue;
          for (let kw = 0; kw < KW; kw++) {
            const iw = ow * p.strideW - p.padLeft + kw * p.dilationW;
            if (iw < 0 || iw >= W) continue;
            taps[t++] = ((n * H + ih) * W + iw) * cin;
            taps[t++] = (kh * KW + kw) * cinPerGroup * cout;
            taps[t++] = y0;
          }
        }
      }
    }
  }
  return taps;
}

/** The tap triples of each weight row (kh, kw), in the taps' order. */
function tapsByWeightRow(taps: Int32Array, g: ConvGeometry): Int32Array[] {
  const rowSize = g.cinPerGroup * g.cout;
  const counts = new Int32Array(g.KH * g.KW);
  for (let t = 1; t < taps.length; t += 3) counts[taps[t] / rowSize]++;
  const rows = Array.from(counts, (c) => new Int32Array(3 * c));
  const filled = new Int32Array(counts.length);
  for (let t = 0; t < taps.length; t += 3) {
    const r = taps[t + 1] / rowSize;
    const f = filled[r];
    rows[r][f] = taps[t];
    rows[r][f + 1] = taps[t + 1];
    rows[r][f + 2] = taps[t + 2];
    filled[r] = f + 3;
  }
  return rows;
}

/** Taps per pass over a block of weight rows: their outputs (or dY rows) stay in cache meanwhile. */
const TAP_CHUNK = 64;

/** Consecutive taps of one weight row: triples [start, end) of `taps`, all reading weight row `w0`. */
export interface TapChunk {
  taps: Int32Array;
  w0: number;
  start: number;
  end: number;
}

/**
 * The taps weight row by weight row (kh, kw in order), each row's in their order and in chunks of
 * TAP_CHUNK. A reference that runs over them so keeps each output's sum in the taps' order (an
 * output's taps are in kh, kw order) and each dW element's too (the taps of one row are), while a
 * block of weight rows stays in cache across a chunk of output pixels.
 */
export function tapChunksByWeightRow(taps: Int32Array, g: ConvGeometry): TapChunk[] {
  const chunks: TapChunk[] = [];
  for (const rowTaps of tapsByWeightRow(taps, g)) {
    for (let start = 0; start < rowTaps.length; start += 3 * TAP_CHUNK) {
      chunks.push({ taps: rowTaps, w0: rowTaps[1], start, end: Math.min(rowTaps.length, start + 3 * TAP_CHUNK) });
    }
  }
  return chunks;
}

/**
 * acc[at + k] += a * v[va + k], then b * v[vb + k], c * v[vc + k], d * v[vd + k], for k in
 * [k0, k1): four products added one at a time in that order, as four passes would add them,
 * with one load and store of each sum.
 */
export function addFourProducts(
  acc: Float64Array, at: number, v: Float64Array, k0: number, k1: number,
  a: number, va: number, b: number, vb: number, c: number, vc: number, d: number, vd: number,
): void {
  for (let k = k0; k < k1; k++) {
    let sum = acc[at + k];
    sum += a * v[va + k];
    sum += b * v[vb + k];
    sum += c * v[vc + k];
    sum += d * v[vd + k];
    acc[at + k] = sum;
  }
}

/** Where a tap triple keeps each offset: the input pixel's, the weight row's, the output pixel's. */
export const X_AT = 0;
export const W_AT = 1;
export const Y_AT = 2;

/**
 * The depthwise convolution's loop (one input channel per group, one output channel each), for
 * each of its references: for every tap in order, acc[at + c] += a[ao + c] * b[bo + c] over the
 * channels c < n, each offset the tap's own at slot accAt, aAt or bAt (X_AT, W_AT, Y_AT).
 */
export function addDepthwiseTaps(taps: Int32Array, n: number, acc: Float64Array, accAt: number, a: Float64Array, aAt: number, b: Float64Array, bAt: number): void {
  for (let t = 0; t < taps.length; t += 3) {
    const at = taps[t + accAt];
    const ao = taps[t + aAt];
    const bo = taps[t + bAt];
    for (let c = 0; c < n; c++) acc[at + c] += a[ao + c] * b[bo + c];
  }
}
