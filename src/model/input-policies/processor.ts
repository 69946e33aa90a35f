// What the two `transformers` image processor policies share ('shortest-edge' and 'height-width',
// a processor's `size` of either form): the resize in torch's fixed point (the processors resize
// uint8 tensors with torch's antialiased resize), the centre crop, and the normalisation in
// float32 as the processor computes it (src/io/hub-input.ts).
import type { InputNormalizationName } from '../../io/input-normalization.js';
import { type PilFilter, type Resample, resizeRgb } from '../../io/resize-cpu.js';
import { type RgbImage, cropRgb } from '../../io/rgb-image.js';
import { isPositiveInt } from './policy.js';

export type Crop = { height: number; width: number };

/** The processor's resize: its filter in torch's fixed point. */
export const processorResample = (filter: PilFilter): Resample => ({ filter, fixedPoint: 'torch' });

/**
 * The processor's normalisation on float32 tensors for the config's (its results differ in the
 * last bit from the formulas TF's and our other pipelines use); others as they are.
 */
const PROCESSOR_NORMALIZATIONS: Partial<Record<InputNormalizationName, InputNormalizationName>> = { unit: 'unit_f32', minus_one_one: 'minus_one_one_f32', imagenet: 'imagenet_f32' };

export const processorNormalization = (name: InputNormalizationName): InputNormalizationName => PROCESSOR_NORMALIZATIONS[name] ?? name;

export function isCrop(v: unknown): v is Crop {
  return typeof v === 'object' && v !== null && isPositiveInt((v as Record<string, unknown>).height) && isPositiveInt((v as Record<string, unknown>).width);
}

/** A crop at a scale, at least one pixel a side. */
export const scaledCrop = (c: Crop, scale: number): [number, number] => [Math.max(1, Math.round(c.height * scale)), Math.max(1, Math.round(c.width * scale))];

/**
 * The image resized to `resized` [height, width] with the processor's filter, then, with a crop
 * of height x width, its centre cut out (transformers' center_crop: the top-left corner at
 * int((side - crop) / 2)).
 */
export function resizeThenCrop(img: RgbImage, resized: [number, number], filter: PilFilter, height: number, width: number): RgbImage {
  const [h, w] = resized;
  if (h < height || w < width) throw new Error(`a ${img.width}x${img.height} image resized to ${w}x${h} is smaller than the ${width}x${height} centre crop`);
  const out = img.width === w && img.height === h ? img : resizeRgb(img, w, h, processorResample(filter));
  return h === height && w === width ? out : cropRgb(out, Math.floor((w - width) / 2), Math.floor((h - height) / 2), width, height);
}

/** PIL's resample numbers, as preprocessor_config.json writes them: BILINEAR 2, BICUBIC 3. */
export const pilNumber = (filter: PilFilter): number => (filter === 'bicubic' ? 3 : 2);
