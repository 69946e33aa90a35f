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
interface CropPlan {
  w: number;
  h: number;
  x0: number;
  y0: number;
  flip: boolean;
}

/** The augmentation's draws for an image of width x height, in the order the generator gives them (scale, x, y, flip). */
function cropPlan(width: number, height: number, rng: Rng, o: AugmentOptions): CropPlan {
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

/**
 * The crop's pixels and labels: `copy(d, s)` copies scaled pixel s into crop pixel d, `pad(d)`
 * fills crop pixel d with padding (its label the ignore index).
 */
function cropPixels(plan: CropPlan, scaledLabel: Label, o: AugmentOptions, copy: (d: number, s: number) => void, pad: (d: number) => void): Label {
  const C = o.crop;
  const { w, h, x0, y0, flip } = plan;
  const indices = new Uint8Array(C * C);
  for (let y = 0; y < C; y++) {
    for (let x = 0; x < C; x++) {
      const sx = x0 + (flip ? C - 1 - x : x);
      const sy = y0 + y;
      const d = y * C + x;
      if (sx < 0 || sy < 0 || sx >= w || sy >= h) {
        pad(d);
        indices[d] = o.ignoreIndex;
      } else {
        copy(d, sy * w + sx);
        indices[d] = scaledLabel.indices[sy * w + sx];
      }
    }
  }
  return { width: C, height: C, indices };
}

export function augment(img: RgbImage, label: Label, rng: Rng, o: AugmentOptions): { image: RgbImage; label: Label } {
  checkSizes(img, label);
  const plan = cropPlan(img.width, img.height, rng, o);
  const { w, h } = plan;
  const same = w === img.width && h === img.height;
  const scaled = same ? img : resizeRgbPil(img, w, h);
  const C = o.crop;
  const padColor = o.padColor ?? MEAN_PIXEL;
  const data = new Uint8Array(C * C * 3);
  const copy = (d: number, s: number): void => {
    data[3 * d] = scaled.data[3 * s];
    data[3 * d + 1] = scaled.data[3 * s + 1];
    data[3 * d + 2] = scaled.data[3 * s + 2];
  };
  const cropped = cropPixels(plan, same ? label : resizeLabelNearest(label, w, h), o, copy, (d) => data.set(padColor, 3 * d));
  return { image: { width: C, height: C, data }, label: cropped };
}

/**
 * The same augmentation of normalised bands: the same draws from the generator (an RGB image
 * and bands of its size get the same crop), the scale by Pillow's float resize (resize-bands.ts),
 * the padding 0, which is the mean pixel once normalised.
 */
export function augmentBands(img: BandImage, label: Label, rng: Rng, o: AugmentOptions): { image: BandImage; label: Label } {
  checkSizes(img, label);
  const plan = cropPlan(img.width, img.height, rng, o);
  const { w, h } = plan;
  const same = w === img.width && h === img.height;
  const scaled = same ? img : resizeBands(img, w, h);
  const C = o.crop;
  const K = img.channels;
  const normalized = new Float32Array(C * C * K);
  const copy = (d: number, s: number): void => normalized.set(scaled.normalized.subarray(s * K, (s + 1) * K), d * K);
  const cropped = cropPixels(plan, same ? label : resizeLabelNearest(label, w, h), o, copy, () => {});
  return { image: { width: C, height: C, channels: K, normalized }, label: cropped };
}

/** The augmentation of a still image as the pipelines carry it: RGB bytes (augment) or normalised bands (augmentBands). */
export function augmentStill(img: StillImage, label: Label, rng: Rng, o: AugmentOptions): { image: StillImage; label: Label } {
  return isBandImage(img) ? augmentBands(img, label, rng, o) : augment(img, label, rng, o);
}
