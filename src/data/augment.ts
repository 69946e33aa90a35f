// The paper's training augmentation of one (image, label) pair: a random scale in [0.5, 2.0]
// (image bilinear as PIL resizes it, label nearest-neighbour: a label is never interpolated),
// a random crop of crop x crop (padded with the mean pixel and the ignore label where the scaled
// image is smaller), and a random left-right flip. Deterministic given the generator. Bands
// (already normalised) take the same draws and the same geometry (augmentBands).
import { type BandImage, type StillImage, isBandImage } from '../io/band-image.js';
import type { RgbImage } from '../io/image.js';
import { resizeBands } from '../io/resize-bands.js';
import { resizeRgbPil } from '../io/resize-cpu.js';
import type { Rng } from '../util/random.js';
import type { Label } from './dataset.js';

export interface AugmentOptions {
  crop: number;
  /** Scale range (default [0.5, 2.0]); [1, 1] turns scaling off. */
  scale?: [number, number];
  /** Random left-right flip (default true). */
  flip?: boolean;
  ignoreIndex: number;
  /** Padding colour (default the ImageNet mean pixel, [124, 116, 104]). */
  padColor?: [number, number, number];
}

export const MEAN_PIXEL: [number, number, number] = [124, 116, 104];

/** Nearest-neighbour resize of a label map (pixel centres). */
export function resizeLabelNearest(l: Label, w: number, h: number): Label {
  const out = new Uint8Array(w * h);
  for (let y = 0; y < h; y++) {
    const sy = Math.min(l.height - 1, Math.floor(((y + 0.5) * l.height) / h));
    for (let x = 0; x < w; x++) out[y * w + x] = l.indices[sy * l.width + Math.min(l.width - 1, Math.floor(((x + 0.5) * l.width) / w))];
  }
  return { width: w, height: h, indices: out };
}

/** Where one draw of the augmentation puts the crop: the scaled size, the crop's corner (negative where it starts in the padding), the flip. */
export interface CropPlan {
  w: number;
  h: number;
  x0: number;
  y0: number;
  flip: boolean;
}

/** The augmentation's draws for an image of width x height, in the order the generator gives them (scale, x, y, flip). */
export function cropPlan(width: number, height: number, rng: Rng, o: AugmentOptions): CropPlan {
  const [lo, hi] = o.scale ?? [0.5, 2.0];
  const s = rng.uniform(lo, hi);
  const w = Math.max(1, Math.round(width * s));
  const h = Math.max(1, Math.round(height * s));
  const C = o.crop;
  const x0 = w >= C ? rng.int(w - C + 1) : -rng.int(C - w + 1);
  const y0 = h >= C ? rng.int(h - C + 1) : -rng.int(C - h + 1);
  const flip = (o.flip ?? true) && rng.uniform() < 0.5;
  return { w, h, x0, y0, flip };
}

function checkSizes(img: { width: number; height: number }, label: Label): void {
  if (img.width !== label.width || img.height !== label.height) {
    throw new Error(`augment: image ${img.width}x${img.height} and label ${label.width}x${label.height} differ in size`);
  }
}

/** Where crop pixel d = y * C + x comes from in the scaled image (its index there), or -1 in the padding. */
function cropSources(plan: CropPlan, C: number): Int32Array {
  const { w, h, x0, y0, flip } = plan;
  const from = new Int32Array(C * C);
  for (let y = 0; y < C; y++) {
    for (let x = 0; x < C; x++) {
      const sx = x0 + (flip ? C - 1 - x : x);
      const sy = y0 + y;
      from[y * C + x] = sx < 0 || sy < 0 || sx >= w || sy >= h ? -1 : sy * w + sx;
    }
  }
  return from;
}

/** A label map of the image's size scaled as the plan says and cropped (padding: the ignore index). */
function cropLabel(label: Label, plan: CropPlan, from: Int32Array, o: AugmentOptions): Label {
  const scaled = plan.w === label.width && plan.h === label.height ? label : resizeLabelNearest(label, plan.w, plan.h);
  const indices = new Uint8Array(from.length);
  for (let d = 0; d < from.length; d++) indices[d] = from[d] < 0 ? o.ignoreIndex : scaled.indices[from[d]];
  return { width: o.crop, height: o.crop, indices };
}

function cropRgb(img: RgbImage, plan: CropPlan, from: Int32Array, o: AugmentOptions): RgbImage {
  const scaled = plan.w === img.width && plan.h === img.height ? img : resizeRgbPil(img, plan.w, plan.h);
  const padColor = o.padColor ?? MEAN_PIXEL;
  const data = new Uint8Array(from.length * 3);
  for (let d = 0; d < from.length; d++) {
    if (from[d] < 0) data.set(padColor, 3 * d);
    else data.set(scaled.data.subarray(3 * from[d], 3 * from[d] + 3), 3 * d);
  }
  return { width: o.crop, height: o.crop, data };
}

/** Bands scaled by Pillow's float resize (resize-bands.ts), padded with 0, which is the mean pixel once normalised. */
function cropBands(img: BandImage, plan: CropPlan, from: Int32Array, o: AugmentOptions): BandImage {
  const scaled = plan.w === img.width && plan.h === img.height ? img : resizeBands(img, plan.w, plan.h);
  const K = img.channels;
  const normalized = new Float32Array(from.length * K);
  for (let d = 0; d < from.length; d++) if (from[d] >= 0) normalized.set(scaled.normalized.subarray(from[d] * K, (from[d] + 1) * K), d * K);
  return { width: o.crop, height: o.crop, channels: K, normalized };
}

/**
 * The crop `plan` of a still image and of label maps of its size (each scaled nearest-neighbour
 * and cropped alike: the strokes and, say, another model's classes of the same pixels).
 */
export function cropWithPlan(img: StillImage, labels: readonly Label[], plan: CropPlan, o: AugmentOptions): { image: StillImage; labels: Label[] } {
  for (const l of labels) checkSizes(img, l);
  const from = cropSources(plan, o.crop);
  const image = isBandImage(img) ? cropBands(img, plan, from, o) : cropRgb(img, plan, from, o);
  return { image, labels: labels.map((l) => cropLabel(l, plan, from, o)) };
}

export function augment(img: RgbImage, label: Label, rng: Rng, o: AugmentOptions): { image: RgbImage; label: Label } {
  checkSizes(img, label);
  const plan = cropPlan(img.width, img.height, rng, o);
  const from = cropSources(plan, o.crop);
  return { image: cropRgb(img, plan, from, o), label: cropLabel(label, plan, from, o) };
}

/**
 * The same augmentation of normalised bands: the same draws from the generator (an RGB image
 * and bands of its size get the same crop), the scale by Pillow's float resize, the padding 0.
 */
export function augmentBands(img: BandImage, label: Label, rng: Rng, o: AugmentOptions): { image: BandImage; label: Label } {
  checkSizes(img, label);
  const plan = cropPlan(img.width, img.height, rng, o);
  const from = cropSources(plan, o.crop);
  return { image: cropBands(img, plan, from, o), label: cropLabel(label, plan, from, o) };
}
