// 'stride-multiple' (segmentation_models_pytorch's models): the image at its own size, which smp
// requires to be a multiple of the encoder's output stride. An image whose sides already are runs
// untouched, as smp runs it; another is resized (PIL bilinear) to the nearest multiples and its
// logits resized back, rather than refused. smp's own advice is to pad instead: that is not built.
import { PIL_BILINEAR, resizeRgbPil } from '../../io/resize-cpu.js';
import type { InputPolicy } from '../loading/options.js';
import { type InputPolicyRecord, isPositiveInt } from './policy.js';

type StrideMultiple = Extract<InputPolicy, { kind: 'stride-multiple' }>;

/** A side rounded to the nearest multiple of `m`, at least `m`. */
const nearestMultiple = (side: number, m: number): number => Math.max(m, Math.round(side / m) * m);

export const STRIDE_MULTIPLE: InputPolicyRecord<StrideMultiple> = {
  kind: 'stride-multiple',
  form: "{kind: 'stride-multiple', multiple}",
  parse: (s) => (isPositiveInt(s.multiple) ? { kind: 'stride-multiple', multiple: s.multiple } : undefined),
  withOptions: (p) => p,
  networkSize: (p, width, height, scale) => [nearestMultiple(height * scale, p.multiple), nearestMultiple(width * scale, p.multiple)],
  resize: (_p, img, height, width) => (img.width === width && img.height === height ? img : resizeRgbPil(img, width, height)),
  resample: () => PIL_BILINEAR,
  normalization: (_p, config) => config.normalization,
  outputResize: () => 'half_pixel',
  square: (p) => ({ height: p.multiple * 16, width: p.multiple * 16 }),
  fixedSize: () => null,
  describe: (p) => `keeps the image's size where its sides are multiples of ${p.multiple}, else resizes them to the nearest multiples`,
  atOwnSize: (p) => p,
  hubProcessor: () => ({ why: "an smp model's input is the image at its own size, which no transformers processor describes" }),
};
