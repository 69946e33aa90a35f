// segment()'s still images made what the pipelines carry: RGB images stay RGB (the model's own
// normalisation, exact to its reference), bands are checked against the model's input channels
// and normalised here (src/io/band-image.ts says the rule), as is RGB given with its own mean and
// std. The default statistics of 8-bit bands are the model's, band i taking RGB channel i mod 3:
// smp's `patch_first_conv` cycles a pretrained stem's RGB filters the same way over a stem of
// another width, and smp's own `preprocess_input` has no rule for other than 3 channels.
import { type BandArray, type StillImage, bandDepth, normalizeBandArray } from '../io/band-image.js';
import { grayscaleOf } from '../io/grayscale.js';
import { inputNormalization } from '../io/input-normalization.js';
import type { RgbImage } from '../io/rgb-image.js';
import { toRgbImage } from './image-input.js';
import { policyNormalization } from './input-policy.js';
import type { InputPolicy } from './loading/options.js';
import type { DeepLabConfig } from './networks/config.js';
import type { ImageInput, SegmentOptions } from './segment-options.js';

/** What the conversion reads of a model. */
export interface BandModel {
  name: string;
  config: DeepLabConfig;
  inputPolicy: InputPolicy;
}

const isBandArray = (x: ImageInput): x is BandArray => typeof x === 'object' && !(x instanceof Uint8Array) && 'layout' in x;

/** The model's statistics over `channels` input channels on 0..1 values (channel i those of RGB channel i mod 3). */
function defaultBandStatistics(m: BandModel, channels: number): { mean: number[]; std: number[] } {
  const norm = inputNormalization(policyNormalization(m.inputPolicy, m.config));
  return { mean: Array.from({ length: channels }, (_, i) => norm.mean[i % 3]), std: Array.from({ length: channels }, (_, i) => norm.std[i % 3]) };
}

/** Bands normalised for the model: their channel count its `in_channels`, mean and std the caller's or (8-bit only) the model's. */
function modelBands(m: BandModel, bands: BandArray, opts: Pick<SegmentOptions, 'mean' | 'std'>, what: string): StillImage {
  const channels = m.config.inChannels ?? 3;
  if (bands.channels !== channels) throw new Error(`${what}: the image has ${bands.channels} band${bands.channels === 1 ? '' : 's'}; ${m.name} takes ${channels} (in_channels ${channels})`);
  const { mean, std } = opts;
  if (mean && std) {
    for (const [name, v] of [['mean', mean], ['std', std]] as const) {
      if (v.length !== channels) throw new Error(`${what}: ${name} has ${v.length} values; ${m.name} takes ${channels} input channels, one ${name} each`);
    }
    return normalizeBandArray(bands, mean, std);
  }
  if (!(bands.data instanceof Uint8Array)) {
    throw new Error(
      `${what}: ${bandDepth(bands)} bands need their mean and std (one per band, in the data's own units: (x - mean) / std); the model's own statistics are for 8-bit values scaled to 0..1`,
    );
  }
  const stats = defaultBandStatistics(m, channels);
  return normalizeBandArray(bands, stats.mean, stats.std);
}

/** An RGB image as the model's 8-bit bands: gray (Pillow's 'L') for one input channel, its RGB for three. */
function rgbAsBands(m: BandModel, img: RgbImage, what: string): BandArray {
  const channels = m.config.inChannels ?? 3;
  if (channels !== 1 && channels !== 3) throw new Error(`${what}: ${m.name} takes ${channels} bands (in_channels ${channels}), not an RGB image: pass { data, width, height, channels: ${channels}, layout }`);
  return { width: img.width, height: img.height, channels, data: channels === 1 ? grayscaleOf(img) : img.data, layout: 'interleaved' };
}

/** segment()'s and segmentBatch()'s name for image i of n in messages. */
const segmentWhat = (i: number, n: number): string => (n > 1 ? `segmentBatch: images[${i}]` : 'segment');

/**
 * Each image of segment()/segmentBatch() (or fineTune's samples: `what` names image i in
 * messages) decoded and, where it is bands or comes with mean and std, normalised.
 */
export async function toStillImages(m: BandModel, images: readonly ImageInput[], opts: Pick<SegmentOptions, 'mean' | 'std'>, what: (i: number, n: number) => string = segmentWhat): Promise<StillImage[]> {
  return Promise.all(
    images.map(async (image, i) => {
      const name = what(i, images.length);
      if (isBandArray(image)) return modelBands(m, image, opts, name);
      const rgb = await toRgbImage(image);
      const channels = m.config.inChannels ?? 3;
      return opts.mean || (channels !== 1 && channels !== 3) ? modelBands(m, rgbAsBands(m, rgb, name), opts, name) : rgb;
    }),
  );
}
