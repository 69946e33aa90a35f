// 'height-width' (a `transformers` image processor whose `size` is {height, width}: SegFormer's,
// UperNet's, DPT's, BEiT's): the image resized to height x width, or, with DPT's
// keep_aspect_ratio, by the one scale of the two that is nearer 1, each side then rounded to a
// multiple of `multiple` (ensure_multiple_of, Python's round: halves to even); then, with `crop`,
// the centre cut out (BEiT's do_center_crop). The resize and normalisation are the processor's
// (processor.ts): PIL's filter in torch's fixed point, float32 arithmetic.
import { resizeRgb } from '../../io/resize-cpu.js';
import type { InputPolicy } from '../loading/options.js';
import { type InputPolicyRecord, isPositiveInt, shortSideAt } from './policy.js';
import { isCrop, pilNumber, processorNormalization, processorResample, resizeThenCrop, scaledCrop } from './processor.js';

type HeightWidth = Extract<InputPolicy, { kind: 'height-width' }>;

/** Python's round(): to the nearest integer, halves to the even one. */
function roundHalfEven(x: number): number {
  const f = Math.floor(x);
  const d = x - f;
  return d > 0.5 || (d === 0.5 && f % 2 !== 0) ? f + 1 : f;
}

/** The size [height, width] the processor resizes an image of width x height to, at a scale of its size (DPT's get_resize_output_image_size). */
function resizedSize(p: HeightWidth, width: number, height: number, scale: number): [number, number] {
  const [th, tw] = [Math.max(1, Math.round(p.height * scale)), Math.max(1, Math.round(p.width * scale))];
  if (!p.keepAspectRatio && p.multiple === 1) return [th, tw];
  let [sh, sw] = [th / height, tw / width];
  // Scale as little as possible: the side whose scale is nearer 1 decides.
  if (p.keepAspectRatio) {
    if (Math.abs(1 - sw) < Math.abs(1 - sh)) sh = sw;
    else sw = sh;
  }
  const constrain = (v: number): number => Math.max(p.multiple, roundHalfEven(v / p.multiple) * p.multiple);
  return [constrain(sh * height), constrain(sw * width)];
}

export const HEIGHT_WIDTH: InputPolicyRecord<HeightWidth> = {
  kind: 'height-width',
  form: "{kind: 'height-width', height, width, filter, keepAspectRatio, multiple, crop}",
  parse(s) {
    if (!isPositiveInt(s.height) || !isPositiveInt(s.width) || (s.filter !== 'bilinear' && s.filter !== 'bicubic') || typeof s.keepAspectRatio !== 'boolean' || !isPositiveInt(s.multiple)) return undefined;
    if (!(s.crop === null || isCrop(s.crop))) return undefined;
    const crop = isCrop(s.crop) ? { height: s.crop.height, width: s.crop.width } : null;
    return { kind: 'height-width', height: s.height, width: s.width, filter: s.filter, keepAspectRatio: s.keepAspectRatio, multiple: s.multiple, crop };
  },
  withOptions: (p, opts) => (opts.centerCrop === false ? { ...p, crop: null } : p),
  networkSize: (p, width, height, scale) => (p.crop ? scaledCrop(p.crop, scale) : resizedSize(p, width, height, scale)),
  resize(p, img, height, width) {
    if (!p.crop) return img.width === width && img.height === height ? img : resizeRgb(img, width, height, processorResample(p.filter));
    // The processor's pipeline at the crop's scale: the resize, then the centre cut out.
    return resizeThenCrop(img, resizedSize(p, img.width, img.height, height / p.crop.height), p.filter, height, width);
  },
  resample: (p) => processorResample(p.filter),
  normalization: (_p, config) => processorNormalization(config.normalization),
  outputResize: () => 'half_pixel',
  // transformers' post-processing resizes the classifier's output once, to the photo.
  resizesHeadLogits: true,
  square: (p) => (p.crop ? { ...p.crop } : { height: p.height, width: p.width }),
  fixedSize: (p) => (p.crop ? { ...p.crop } : p.keepAspectRatio || p.multiple > 1 ? null : { height: p.height, width: p.width }),
  describe(p) {
    const kept = p.keepAspectRatio ? ' keeping the aspect ratio (the scale nearer 1)' : '';
    const multiple = p.multiple > 1 ? `, sides multiples of ${p.multiple}` : '';
    const crop = p.crop ? `, then cuts out the centre ${p.crop.width}x${p.crop.height}` : '';
    return `resizes the image to ${p.width}x${p.height}${kept}${multiple} (${p.filter}, as the hub processor)${crop}`;
  },
  atOwnSize: (_p, width, height) => shortSideAt(width, height),
  hubProcessor: (p) => ({
    fields: {
      size: { height: p.height, width: p.width },
      resample: pilNumber(p.filter),
      do_center_crop: p.crop !== null,
      ...(p.crop ? { crop_size: { ...p.crop } } : {}),
      ...(p.keepAspectRatio ? { keep_aspect_ratio: true } : {}),
      ...(p.multiple > 1 ? { ensure_multiple_of: p.multiple } : {}),
    },
  }),
};
