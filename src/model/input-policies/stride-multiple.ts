// 'stride-multiple' (segmentation_models_pytorch's models): the image at its own size, which smp
// requires to be a multiple of the encoder's output stride. An image whose sides already are runs
// untouched, as smp runs it; another is padded to the next multiples, as smp's error message tells
// its users to do, and its logits cropped back. The padding is zeros of the normalised input
// (the tensor padded, as torch's F.pad pads it) around the image centred in it, as albumentations'
// PadIfNeeded places it (the extra row or column, where the amount is odd, at the bottom or right).
import type { PadParams } from '../../kernels/layout/pad.js';
import { PIL_BILINEAR, resizeRgbPil } from '../../io/resize-cpu.js';
import type { InputPolicy } from '../loading/options.js';
import { type InputPolicyRecord, isPositiveInt } from './policy.js';

type StrideMultiple = Extract<InputPolicy, { kind: 'stride-multiple' }>;

/** A side at a scale (at least 1 pixel), before padding. */
const scaled = (side: number, scale: number): number => Math.max(1, Math.round(side * scale));

/** A side rounded up to a multiple of `m`. */
const upToMultiple = (side: number, m: number): number => Math.ceil(side / m) * m;

/** The zeros before and after a side of `side` pixels padded up to a multiple of `m`. */
function centred(side: number, m: number): [number, number] {
  const total = upToMultiple(side, m) - side;
  return [Math.floor(total / 2), total - Math.floor(total / 2)];
}

export const STRIDE_MULTIPLE: InputPolicyRecord<StrideMultiple> = {
  kind: 'stride-multiple',
  form: "{kind: 'stride-multiple', multiple}",
  parse: (s) => (isPositiveInt(s.multiple) ? { kind: 'stride-multiple', multiple: s.multiple } : undefined),
  withOptions: (p) => p,
  networkSize: (p, width, height, scale) => [upToMultiple(scaled(height, scale), p.multiple), upToMultiple(scaled(width, scale), p.multiple)],
  padding: (p, width, height, scale): PadParams => {
    const [top, bottom] = centred(scaled(height, scale), p.multiple);
    const [left, right] = centred(scaled(width, scale), p.multiple);
    return { top, bottom, left, right };
  },
  // Only a scale other than 1 resizes (multi-scale inference); the padding is added after normalising.
  resize: (_p, img, height, width) => (img.width === width && img.height === height ? img : resizeRgbPil(img, width, height)),
  resample: () => PIL_BILINEAR,
  normalization: (_p, config) => config.normalization,
  outputResize: () => 'half_pixel',
  square: (p) => ({ height: p.multiple * 16, width: p.multiple * 16 }),
  fixedSize: () => null,
  describe: (p) => `pads the image to multiples of ${p.multiple} (zeros around it, centred) and crops the logits back`,
  atOwnSize: (p) => p,
  hubProcessor: () => ({ why: "an smp model's input is the image at its own size, which no transformers processor describes" }),
};
