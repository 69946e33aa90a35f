// mmseg's sliding-window test (test_cfg mode 'slide', EncoderDecoder.slide_inference) for the
// models whose config uses it: the image is resized by the model's keep-ratio policy, windows of
// `crop` pixels every `stride` pixels (the last of each row and column moved back to end on the
// edge) each go through the network at their own size, and every pixel's logits are the average
// of the windows covering it. Those averaged logits are then resized to the image with the
// network's align_corners and the argmax taken, as mmseg resizes seg_logits to the original shape.
//
// The windows run and blend on the model's device (src/model/tiled.ts, equal weights, logits);
// the final resize to the image runs here on the host, one output row at a time, so no full-size
// logits are kept unless probabilities are asked for.
import type { RgbImage } from '../io/rgb-image.js';
import type { ResizeMode } from '../kernels/resize/resize.js';
import type { SegmentResult } from './segment-options.js';
import type { SlideWindows } from './loading/options.js';
import { type TileHost, segmentTiled } from './tiled.js';

/** What the slide needs of a model besides tiled inference's host. */
export interface SlideHost extends TileHost {
  /** The network's input size [height, width] for the whole image (the keep-ratio resize). */
  testSize(width: number, height: number): [number, number];
  /** The image resized to [height, width] by the model's pipeline. */
  resize(img: RgbImage, height: number, width: number): RgbImage;
  /** The network's resize mode (its align_corners). */
  resizeMode: ResizeMode;
}

/** Source coordinate of output index d, as the resize kernel computes it (src/kernels/resize/resize.ts). */
function source(d: number, inSize: number, outSize: number, mode: ResizeMode): number {
  if (mode === 'align_corners') return outSize > 1 ? (d * (inSize - 1)) / (outSize - 1) : 0;
  if (mode === 'half_pixel') return Math.max(((d + 0.5) * inSize) / outSize - 0.5, 0);
  return (d * inSize) / outSize;
}

function taps(src: number, inSize: number): [number, number, number] {
  const i0 = Math.min(Math.floor(src), inSize - 1);
  return [i0, Math.min(i0 + 1, inSize - 1), src - i0];
}

/** In place: softmax over the classes of every pixel of [pixels, C] values. */
export function softmaxRows(values: Float32Array, C: number): Float32Array {
  for (let p = 0; p < values.length; p += C) {
    let max = -Infinity;
    for (let c = 0; c < C; c++) max = Math.max(max, values[p + c]);
    let sum = 0;
    for (let c = 0; c < C; c++) sum += Math.exp(values[p + c] - max);
    for (let c = 0; c < C; c++) values[p + c] = Math.exp(values[p + c] - max) / sum;
  }
  return values;
}

/**
 * Logits [h, w, C] resized bilinearly to [H, W] and argmaxed (ties to the lowest class); the
 * resized logits too when `keep`.
 */
export function resizeLogitsArgmax(logits: Float32Array, h: number, w: number, C: number, H: number, W: number, mode: ResizeMode, keep: boolean): { classes: Uint8Array; logits?: Float32Array } {
  const classes = new Uint8Array(H * W);
  const out = keep ? new Float32Array(H * W * C) : undefined;
  const row = new Float64Array(C);
  const xs = Array.from({ length: W }, (_, x) => taps(source(x, w, W, mode), w));
  for (let y = 0; y < H; y++) {
    const [y0, y1, ly] = taps(source(y, h, H, mode), h);
    for (let x = 0; x < W; x++) {
      const [x0, x1, lx] = xs[x];
      const a = (y0 * w + x0) * C;
      const b = (y0 * w + x1) * C;
      const c0 = (y1 * w + x0) * C;
      const d = (y1 * w + x1) * C;
      let best = 0;
      for (let c = 0; c < C; c++) {
        const top = (1 - lx) * logits[a + c] + lx * logits[b + c];
        const bottom = (1 - lx) * logits[c0 + c] + lx * logits[d + c];
        row[c] = (1 - ly) * top + ly * bottom;
        if (row[c] > row[best]) best = c;
      }
      classes[y * W + x] = best;
      if (out) out.set(row, (y * W + x) * C);
    }
  }
  return { classes, logits: out };
}

/** One image by mmseg's slide; `probabilities` when asked for are the softmax of the resized averaged logits. */
export async function segmentSlide(
  host: SlideHost,
  img: RgbImage,
  slide: SlideWindows,
  opts: { batchSize: number; keepProbabilities: boolean; onProgress?: (done: number, total: number) => void },
): Promise<SegmentResult> {
  const [h, w] = host.testSize(img.width, img.height);
  const scaled = host.resize(img, h, w);
  const same = h === img.height && w === img.width;
  const tiled = await segmentTiled(host, scaled, {
    tile: slide.crop,
    overlap: 0,
    stride: slide.stride,
    blend: 'logits',
    windowResizeMode: host.resizeMode,
    batchSize: opts.batchSize,
    keepProbabilities: opts.keepProbabilities || !same,
    onProgress: opts.onProgress,
  });
  const C = host.numClasses;
  if (same) {
    const result: SegmentResult = { width: img.width, height: img.height, classes: tiled.classes, numClasses: C };
    if (opts.keepProbabilities) result.probabilities = softmaxRows(tiled.probabilities!, C);
    return result;
  }
  const back = resizeLogitsArgmax(tiled.probabilities!, h, w, C, img.height, img.width, host.resizeMode, opts.keepProbabilities);
  const result: SegmentResult = { width: img.width, height: img.height, classes: back.classes, numClasses: C };
  if (opts.keepProbabilities) result.probabilities = softmaxRows(back.logits!, C);
  return result;
}
