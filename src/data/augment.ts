// The paper's training augmentation of one (image, label) pair: a random scale in [0.5, 2.0]
// (image bilinear as PIL resizes it, label nearest-neighbour: a label is never interpolated),
// a random crop of crop x crop (padded with the mean pixel and the ignore label where the scaled
// image is smaller), and a random left-right flip. Deterministic given the generator.
import type { RgbImage } from '../io/image.js';
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

export function augment(img: RgbImage, label: Label, rng: Rng, o: AugmentOptions): { image: RgbImage; label: Label } {
  if (img.width !== label.width || img.height !== label.height) {
    throw new Error(`augment: image ${img.width}x${img.height} and label ${label.width}x${label.height} differ in size`);
  }
  const [lo, hi] = o.scale ?? [0.5, 2.0];
  const s = rng.uniform(lo, hi);
  const w = Math.max(1, Math.round(img.width * s));
  const h = Math.max(1, Math.round(img.height * s));
  const scaled = w === img.width && h === img.height ? img : resizeRgbPil(img, w, h);
  const scaledLabel = w === img.width && h === img.height ? label : resizeLabelNearest(label, w, h);
  const C = o.crop;
  // Where the crop starts; negative where the scaled image is smaller (the rest is padding).
  const x0 = w >= C ? rng.int(w - C + 1) : -rng.int(C - w + 1);
  const y0 = h >= C ? rng.int(h - C + 1) : -rng.int(C - h + 1);
  const flip = (o.flip ?? true) && rng.uniform() < 0.5;
  const pad = o.padColor ?? MEAN_PIXEL;
  const data = new Uint8Array(C * C * 3);
  const indices = new Uint8Array(C * C);
  for (let y = 0; y < C; y++) {
    for (let x = 0; x < C; x++) {
      const sx = x0 + (flip ? C - 1 - x : x);
      const sy = y0 + y;
      const d = y * C + x;
      if (sx < 0 || sy < 0 || sx >= w || sy >= h) {
        data.set(pad, 3 * d);
        indices[d] = o.ignoreIndex;
      } else {
        const s3 = 3 * (sy * w + sx);
        data[3 * d] = scaled.data[s3];
        data[3 * d + 1] = scaled.data[s3 + 1];
        data[3 * d + 2] = scaled.data[s3 + 2];
        indices[d] = scaledLabel.indices[sy * w + sx];
      }
    }
  }
  return { image: { width: C, height: C, data }, label: { width: C, height: C, indices } };
}
