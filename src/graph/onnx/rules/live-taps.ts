// A convolution's taps that read only padding, left out of a training step's ONNX. A dilated
// convolution on a small map (DeepLabv3's ASPP at rates 12, 24 and 36 on the 9x9 map of a crop of
// 129, or 17x17 of 257) has taps whose every window falls in the padding: they add zeros to the
// output and to the input's gradient, and their weights' gradients are zero. The convolution over
// the live taps alone (the kernel cropped, the padding less the rows and columns dropped) gives the
// same output; a rate-24 branch on a 9x9 map is then a 1x1 convolution. (The taps were 29 % of a
// step of DeepLabv3-ResNet-50 at batch 2, crop 129, on the 2-core EPYC host.) Rules crop only
// where the weight is read at run time (state as graph inputs), so an exported file keeps its
// weights as they are.
import type { Conv2dParams } from '../../../kernels/conv2d/params.js';
import type { OnnxEmitter } from '../emitter.js';
import { onnxSteps } from './steps.js';

/** The live taps of a convolution: the kernel's rows [r0, r1) and columns [c0, c1), and the convolution over them. */
export interface LiveTaps {
  rows: [number, number];
  cols: [number, number];
  /** The cropped kernel's height and width. */
  kernel: [number, number];
  /** The attributes of the convolution over the cropped kernel (its padding less the taps dropped). */
  attrs: Required<Conv2dParams>;
}

/**
 * One axis: the first and last live tap and the cropped padding, for a map of `size` read into
 * `out` positions by a kernel of `k` taps (stride s, dilation d, padding p0 before); null where
 * the cropped convolution would not fit ONNX's padding (it then keeps every tap).
 */
function liveAxis(size: number, out: number, k: number, s: number, d: number, p0: number): { first: number; last: number; before: number; after: number } | null {
  // Tap t reads rows -p0 + t d up to (out - 1) s - p0 + t d: live where that range meets [0, size).
  const live = (t: number): boolean => (out - 1) * s - p0 + t * d >= 0 && -p0 + t * d <= size - 1;
  let first = 0;
  while (first < k && !live(first)) first++;
  let last = k - 1;
  while (last >= first && !live(last)) last--;
  if (first > last) return null;
  const before = p0 - first * d;
  // Padding after: the last window's reach past the map (none where it stops short of the end).
  const after = Math.max(0, (out - 1) * s + (last - first) * d + 1 - size - before);
  const positions = Math.floor((size + before + after - (last - first) * d - 1) / s) + 1;
  return before < 0 || positions !== out ? null : { first, last, before, after };
}

/**
 * The live taps of a convolution of NHWC `inputShape` into `outputShape` by a [kh, kw] kernel;
 * null where every tap reads some of the input (or cropping does not fit ONNX's padding).
 */
export function liveTaps(inputShape: readonly number[], outputShape: readonly number[], kernel: readonly [number, number], a: Required<Conv2dParams>): LiveTaps | null {
  const [, h, w] = inputShape;
  const [, oh, ow] = outputShape;
  const [kh, kw] = kernel;
  const rows = liveAxis(h, oh, kh, a.strideH, a.dilationH, a.padTop);
  const cols = liveAxis(w, ow, kw, a.strideW, a.dilationW, a.padLeft);
  if (!rows || !cols) return null;
  if (rows.first === 0 && rows.last === kh - 1 && cols.first === 0 && cols.last === kw - 1) return null;
  return {
    rows: [rows.first, rows.last + 1],
    cols: [cols.first, cols.last + 1],
    kernel: [rows.last - rows.first + 1, cols.last - cols.first + 1],
    attrs: { ...a, padTop: rows.before, padBottom: rows.after, padLeft: cols.before, padRight: cols.after },
  };
}

/** The live taps of a convolution whose weight the step reads at run time; null where it has none to drop, or its weight is written into the file. */
export function liveTapsAtRunTime(g: OnnxEmitter, inputShape: readonly number[], outputShape: readonly number[], kernel: readonly [number, number], a: Required<Conv2dParams>): LiveTaps | null {
  return g.stateIsInput ? liveTaps(inputShape, outputShape, kernel, a) : null;
}

/**
 * The [kh kw, kh' kw'] matrix that picks the live taps out of a kernel's taps (row-major, each
 * live tap's column a one at its place in the kernel). A matrix product with it moves values
 * exactly (products by one, sums with zeros), in one pass on both cores: ONNX Runtime's Slice and
 * Pad on the last two axes of an ASPP weight took 11 and 33 ms where this takes a few.
 */
function tapPicker(taps: LiveTaps, kernel: readonly [number, number]): number[] {
  const [kh, kw] = kernel;
  const [ch, cw] = taps.kernel;
  const m = new Array<number>(kh * kw * ch * cw).fill(0);
  for (let r = 0; r < ch; r++) for (let c = 0; c < cw; c++) m[((taps.rows[0] + r) * kw + taps.cols[0] + c) * ch * cw + r * cw + c] = 1;
  return m;
}

/**
 * An OIHW weight tensor ([O, I] `channels`, a kernel of `kernel`) cropped to the live taps, once
 * a step (the forward convolution and its input's gradient share it).
 */
export function cropToLiveTaps(g: OnnxEmitter, weight: string, channels: readonly [number, number], kernel: readonly [number, number], taps: LiveTaps): string {
  return g.shared(`${weight}|taps ${taps.rows} ${taps.cols}`, () => {
    const s = onnxSteps(g);
    const [o, i] = channels;
    const picked = s.op('MatMul', [s.reshape(weight, [o * i, kernel[0] * kernel[1]]), s.floats([kernel[0] * kernel[1], taps.kernel[0] * taps.kernel[1]], tapPicker(taps, kernel))]);
    return s.reshape(picked, [o, i, ...taps.kernel]);
  });
}

/** The gradient of the cropped OIHW kernel as the whole kernel's, into `out`: zeros at the taps dropped. */
export function padToWholeKernel(g: OnnxEmitter, cropped: string, channels: readonly [number, number], kernel: readonly [number, number], taps: LiveTaps, out: string): void {
  const s = onnxSteps(g);
  const [o, i] = channels;
  const picker = tapPicker(taps, kernel);
  const [rows, cols] = [kernel[0] * kernel[1], taps.kernel[0] * taps.kernel[1]];
  const spread = Array.from({ length: rows * cols }, (_, k) => picker[(k % rows) * cols + Math.floor(k / rows)]);
  const whole = s.op('MatMul', [s.reshape(cropped, [o * i, cols]), s.floats([cols, rows], spread)]);
  s.reshape(whole, [o, i, ...kernel], out);
}
