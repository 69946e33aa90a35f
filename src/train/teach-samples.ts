// fineTune's samples read and checked: each image as segment() reads it (RGB, or bands normalised
// with the caller's or the model's statistics: src/model/band-input.ts), its labels checked
// against the classes (a binary model's as a mask). teach-data.ts makes them what the recipe
// teaches, teach-crops.ts each step's crops.
import type { Label } from '../data/dataset.js';
import type { StillImage } from '../io/band-image.js';
import { toStillImages } from '../model/band-input.js';
import { checkedImageInput } from '../model/input-check.js';
import type { LoadedWeights } from '../model/loading/load-weights.js';
import type { ImageInput } from '../model/segment-options.js';

/** The label of a pixel nobody labelled: the loss ignores it. */
export const UNLABELLED = 255;

/**
 * An image and its labels (width x height, row-major): a class id per pixel or UNLABELLED. A
 * binary model's labels are a mask: 0 background, UNLABELLED ignored, any other value foreground
 * (smp's `target = label != 0`).
 */
export interface TeachSample {
  /** What segment() takes: RGB `{ width, height, data }`, bands `{ width, height, channels, data, layout }`, encoded bytes or a path (a URL in the page). */
  image: ImageInput;
  labels: Uint8Array;
}

/** A sample ready to crop: its image as the pipelines carry it (RGB bytes, or normalised bands) and its labels as class ids. */
export interface PreparedSample {
  image: StillImage;
  label: Label;
}

/** A sample's labels checked against the classes, with at least one labelled pixel; a binary model's mask made class ids (0, 1). */
function classLabels(labels: unknown, width: number, height: number, numClasses: number, binary: boolean, what: string): Uint8Array {
  const n = width * height;
  if (!(labels instanceof Uint8Array) || labels.length !== n) {
    throw new Error(`${what}: labels must be a Uint8Array of ${width}x${height} = ${n} values, got ${labels instanceof Uint8Array ? labels.length : describeLabels(labels)}`);
  }
  let labelled = 0;
  const out = binary ? new Uint8Array(n) : labels;
  for (let p = 0; p < n; p++) {
    const v = labels[p];
    if (v === UNLABELLED) {
      out[p] = UNLABELLED;
      continue;
    }
    if (binary) out[p] = v === 0 ? 0 : 1;
    else if (v >= numClasses) throw new Error(`${what}: label ${v} at pixel (${p % width}, ${Math.floor(p / width)}) is neither a class (0..${numClasses - 1}) nor ${UNLABELLED} (unlabelled)`);
    labelled++;
  }
  if (labelled === 0) throw new Error(`${what}: no pixel is labelled (paint at least one stroke)`);
  return out;
}

const describeLabels = (x: unknown): string => (x === null || x === undefined ? 'none' : `a ${(x as object).constructor?.name ?? typeof x}`);

/**
 * The samples read and checked (images as segment() takes them, with `mean`/`std` where given;
 * labels of the image's size, each sample with a labelled pixel), in order.
 */
export async function prepareSamples(weights: LoadedWeights, samples: readonly TeachSample[], stats: { mean?: readonly number[]; std?: readonly number[] }): Promise<PreparedSample[]> {
  if (!Array.isArray(samples) || samples.length === 0) throw new Error('fineTune: no samples (give at least one labelled image)');
  const what = (i: number): string => `fineTune: sample ${i}`;
  const images = samples.map((s, i) => {
    if (typeof s !== 'object' || s === null) throw new Error(`${what(i)}: a sample is { image, labels }, got ${describeLabels(s)}`);
    return checkedImageInput(s.image, what(i));
  });
  const stills = await toStillImages(weights, images, stats, what);
  const { numClasses, binary = false } = weights.config;
  return stills.map((image, i) => {
    const indices = classLabels(samples[i].labels, image.width, image.height, numClasses, binary, what(i));
    return { image, label: { width: image.width, height: image.height, indices } };
  });
}
