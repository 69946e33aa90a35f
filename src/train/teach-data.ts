// fineTune's samples made ready for teaching from strokes (teach-recipe.ts):
//  - at the size the network sees them (sampleSize 'network'): segment() resizes an image to the
//    network's input, so crops of the image as given would show the network its objects at
//    another scale (a phone photo 15x larger, VOC's 2x for a 257 model). The strokes are resized
//    keeping every stroke (a pixel takes the painted class its footprint holds most);
//  - the strokes split into those taught on and those held out (stroke-split.ts);
//  - the starting model's classes where nothing is painted, which the distillation term keeps
//    (Learning without Forgetting, Li and Hoiem 2016, with hard targets), mapped by class name
//    onto a new class list (a class the new list lacks is not distilled);
//  - the painted pixels of each class, for crops centred on the strokes (teach-crops.ts).
import { resizeLabelNearest } from '../data/augment.js';
import type { Label } from '../data/dataset.js';
import { type StillImage, isBandImage } from '../io/band-image.js';
import { imageSizeInInput, resizeForNetwork } from '../model/input-policy.js';
import type { LoadedWeights } from '../model/loading/load-weights.js';
import type { DeepLabModel } from '../model/model.js';
import { splitStrokes } from './stroke-split.js';
import { type PreparedSample, UNLABELLED } from './teach-samples.js';

/** A sample as the recipe teaches it. */
export interface StrokeSample {
  image: StillImage;
  /** The strokes taught on. */
  label: Label;
  /** The strokes held out (null: none). */
  heldOut: Label | null;
  /** The starting model's classes where nothing is painted (UNLABELLED elsewhere); null: not distilled. */
  teacher: Label | null;
  /** Each class painted in `label` (ascending) with its pixels. */
  byClass: { cls: number; pixels: Uint32Array }[];
}

export interface StrokeDataOptions {
  sampleSize: 'network' | 'image';
  holdOut: number;
  distill: number;
  seed: number;
}

/**
 * Strokes resized to width x height: each pixel takes the class painted most in the source pixels
 * it covers (its own centre's where that is painted), so that no stroke vanishes in a downscale.
 */
export function resizeStrokes(l: Label, width: number, height: number): Label {
  if (width >= l.width && height >= l.height) return resizeLabelNearest(l, width, height);
  const out = new Uint8Array(width * height).fill(UNLABELLED);
  const counts = new Map<number, number>();
  for (let y = 0; y < height; y++) {
    const y0 = Math.floor((y * l.height) / height);
    const y1 = Math.max(y0 + 1, Math.floor(((y + 1) * l.height) / height));
    const cy = Math.min(l.height - 1, Math.floor(((y + 0.5) * l.height) / height));
    for (let x = 0; x < width; x++) {
      const cx = Math.min(l.width - 1, Math.floor(((x + 0.5) * l.width) / width));
      const centre = l.indices[cy * l.width + cx];
      if (centre !== UNLABELLED) {
        out[y * width + x] = centre;
        continue;
      }
      const x0 = Math.floor((x * l.width) / width);
      const x1 = Math.max(x0 + 1, Math.floor(((x + 1) * l.width) / width));
      counts.clear();
      for (let sy = y0; sy < y1; sy++) {
        for (let sx = x0; sx < x1; sx++) {
          const c = l.indices[sy * l.width + sx];
          if (c !== UNLABELLED) counts.set(c, (counts.get(c) ?? 0) + 1);
        }
      }
      let best = UNLABELLED;
      let most = 0;
      for (const [c, n] of counts) if (n > most || (n === most && c < best)) [best, most] = [c, n];
      out[y * width + x] = best;
    }
  }
  return { width, height, indices: out };
}

/** The image at the size the network takes it in (bands, which segment() never resamples, as they are). */
function atNetworkSize(weights: LoadedWeights, image: StillImage): StillImage {
  if (isBandImage(image)) return image;
  const [h, w] = imageSizeInInput(weights.inputPolicy, image.width, image.height);
  return h === image.height && w === image.width ? image : resizeForNetwork(weights.inputPolicy, image, h, w);
}

/** Each class painted in a label map with its pixels, ascending by class. */
export function paintedByClass(l: Label): { cls: number; pixels: Uint32Array }[] {
  const lists = new Map<number, number[]>();
  for (let p = 0; p < l.indices.length; p++) {
    const c = l.indices[p];
    if (c !== UNLABELLED) (lists.get(c) ?? lists.set(c, []).get(c)!).push(p);
  }
  return [...lists.keys()].sort((a, b) => a - b).map((cls) => ({ cls, pixels: Uint32Array.from(lists.get(cls)!) }));
}

/** The starting model's class map of an image as the pipelines carry it. */
export async function modelClasses(model: DeepLabModel, image: StillImage): Promise<Uint8Array> {
  if (!isBandImage(image)) return (await model.segment(image)).classes;
  // Bands are normalised already: given as float bands with mean 0 and std 1 they reach the network as they are.
  const ones = Array.from({ length: image.channels }, () => 1);
  const bands = { width: image.width, height: image.height, channels: image.channels, data: image.normalized, layout: 'interleaved' as const };
  return (await model.segment(bands, { mean: ones.map(() => 0), std: ones })).classes;
}

/**
 * The samples as the recipe teaches them. `teacherClass[c]` is the index in the trained class list
 * of the starting model's class c (UNLABELLED: not distilled).
 */
export async function strokeSamples(model: DeepLabModel, weights: LoadedWeights, prepared: readonly PreparedSample[], o: StrokeDataOptions, teacherClass: Uint8Array): Promise<StrokeSample[]> {
  const out: StrokeSample[] = [];
  for (const [i, s] of prepared.entries()) {
    const { width, height } = s.label;
    const split = splitStrokes(s.label.indices, width, height, o.holdOut, o.seed + i, UNLABELLED);
    const image = o.sampleSize === 'network' ? atNetworkSize(weights, s.image) : s.image;
    const sized = (indices: Uint8Array): Label => resizeStrokes({ width, height, indices }, image.width, image.height);
    const label = sized(split.train);
    const heldOut = split.heldOut ? sized(split.heldOut) : null;
    let teacher: Label | null = null;
    if (o.distill > 0) {
      const classes = await modelClasses(model, image);
      const indices = new Uint8Array(classes.length);
      for (let p = 0; p < classes.length; p++) {
        const painted = label.indices[p] !== UNLABELLED || (heldOut !== null && heldOut.indices[p] !== UNLABELLED);
        indices[p] = painted ? UNLABELLED : teacherClass[classes[p]];
      }
      teacher = { width: image.width, height: image.height, indices };
    }
    out.push({ image, label, heldOut, teacher, byClass: paintedByClass(label) });
  }
  return out;
}

/**
 * Per-class weights of the strokes' cross-entropy, (1 / pixels painted)^power normalised to a
 * mean of 1 over the pixels: at power 1 each class painted weighs the same in all (a class painted
 * in a few pixels, a small object, counts as much as the background painted across the image, as
 * mIoU counts each class once); at 0 each pixel weighs the same. Classes not painted weigh 1 (no
 * pixel of theirs is in the loss).
 */
export function balancedClassWeights(samples: readonly StrokeSample[], numClasses: number, power: number): Float32Array {
  const counts = new Float64Array(numClasses);
  for (const s of samples) for (const { cls, pixels } of s.byClass) counts[cls] += pixels.length;
  const raw = Array.from(counts, (n) => (n > 0 ? n ** -power : 1));
  let total = 0;
  let weighed = 0;
  counts.forEach((n, c) => {
    total += n;
    weighed += n * raw[c];
  });
  return Float32Array.from(raw, (w, c) => (counts[c] > 0 ? (w * total) / weighed : 1));
}
