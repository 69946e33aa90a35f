// fineTune's samples made ready for teaching from strokes (teach-recipe.ts):
//  - at the size the network sees them (sampleSize 'network'): segment() resizes an image to the
//    network's input, so crops of the image as given would show the network its objects at
//    another scale (a phone photo 15x larger, VOC's 2x for a 257 model). The strokes are resized
//    keeping every stroke (a pixel takes the painted class its footprint holds most);
//  - the strokes split into those taught on and those held out (stroke-split.ts);
//  - the starting model's classes where nothing is painted, which the distillation term keeps
//    (Learning without Forgetting, Li and Hoiem 2016, with hard targets), mapped by class name
//    onto a new class list (a class the new list lacks is not distilled);
//  - for each class the model lacks and the strokes paint, its parent: the model's class on most
//    of its painted pixels (a road painted on a VOC model: background). The new class is part of
//    what the model calls its parent, so the parent is not distilled where nothing is painted: a
//    road left unpainted would be taught as background (Cermelli et al. 2020, the background's
//    shift), and the new class learned only where it was painted (IoU 0 on CamVid's road);
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

/** The samples, and each painted new class's parent: child index to the parent's index in the starting model's classes. */
export interface StrokeData {
  samples: StrokeSample[];
  parents: Map<number, number>;
  /**
   * Of each class painted (taught or held out), the share of its painted pixels the starting model
   * gives it, averaged over the classes: how far the model can be trusted where nobody painted
   * (null where its classes were not read: nothing distilled, no class new).
   */
  startingRecall: number | null;
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

/** Whether a trained class is new: one no class of the starting model maps onto (`teacherClass`, as strokeSamples takes it). */
export function newClassTest(teacherClass: Uint8Array): (c: number) => boolean {
  const known = new Uint8Array(UNLABELLED + 1);
  for (const c of teacherClass) known[c] = 1;
  return (c) => c !== UNLABELLED && !known[c];
}

/**
 * The samples as the recipe teaches them. `teacherClass[c]` is the index in the trained class list
 * of the starting model's class c (UNLABELLED: not distilled); a trained class no entry of it
 * names is new, and gets a parent where it is painted.
 */
export async function strokeSamples(model: DeepLabModel, weights: LoadedWeights, prepared: readonly PreparedSample[], o: StrokeDataOptions, teacherClass: Uint8Array): Promise<StrokeData> {
  const isNew = newClassTest(teacherClass);
  const sized = prepared.map((s, i) => {
    const { width, height } = s.label;
    const split = splitStrokes(s.label.indices, width, height, o.holdOut, o.seed + i, UNLABELLED);
    const image = o.sampleSize === 'network' ? atNetworkSize(weights, s.image) : s.image;
    const resized = (indices: Uint8Array): Label => resizeStrokes({ width, height, indices }, image.width, image.height);
    return { image, label: resized(split.train), heldOut: split.heldOut ? resized(split.heldOut) : null };
  });
  const paintsNew = sized.some((s) => s.label.indices.some(isNew) || (s.heldOut?.indices.some(isNew) ?? false));
  // The starting model's classes of each image, where they are distilled or a new class needs its parent.
  let starting: Uint8Array[] | null = null;
  if (o.distill > 0 || paintsNew) {
    starting = [];
    for (const s of sized) starting.push(await modelClasses(model, s.image));
  }
  /** The class painted at pixel p, taught or held out (UNLABELLED where nothing is). */
  const painted = (label: Label, heldOut: Label | null, p: number): number => (label.indices[p] !== UNLABELLED ? label.indices[p] : (heldOut?.indices[p] ?? UNLABELLED));
  const parents = new Map<number, number>();
  if (starting && paintsNew) {
    const counts = new Map<number, Map<number, number>>();
    sized.forEach((s, i) => {
      for (let p = 0; p < starting[i].length; p++) {
        const c = painted(s.label, s.heldOut, p);
        if (!isNew(c)) continue;
        const byParent = counts.get(c) ?? counts.set(c, new Map()).get(c)!;
        byParent.set(starting[i][p], (byParent.get(starting[i][p]) ?? 0) + 1);
      }
    });
    for (const [child, byParent] of counts) {
      const [parent] = [...byParent].reduce((a, b) => (b[1] > a[1] || (b[1] === a[1] && b[0] < a[0]) ? b : a));
      parents.set(child, parent);
    }
  }
  const undistilled = new Set(parents.values());
  const startingRecall = starting ? recallOf(sized, starting, teacherClass, painted) : null;
  const samples = sized.map(({ image, label, heldOut }, i): StrokeSample => {
    let teacher: Label | null = null;
    if (o.distill > 0) {
      const classes = starting![i];
      const indices = new Uint8Array(classes.length);
      for (let p = 0; p < classes.length; p++) {
        const keep = painted(label, heldOut, p) === UNLABELLED && !undistilled.has(classes[p]);
        indices[p] = keep ? teacherClass[classes[p]] : UNLABELLED;
      }
      teacher = { width: image.width, height: image.height, indices };
    }
    return { image, label, heldOut, teacher, byClass: paintedByClass(label) };
  });
  return { samples, parents, startingRecall };
}

/** The mean over the classes painted of the share of each one's painted pixels that `starting` (through teacherClass) gives it. */
function recallOf(sized: readonly { label: Label; heldOut: Label | null }[], starting: readonly Uint8Array[], teacherClass: Uint8Array, painted: (label: Label, heldOut: Label | null, p: number) => number): number {
  const right = new Map<number, number>();
  const all = new Map<number, number>();
  sized.forEach((s, i) => {
    for (let p = 0; p < starting[i].length; p++) {
      const c = painted(s.label, s.heldOut, p);
      if (c === UNLABELLED) continue;
      all.set(c, (all.get(c) ?? 0) + 1);
      if (teacherClass[starting[i][p]] === c) right.set(c, (right.get(c) ?? 0) + 1);
    }
  });
  if (all.size === 0) return 0;
  let sum = 0;
  for (const [c, n] of all) sum += (right.get(c) ?? 0) / n;
  return sum / all.size;
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
