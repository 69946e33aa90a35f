// The crops of teaching from strokes (teach-data.ts's samples):
//  - each step's, centred where the strokes are (cropAt 'strokes'): crop i of the run (step x
//    batch + k) takes sample i mod count and, in turn, each class painted there, a painted pixel
//    of it at random, and the crop around it at a random scale, shifted by up to a quarter of the
//    crop and maybe flipped; strokes a few pixels wide on a large image are then in every crop, as
//    they seldom are in crops drawn anywhere (cropAt 'anywhere': `deeplab train`'s augmentation);
//  - the held-out strokes' windows: each sample at scale 1, unflipped, in as few crop x crop
//    windows as cover it, each held-out pixel counted in one window only, with the starting
//    model's classes where nothing is painted where the run distils.
// Every draw comes from the generator of (seed, step, k), so a resumed run draws what a run never
// stopped would have.
import { type AugmentOptions, type CropPlan, cropPlan, cropWithPlan } from '../data/augment.js';
import type { Label } from '../data/dataset.js';
import { normalizeInput } from '../model/input-policy.js';
import type { LoadedWeights } from '../model/loading/load-weights.js';
import { Rng } from '../util/random.js';
import type { StrokeSample } from './teach-data.js';
import { UNLABELLED } from './teach-samples.js';
import type { MicroBatch } from './trainer.js';

export interface StrokeCropOptions {
  crop: number;
  scale: [number, number];
  flip: boolean;
  seed: number;
  cropAt: 'strokes' | 'anywhere';
}

/** Draws of a crop anywhere before one with no painted pixel is taken as it is (it teaches nothing). */
const MAX_DRAWS = 20;

const clamp = (v: number, lo: number, hi: number): number => Math.min(hi, Math.max(lo, v));

/** A crop around a painted pixel of the class `cls` (an index into the sample's byClass). */
function planAtStroke(s: StrokeSample, cls: number, rng: Rng, o: StrokeCropOptions): CropPlan {
  const { width, height } = s.label;
  const scale = rng.uniform(o.scale[0], o.scale[1]);
  const w = Math.max(1, Math.round(width * scale));
  const h = Math.max(1, Math.round(height * scale));
  const { pixels } = s.byClass[cls];
  const p = pixels[rng.int(pixels.length)];
  const C = o.crop;
  const cx = ((p % width) + 0.5) * scale + rng.uniform(-C / 4, C / 4);
  const cy = (Math.floor(p / width) + 0.5) * scale + rng.uniform(-C / 4, C / 4);
  const x0 = clamp(Math.round(cx - C / 2), Math.min(0, w - C), Math.max(0, w - C));
  const y0 = clamp(Math.round(cy - C / 2), Math.min(0, h - C), Math.max(0, h - C));
  const flip = o.flip && rng.uniform() < 0.5;
  return { w, h, x0, y0, flip };
}

/** One step's crops (batch of them), with the starting model's classes where the step distils. */
export function strokeBatch(samples: readonly StrokeSample[], step: number, weights: LoadedWeights, o: StrokeCropOptions, batch: number, distill: boolean): MicroBatch {
  const C = o.crop;
  const channels = weights.config.inChannels ?? 3;
  const images = new Float32Array(batch * C * C * channels);
  const labels = new Uint32Array(batch * C * C);
  const taught = distill ? new Uint32Array(batch * C * C) : undefined;
  const augment: AugmentOptions = { crop: C, scale: o.scale, flip: o.flip, ignoreIndex: UNLABELLED };
  for (let k = 0; k < batch; k++) {
    const i = step * batch + k;
    const s = samples[i % samples.length];
    const rng = Rng.derive(o.seed, 0x7eac, step, k);
    const maps = distill && s.teacher ? [s.label, s.teacher] : [s.label];
    let plan: CropPlan;
    if (o.cropAt === 'strokes' && s.byClass.length > 0) {
      plan = planAtStroke(s, Math.floor(i / samples.length) % s.byClass.length, rng, o);
    } else {
      plan = cropPlan(s.label.width, s.label.height, rng, augment);
      for (let draw = 1; draw < MAX_DRAWS && !paintedIn(cropWithPlan(s.image, [s.label], plan, augment).labels[0]); draw++) plan = cropPlan(s.label.width, s.label.height, rng, augment);
    }
    const crop = cropWithPlan(s.image, maps, plan, augment);
    images.set(normalizeInput(weights.inputPolicy, weights.config, crop.image), k * C * C * channels);
    labels.set(crop.labels[0].indices, k * C * C);
    if (taught) taught.set(crop.labels[1]?.indices ?? new Uint8Array(C * C).fill(UNLABELLED), k * C * C);
  }
  return taught ? { images, labels, distill: taught } : { images, labels };
}

const paintedIn = (l: Label): boolean => l.indices.some((v) => v !== UNLABELLED);

/** Window corners along a side of `size` pixels: as few windows of `crop` as cover it, evenly spread. */
function corners(size: number, crop: number): number[] {
  if (size <= crop) return [0];
  const n = Math.ceil(size / crop);
  return Array.from({ length: n }, (_, j) => Math.round((j * (size - crop)) / (n - 1)));
}

/** A pass over held-out windows, and how many held-out and distilled pixels it counts. */
export interface HeldOutPass {
  batch: MicroBatch;
  pixels: number;
  /** Pixels whose distillation label (the starting model's class) the pass measures. */
  distilled: number;
}

/**
 * The held-out strokes in passes of `batch` windows (slots past the last window repeat it with
 * nothing labelled, which the loss's mean leaves out). Where the step distils, a pass's
 * distillation labels are the starting model's classes where nothing is painted, so that it
 * measures how far the model has moved from them too; each such pixel is counted in one window
 * only, and the windows of a sample without held-out strokes carry them alone.
 */
export function heldOutPasses(samples: readonly StrokeSample[], weights: LoadedWeights, crop: number, batch: number, distill: boolean): HeldOutPass[] {
  const C = crop;
  const augment: AugmentOptions = { crop: C, scale: [1, 1], flip: false, ignoreIndex: UNLABELLED };
  const windows: { image: Float32Array; labels: Uint8Array; teacher: Uint8Array | null; pixels: number; distilled: number }[] = [];
  if (!samples.some((s) => s.heldOut)) return [];
  for (const s of samples) {
    const teacher = distill ? s.teacher : null;
    if (!s.heldOut && !teacher) continue;
    const { width, height } = s.label;
    const claimed = new Uint8Array(width * height);
    const claimedTeacher = new Uint8Array(width * height);
    for (const y0 of corners(height, C)) {
      for (const x0 of corners(width, C)) {
        const mine = new Uint8Array(width * height).fill(UNLABELLED);
        const taught = new Uint8Array(width * height).fill(UNLABELLED);
        let pixels = 0;
        let distilled = 0;
        for (let y = y0; y < Math.min(height, y0 + C); y++) {
          for (let x = x0; x < Math.min(width, x0 + C); x++) {
            const p = y * width + x;
            if (s.heldOut && s.heldOut.indices[p] !== UNLABELLED && !claimed[p]) {
              claimed[p] = 1;
              mine[p] = s.heldOut.indices[p];
              pixels++;
            }
            if (teacher && teacher.indices[p] !== UNLABELLED && !claimedTeacher[p]) {
              claimedTeacher[p] = 1;
              taught[p] = teacher.indices[p];
              distilled++;
            }
          }
        }
        if (pixels === 0 && distilled === 0) continue;
        const maps = [{ width, height, indices: mine }, { width, height, indices: taught }];
        const cropped = cropWithPlan(s.image, maps, { w: width, h: height, x0, y0, flip: false }, augment);
        const image = normalizeInput(weights.inputPolicy, weights.config, cropped.image);
        windows.push({ image, labels: cropped.labels[0].indices, teacher: teacher ? cropped.labels[1].indices : null, pixels, distilled });
      }
    }
  }
  const passes: HeldOutPass[] = [];
  for (let first = 0; first < windows.length; first += batch) {
    const group = windows.slice(first, first + batch);
    const channels = group[0].image.length / (C * C);
    const images = new Float32Array(batch * C * C * channels);
    const labels = new Uint32Array(batch * C * C).fill(UNLABELLED);
    const taught = new Uint32Array(batch * C * C).fill(UNLABELLED);
    for (let k = 0; k < batch; k++) {
      const wnd = group[Math.min(k, group.length - 1)];
      images.set(wnd.image, k * C * C * channels);
      if (k >= group.length) continue;
      labels.set(wnd.labels, k * C * C);
      if (wnd.teacher) taught.set(wnd.teacher, k * C * C);
    }
    const pass: MicroBatch = distill ? { images, labels, distill: taught } : { images, labels };
    passes.push({ batch: pass, pixels: group.reduce((n, wnd) => n + wnd.pixels, 0), distilled: group.reduce((n, wnd) => n + wnd.distilled, 0) });
  }
  return passes;
}
