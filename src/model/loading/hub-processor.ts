// A `transformers` image processor's preprocessor_config.json as our input policy and
// normalisation: shortest-edge resize, centre crop, rescale, normalise, channel flip. Older hub
// files (feature extractors) give `size` and `crop_size` as plain numbers and leave out what the
// processor class defaults; the class's defaults fill those in. A value we cannot reproduce is
// refused, naming the key.
import { CONFIG_LIMITS, excerpt } from '../../io/reader-rules.js';
import type { InputNormalizationName } from '../../io/input-normalization.js';
import { IMAGENET_MEAN, IMAGENET_STD, type PilFilter } from '../../io/resize-cpu.js';
import type { InputPolicy } from './options.js';

export interface HubProcessor {
  policy: Extract<InputPolicy, { kind: 'shortest-edge' }>;
  normalization: InputNormalizationName;
  /** The processor feeds BGR (do_flip_channel_order). */
  flipChannels: boolean;
}

/** Keys that say nothing about the pixels the network sees (labels are training's business). */
const IGNORED = new Set(['image_processor_type', 'feature_extractor_type', 'processor_class', 'do_reduce_labels', 'reduce_labels', 'do_convert_rgb', 'data_format', 'input_data_format', 'default_to_square']);
const KNOWN = new Set([...IGNORED, 'do_resize', 'size', 'resample', 'do_center_crop', 'crop_size', 'do_rescale', 'rescale_factor', 'do_normalize', 'image_mean', 'image_std', 'do_flip_channel_order']);

/** PIL's resampling filters by number, those we reproduce. */
const PIL_FILTERS: Record<number, PilFilter> = { 2: 'bilinear', 3: 'bicubic' };

const close = (a: readonly number[], b: readonly number[]): boolean => a.length === b.length && a.every((v, i) => Math.abs(v - b[i]) < 1e-6);

export function hubProcessor(json: unknown, what = 'preprocessor_config.json'): HubProcessor {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new Error(`${what}: not a JSON object`);
  const j = json as Record<string, unknown>;
  const fail = (key: string, why: string): never => {
    throw new Error(`${what}: ${key} ${why}, got ${excerpt(j[key])}`);
  };
  for (const key of Object.keys(j)) if (!KNOWN.has(key)) throw new Error(`${what}: unknown key '${excerpt(key).slice(1, -1)}' (an image processor we do not reproduce)`);
  const kind = String(j.image_processor_type ?? j.feature_extractor_type ?? '');
  // MobileViTImageProcessor (MobileViTV2's folders use it too) flips to BGR and does not normalise unless told.
  const bgrByDefault = kind.startsWith('MobileViT');
  const flag = (key: string, fallback: boolean): boolean => {
    const v = j[key] ?? fallback;
    if (typeof v !== 'boolean') fail(key, 'must be true or false');
    return v as boolean;
  };
  const side = (key: string, v: unknown): number => {
    if (!Number.isInteger(v) || (v as number) < 1) fail(key, 'must hold positive integer sizes');
    if ((v as number) > CONFIG_LIMITS.rate) fail(key, `must hold sizes of at most ${CONFIG_LIMITS.rate}`);
    return v as number;
  };

  if (!flag('do_resize', true)) fail('do_resize', 'must be true (the network runs at the processor\'s size)');
  const size = j.size;
  if (size === undefined) fail('size', 'is needed (the shortest edge the image is resized to)');
  const shortest = typeof size === 'number' ? size : (size as Record<string, unknown> | null)?.shortest_edge;
  if (typeof size !== 'number' && (typeof size !== 'object' || size === null || Object.keys(size).some((k) => k !== 'shortest_edge'))) fail('size', 'must be {"shortest_edge": n} (other resizes are not reproduced)');
  const edge = side('size', shortest);
  const filter = PIL_FILTERS[(j.resample ?? 2) as number];
  if (!filter) fail('resample', 'must be 2 (bilinear) or 3 (bicubic)');

  let crop: { height: number; width: number } | null = null;
  if (flag('do_center_crop', true)) {
    const c = j.crop_size;
    if (c === undefined) fail('crop_size', 'is needed with do_center_crop');
    crop = typeof c === 'number' ? { height: side('crop_size', c), width: side('crop_size', c) } : { height: side('crop_size', (c as Record<string, unknown> | null)?.height), width: side('crop_size', (c as Record<string, unknown> | null)?.width) };
    if (crop.height > edge || crop.width > edge) fail('crop_size', `must fit the resized image (shortest edge ${edge}; the processor's padding is not reproduced)`);
  }

  if (!flag('do_rescale', true)) fail('do_rescale', 'must be true');
  const factor = j.rescale_factor ?? 1 / 255;
  if (typeof factor !== 'number' || Math.abs(factor - 1 / 255) > 1e-12) fail('rescale_factor', 'must be 1/255');
  let normalization: InputNormalizationName = 'unit';
  if (flag('do_normalize', !bgrByDefault)) {
    const mean = (j.image_mean ?? [0.5, 0.5, 0.5]) as number[];
    const std = (j.image_std ?? [0.5, 0.5, 0.5]) as number[];
    if (!Array.isArray(mean) || !Array.isArray(std)) fail('image_mean', 'and image_std must be lists of three numbers');
    if (close(mean, [0.5, 0.5, 0.5]) && close(std, [0.5, 0.5, 0.5])) normalization = 'minus_one_one';
    else if (close(mean, IMAGENET_MEAN) && close(std, IMAGENET_STD)) normalization = 'imagenet';
    else fail('image_mean', `and image_std ${excerpt(std)} must be 0.5s or ImageNet's (the normalisations we have)`);
  }
  return { policy: { kind: 'shortest-edge', size: edge, crop, filter }, normalization, flipChannels: flag('do_flip_channel_order', bgrByDefault) };
}
