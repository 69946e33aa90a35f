// Normalised bands resized as Pillow resizes a float ('F') image with BILINEAR: the same
// separable passes and window weights as its 8-bit resize (resize-cpu.ts), but the weights in
// double, each output summed in double and stored as float32, with no rounding to bytes
// (Resample.c, ImagingResample{Horizontal,Vertical}_32bpc). The training augmentation scales
// band images with it as it scales RGB with the 8-bit resize.
import type { BandImage } from './band-image.js';
import { type PilFilter, resampleWeights } from './resize-cpu.js';

function horizontal(src: BandImage, outW: number, filter: PilFilter): BandImage {
  const { start, count, weights, ksize } = resampleWeights(src.width, outW, filter);
  const C = src.channels;
  const out = new Float32Array(outW * src.height * C);
  for (let y = 0; y < src.height; y++) {
    const rowIn = y * src.width * C;
    const rowOut = y * outW * C;
    for (let x = 0; x < outW; x++) {
      for (let c = 0; c < C; c++) {
        let s = 0;
        for (let i = 0; i < count[x]; i++) s += src.normalized[rowIn + (start[x] + i) * C + c] * weights[x * ksize + i];
        out[rowOut + x * C + c] = s;
      }
    }
  }
  return { width: outW, height: src.height, channels: C, normalized: out };
}

function vertical(src: BandImage, outH: number, filter: PilFilter): BandImage {
  const { start, count, weights, ksize } = resampleWeights(src.height, outH, filter);
  const rowLen = src.width * src.channels;
  const out = new Float32Array(rowLen * outH);
  for (let y = 0; y < outH; y++) {
    for (let k = 0; k < rowLen; k++) {
      let s = 0;
      for (let i = 0; i < count[y]; i++) s += src.normalized[(start[y] + i) * rowLen + k] * weights[y * ksize + i];
      out[y * rowLen + k] = s;
    }
  }
  return { width: src.width, height: outH, channels: src.channels, normalized: out };
}

/** The bands resized to outW x outH as PIL resizes a mode 'F' image (BILINEAR by default); a pass whose size does not change is skipped. */
export function resizeBands(img: BandImage, outW: number, outH: number, filter: PilFilter = 'bilinear'): BandImage {
  if (!Number.isInteger(outW) || !Number.isInteger(outH) || outW < 1 || outH < 1) throw new Error(`resizeBands: output size must be positive integers, got ${outW}x${outH}`);
  let cur = img;
  if (outW !== img.width) cur = horizontal(cur, outW, filter);
  if (outH !== img.height) cur = vertical(cur, outH, filter);
  return cur;
}
