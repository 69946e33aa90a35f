// 'shortest-edge' (a `transformers` image processor): the shortest edge resized to `size`, the
// other side truncated, with PIL's `filter` in torch's fixed point (transformers' processors
// resize uint8 tensors with torch's antialiased resize: the hub fixtures' pixel values are its to
// the bit, and PIL's own fixed point puts 0.4 % of them one level away); then, with `crop`, the
// centre `crop` cut out; normalised in float32 as the processor does (src/io/hub-input.ts).
import type { InputNormalizationName } from '../../io/input-normalization.js';
import { type Resample, resizeRgb } from '../../io/resize-cpu.js';
import { cropRgb } from '../../io/rgb-image.js';
import type { InputPolicy } from '../loading/options.js';
import { type InputPolicyRecord, isPositiveInt, shortSideAt } from './policy.js';

type ShortestEdge = Extract<InputPolicy, { kind: 'shortest-edge' }>;

/** transformers' shortest-edge resize: the short side to `size`, the long one int(size * long / short). */
function shortestEdgeSize(size: number, width: number, height: number): [number, number] {
  const short = Math.min(width, height);
  const long = Math.max(1, Math.trunc((size * Math.max(width, height)) / short));
  return width <= height ? [long, size] : [size, long];
}

/**
 * The processor's normalisation on float32 tensors for the config's (its results differ in the
 * last bit from the formulas TF's and our other pipelines use); others as they are.
 */
const PROCESSOR_NORMALIZATIONS: Partial<Record<InputNormalizationName, InputNormalizationName>> = { unit: 'unit_f32', minus_one_one: 'minus_one_one_f32' };

/** The processor's resize: its filter in torch's fixed point. */
const processorResample = (p: ShortestEdge): Resample => ({ filter: p.filter, fixedPoint: 'torch' });

function isCrop(v: unknown): v is { height: number; width: number } {
  return typeof v === 'object' && v !== null && isPositiveInt((v as Record<string, unknown>).height) && isPositiveInt((v as Record<string, unknown>).width);
}

export const SHORTEST_EDGE: InputPolicyRecord<ShortestEdge> = {
  kind: 'shortest-edge',
  form: "{kind: 'shortest-edge', size, crop, filter}",
  parse(s) {
    if (!isPositiveInt(s.size) || !(s.crop === null || isCrop(s.crop)) || (s.filter !== 'bilinear' && s.filter !== 'bicubic')) return undefined;
    return { kind: 'shortest-edge', size: s.size, crop: isCrop(s.crop) ? { height: s.crop.height, width: s.crop.width } : null, filter: s.filter };
  },
  withOptions: (p, opts) => (opts.centerCrop === false ? { ...p, crop: null } : p),
  networkSize(p, width, height, scale) {
    if (p.crop) return [Math.max(1, Math.round(p.crop.height * scale)), Math.max(1, Math.round(p.crop.width * scale))];
    return shortestEdgeSize(Math.max(1, Math.round(p.size * scale)), width, height);
  },
  resize(p, img, height, width) {
    if (!p.crop) return img.width === width && img.height === height ? img : resizeRgb(img, width, height, processorResample(p));
    // The processor's pipeline at the crop's scale: shortest edge, then the centre cut out
    // (transformers' center_crop: the top-left corner at (side - crop) // 2).
    const [h, w] = shortestEdgeSize(Math.max(1, Math.round((p.size * height) / p.crop.height)), img.width, img.height);
    if (h < height || w < width) throw new Error(`a ${img.width}x${img.height} image resized to ${w}x${h} is smaller than the ${width}x${height} centre crop`);
    const resized = img.width === w && img.height === h ? img : resizeRgb(img, w, h, processorResample(p));
    return cropRgb(resized, Math.floor((w - width) / 2), Math.floor((h - height) / 2), width, height);
  },
  resample: processorResample,
  normalization: (_p, config) => PROCESSOR_NORMALIZATIONS[config.normalization] ?? config.normalization,
  outputResize: () => 'half_pixel',
  // transformers' post-processing resizes the classifier's output once, to the photo.
  resizesHeadLogits: true,
  square: (p) => (p.crop ? { ...p.crop } : { height: p.size, width: p.size }),
  fixedSize: () => null,
  describe(p) {
    const crop = p.crop ? `, then cuts out the centre ${p.crop.width}x${p.crop.height}` : '';
    return `resizes the shortest edge to ${p.size} keeping the aspect ratio (${p.filter}, as the hub processor)${crop}`;
  },
  atOwnSize: (_p, width, height) => shortSideAt(width, height),
  hubProcessor: (p) => ({
    // PIL's resample numbers: BILINEAR 2, BICUBIC 3.
    fields: { size: { shortest_edge: p.size }, resample: p.filter === 'bicubic' ? 3 : 2, do_center_crop: p.crop !== null, ...(p.crop ? { crop_size: { ...p.crop } } : {}) },
  }),
};
