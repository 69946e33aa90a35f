// The --mean and --std options of segment: the input's per-channel statistics (segment()'s `mean`
// and `std`, one per network input channel), and how an input file is read for the model: as
// bands (every sample as the file holds it) for a model of other than 1 or 3 input channels, as
// 8-bit RGB otherwise.
import { decodeBands, readBands } from '../io/band-file.js';
import type { BandArray } from '../io/band-image.js';
import { bandPreview } from '../io/band-preview.js';
import type { RgbImage } from '../io/rgb-image.js';
import { type OptionSpec, type ParsedArgs, UsageError, optionValue } from './args.js';

export const BAND_OPTIONS: OptionSpec[] = [
  {
    name: 'mean',
    kind: 'value',
    valueName: 'LIST',
    description: "the input's mean per channel, e.g. 1200,1100,1000,2500 (0..1 for 8-bit input; 16-bit bands in their own units); with --std",
    defaultText: "the model's (8-bit input only)",
  },
  { name: 'std', kind: 'value', valueName: 'LIST', description: "the input's standard deviation per channel; with --mean", defaultText: "the model's (8-bit input only)" },
];

function numbers(text: string, name: string): number[] {
  const parts = text.split(',').map((s) => s.trim());
  const bad = parts.find((s) => s === '' || !Number.isFinite(Number(s)));
  if (bad !== undefined) throw new UsageError(`--${name}: '${bad}' in '${text}' is not a number (give one number per input channel, e.g. 0.5,0.5,0.5)`);
  return parts.map(Number);
}

/** --mean and --std: both or neither. */
export function bandOptions(args: ParsedArgs): { mean?: number[]; std?: number[] } {
  const [mean, std] = [optionValue(args, 'mean'), optionValue(args, 'std')];
  if ((mean === undefined) !== (std === undefined)) throw new UsageError(`--mean and --std go together: --${mean === undefined ? 'std' : 'mean'} was given alone`);
  return mean === undefined ? {} : { mean: numbers(mean, 'mean'), std: numbers(std!, 'std') };
}

/** Whether a model of `inChannels` input channels reads its files as bands. */
export const readsBands = (inChannels: number): boolean => inChannels !== 1 && inChannels !== 3;

/** A file or fetched bytes as bands. */
export const bandsOf = (source: string | Uint8Array, what: string): Promise<BandArray> => (typeof source === 'string' ? readBands(source) : decodeBands(source, what));

/** The picture an overlay is drawn on. */
export const overlayBase = (img: RgbImage | BandArray): RgbImage => ('layout' in img ? bandPreview(img) : img);
