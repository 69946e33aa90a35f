// 'short-side' (torchvision's): PIL's bilinear resize of the image's short side to `size`,
// keeping the aspect ratio.
import { PIL_BILINEAR, resizeRgbPil } from '../../io/resize-cpu.js';
import type { InputPolicy } from '../loading/options.js';
import { type InputPolicyRecord, isPositiveInt, shortSideAt } from './policy.js';

type ShortSide = Extract<InputPolicy, { kind: 'short-side' }>;

export const SHORT_SIDE: InputPolicyRecord<ShortSide> = {
  kind: 'short-side',
  form: "{kind: 'short-side', size}",
  parse: (s) => (isPositiveInt(s.size) ? { kind: 'short-side', size: s.size } : undefined),
  withOptions: (p, opts) => (opts.shortSide ? { kind: 'short-side', size: opts.shortSide } : p),
  networkSize(p, width, height, scale) {
    const k = (p.size * scale) / Math.min(width, height);
    return [Math.max(1, Math.round(height * k)), Math.max(1, Math.round(width * k))];
  },
  resize: (_p, img, height, width) => (img.width === width && img.height === height ? img : resizeRgbPil(img, width, height)),
  resample: () => PIL_BILINEAR,
  normalization: (_p, config) => config.normalization,
  outputResize: () => 'half_pixel',
  square: (p) => ({ height: p.size, width: p.size }),
  fixedSize: () => null,
  describe: (p) => `resizes the short side to ${p.size} keeping the aspect ratio`,
  atOwnSize: (_p, width, height) => shortSideAt(width, height),
  // A model fine-tuned here on a data set's short side: the processor's shortest edge, bilinear.
  hubProcessor: (p) => ({ fields: { size: { shortest_edge: p.size }, resample: 2, do_center_crop: false } }),
};
