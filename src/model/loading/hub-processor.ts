// A `transformers` image processor's preprocessor_config.json as our input policy and
// normalisation, as transformers 5's processors of the segmentation families do it: the resize
// (`size` as {shortest_edge} or {height, width}, DPT's keep_aspect_ratio and ensure_multiple_of,
// PIL's resample), the centre crop, rescale, normalise, MobileViT's channel flip, and
// do_reduce_labels (what a training label means). Older hub files (feature extractors) give
// `size` and `crop_size` as plain numbers and leave out what the processor class defaults; the
// class's defaults fill those in. The class is the one AutoImageProcessor takes: the file's
// image_processor_type, else its feature_extractor_type, else config.json's model_type (where
// transformers' own fallback looks). A value we cannot reproduce is refused, naming the key.
import { CONFIG_LIMITS, excerpt } from '../../io/reader-rules.js';
import type { InputNormalizationName } from '../../io/input-normalization.js';
import { IMAGENET_MEAN, IMAGENET_STD, type PilFilter } from '../../io/resize-cpu.js';
import { ownValue } from '../../util/own-key.js';
import type { InputPolicy } from './options.js';

export interface HubProcessor {
  policy: Extract<InputPolicy, { kind: 'shortest-edge' | 'height-width' }>;
  normalization: InputNormalizationName;
  /** The processor feeds BGR (do_flip_channel_order). */
  flipChannels: boolean;
  /** Training labels are reduced (do_reduce_labels): 0 is ignored (255) and every other class is one less. */
  reduceLabels: boolean;
}

/** Keys that say nothing about the pixels the network sees or what a label means. */
const IGNORED = new Set(['image_processor_type', 'feature_extractor_type', 'processor_class', 'do_convert_rgb', 'data_format', 'input_data_format', 'default_to_square', 'size_divisor']);
const KNOWN = new Set([
  ...IGNORED, 'do_resize', 'size', 'resample', 'do_center_crop', 'crop_size', 'do_rescale', 'rescale_factor', 'do_normalize', 'image_mean', 'image_std', 'do_flip_channel_order',
  'keep_aspect_ratio', 'ensure_multiple_of', 'do_pad', 'do_reduce_labels', 'reduce_labels',
]);

/** PIL's resampling filters by number, those we reproduce. */
const PIL_FILTERS: Record<number, PilFilter> = { 2: 'bilinear', 3: 'bicubic' };

/** What a processor class does where its file leaves a key out (transformers 5's class attributes). */
interface ClassDefaults {
  resample: number;
  normalize: boolean;
  mean: readonly number[];
  std: readonly number[];
  centerCrop: boolean;
  flip: boolean;
  /** A plain number `size` is a square (the class's default_to_square), else the shortest edge. */
  square: boolean;
}

const HALF = [0.5, 0.5, 0.5];
const CLASSES: Readonly<Record<string, ClassDefaults>> = {
  // MobileViTImageProcessor (MobileViTV2's folders use it too) flips to BGR and does not normalise unless told.
  MobileViT: { resample: 3, normalize: false, mean: HALF, std: HALF, centerCrop: true, flip: true, square: false },
  MobileNetV2: { resample: 2, normalize: true, mean: HALF, std: HALF, centerCrop: true, flip: false, square: false },
  // SegFormer's processor is UperNet's too.
  Segformer: { resample: 2, normalize: true, mean: IMAGENET_MEAN, std: IMAGENET_STD, centerCrop: false, flip: false, square: true },
  DPT: { resample: 3, normalize: true, mean: HALF, std: HALF, centerCrop: false, flip: false, square: true },
  Beit: { resample: 3, normalize: true, mean: HALF, std: HALF, centerCrop: false, flip: false, square: true },
};
/**
 * The processor class AutoImageProcessor takes by config.json's model_type where
 * preprocessor_config.json names none (transformers 5's IMAGE_PROCESSOR_MAPPING_NAMES), for the
 * model types whose processor we reproduce.
 */
const MODEL_TYPE_CLASSES: ReadonlyMap<string, string> = new Map([
  ['mobilevit', 'MobileViT'],
  ['mobilevitv2', 'MobileViT'],
  ['mobilenet_v2', 'MobileNetV2'],
  ['segformer', 'Segformer'],
  ['upernet', 'Segformer'],
  ['dpt', 'DPT'],
  ['beit', 'Beit'],
  ['data2vec-vision', 'Beit'],
]);

/** The model's config.json, where transformers looks for the processor a preprocessor_config.json does not name. */
export interface ProcessorModelConfig {
  json: Record<string, unknown>;
  /** The file, in errors. */
  what: string;
}

const close = (a: readonly number[], b: readonly number[]): boolean => a.length === b.length && a.every((v, i) => Math.abs(v - b[i]) < 1e-6);

/** The processors we reproduce, for messages. */
const reproduced = (): string => Object.keys(CLASSES).map((c) => `${c}ImageProcessor`).join(', ');

/**
 * The defaults of the processor class AutoImageProcessor takes: the file's image_processor_type,
 * else its feature_extractor_type (an older file), else config.json's image_processor_type, else
 * the class of config.json's model_type. A class we do not reproduce, or a folder that names none
 * (where transformers too refuses: "Unrecognized image processor"), is refused naming the key.
 */
function classDefaults(j: Record<string, unknown>, what: string, config: ProcessorModelConfig | undefined): ClassDefaults {
  const named = (['image_processor_type', 'feature_extractor_type'] as const).find((k) => j[k] !== undefined);
  const [key, type, where] = named ? [named, j[named], what] : config?.json.image_processor_type !== undefined ? ['image_processor_type', config.json.image_processor_type, config.what] : [];
  if (key !== undefined) {
    const className = typeof type === 'string' ? type.replace(/(ImageProcessor(Fast|Pil)?|FeatureExtractor)$/, '') : undefined;
    const d = ownValue(CLASSES, className);
    if (!d) throw new Error(`${where}: ${key} is not a processor we reproduce (${reproduced()}), got ${excerpt(type)}`);
    return d;
  }
  if (!config) throw new Error(`${what}: names no image_processor_type, and no config.json gives the model_type transformers would choose one by`);
  const modelType = config.json.model_type;
  const className = typeof modelType === 'string' ? MODEL_TYPE_CLASSES.get(modelType) : undefined;
  if (className === undefined) {
    throw new Error(`${config.what}: model_type ${excerpt(modelType)} has no image processor we reproduce, and ${what} names none in image_processor_type (the model types whose processor we reproduce: ${[...MODEL_TYPE_CLASSES.keys()].join(', ')})`);
  }
  return CLASSES[className];
}

/**
 * A preprocessor_config.json's processor; `config`, the model's config.json, decides the class
 * where the file names none, as AutoImageProcessor's fallback does.
 */
export function hubProcessor(json: unknown, what = 'preprocessor_config.json', config?: ProcessorModelConfig): HubProcessor {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new Error(`${what}: not a JSON object`);
  const j = json as Record<string, unknown>;
  const fail = (key: string, why: string): never => {
    throw new Error(`${what}: ${key} ${why}, got ${excerpt(j[key])}`);
  };
  for (const key of Object.keys(j)) if (!KNOWN.has(key)) throw new Error(`${what}: unknown key '${excerpt(key).slice(1, -1)}' (an image processor we do not reproduce)`);
  const d = classDefaults(j, what, config);
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
  /** A {height, width} object's sides, or fails naming `key`. */
  const heightWidth = (key: string, v: unknown): { height: number; width: number } => {
    const o = v as Record<string, unknown> | null;
    if (typeof o !== 'object' || o === null || Object.keys(o).some((k) => k !== 'height' && k !== 'width')) fail(key, 'must be {"height": h, "width": w}');
    return { height: side(key, o!.height), width: side(key, o!.width) };
  };

  if (!flag('do_resize', true)) fail('do_resize', 'must be true (the network runs at the processor\'s size)');
  const size = j.size;
  if (size === undefined) fail('size', 'is needed (the size the image is resized to)');
  const edgeOnly = typeof size === 'object' && size !== null && Object.keys(size).length === 1 && 'shortest_edge' in size;
  const byEdge = typeof size === 'number' ? !d.square : edgeOnly;
  if (typeof size !== 'number' && !edgeOnly && (typeof size !== 'object' || size === null || Object.keys(size).sort().join() !== 'height,width')) {
    fail('size', 'must be {"shortest_edge": n} or {"height": h, "width": w} (other resizes are not reproduced)');
  }
  const edge = byEdge ? side('size', typeof size === 'number' ? size : (size as Record<string, unknown>).shortest_edge) : 0;
  const target = byEdge ? null : typeof size === 'number' ? { height: side('size', size), width: side('size', size) } : heightWidth('size', size);
  const resample = j.resample ?? d.resample;
  const filter = (typeof resample === 'number' ? ownValue(PIL_FILTERS, resample) : undefined) ?? fail('resample', 'must be 2 (bilinear) or 3 (bicubic)');

  // DPT's resize: the aspect ratio kept, sides multiples of a number; its padding is not reproduced.
  const keepAspectRatio = flag('keep_aspect_ratio', false);
  const multiple = j.ensure_multiple_of === undefined || j.ensure_multiple_of === null ? 1 : side('ensure_multiple_of', j.ensure_multiple_of);
  if (byEdge && (keepAspectRatio || multiple > 1)) fail(keepAspectRatio ? 'keep_aspect_ratio' : 'ensure_multiple_of', 'applies to a size of {"height": h, "width": w} only');
  if (flag('do_pad', false)) fail('do_pad', 'must be false (the padding to size_divisor is not reproduced)');

  let crop: { height: number; width: number } | null = null;
  if (flag('do_center_crop', d.centerCrop)) {
    const c = j.crop_size;
    if (c === undefined) fail('crop_size', 'is needed with do_center_crop');
    crop = typeof c === 'number' ? { height: side('crop_size', c), width: side('crop_size', c) } : heightWidth('crop_size', c);
    const [h, w] = target ? [target.height, target.width] : [edge, edge];
    const fixed = !target || (!keepAspectRatio && multiple === 1);
    if (fixed && (crop.height > h || crop.width > w)) fail('crop_size', `must fit the resized image (${target ? `${w}x${h}` : `shortest edge ${edge}`}; the processor's padding is not reproduced)`);
  }

  if (!flag('do_rescale', true)) fail('do_rescale', 'must be true');
  const factor = j.rescale_factor ?? 1 / 255;
  if (typeof factor !== 'number' || Math.abs(factor - 1 / 255) > 1e-12) fail('rescale_factor', 'must be 1/255');
  let normalization: InputNormalizationName = 'unit';
  if (flag('do_normalize', d.normalize)) {
    const mean = (j.image_mean ?? d.mean) as number[];
    const std = (j.image_std ?? d.std) as number[];
    if (!Array.isArray(mean) || !Array.isArray(std)) fail('image_mean', 'and image_std must be lists of three numbers');
    if (close(mean, HALF) && close(std, HALF)) normalization = 'minus_one_one';
    else if (close(mean, IMAGENET_MEAN) && close(std, IMAGENET_STD)) normalization = 'imagenet';
    else fail('image_mean', `and image_std ${excerpt(std)} must be 0.5s or ImageNet's (the normalisations we have)`);
  }
  // reduce_labels: the feature extractors' name for it.
  const legacy = j.reduce_labels === undefined ? undefined : flag('reduce_labels', false);
  const reduceLabels = flag('do_reduce_labels', legacy ?? false);
  if (legacy !== undefined && legacy !== reduceLabels) fail('reduce_labels', 'must agree with do_reduce_labels');
  const policy: HubProcessor['policy'] = target
    ? { kind: 'height-width', height: target.height, width: target.width, filter, keepAspectRatio, multiple, crop }
    : { kind: 'shortest-edge', size: edge, crop, filter };
  return { policy, normalization, flipChannels: flag('do_flip_channel_order', d.flip), reduceLabels };
}
