// One training sample, made from a description that can cross to a worker thread: the files,
// the data set's label decoding (which also checks the label), and the (seed, n) that fix its
// augmentation, so a sample is the same whichever thread makes it.
import { readImage } from '../io/image.js';
import { type InputNormalizationName, inputNormalization } from '../io/input-normalization.js';
import { Rng } from '../util/random.js';
import { type AugmentOptions, augment } from './augment.js';
import { type LabelDecoding, decodeLabelFile } from './formats/label-decoding.js';

export interface SampleSpec extends AugmentOptions {
  imagePath: string;
  labelPath: string;
  /** The data set's `labels` (Dataset.labels). */
  labels: LabelDecoding;
  /** The network's input normalisation, by name (a name crosses to the worker; a function would not). */
  normalization: InputNormalizationName;
  /** The run's seed and the sample's position in the run. */
  seed: number;
  n: number;
}

export interface Sample {
  /** [crop, crop, 3] normalised, NHWC. */
  image: Float32Array;
  /** [crop, crop] class ids or the ignore index. */
  label: Uint8Array;
}

/** The augmentation generator of the n-th sample of a run. */
export const sampleRng = (seed: number, n: number): Rng => Rng.derive(seed, 0xa06, n);

export async function makeSample(s: SampleSpec): Promise<Sample> {
  const label = decodeLabelFile(s.labelPath, s.labels);
  const a = augment(await readImage(s.imagePath), label, sampleRng(s.seed, s.n), s);
  return { image: inputNormalization(s.normalization).normalize(a.image), label: a.label.indices };
}
