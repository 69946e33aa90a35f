// 'keep-ratio' (mmseg's test pipeline): OpenCV's bilinear resize by min(long / long side,
// short / short side), sides rounded to the nearest pixel as mmcv's rescale_size does; mean/std
// on 0..255 values, as mmseg's data preprocessor computes them; the logits resized back with the
// network's own align_corners (mmseg resizes seg_logits with the head's setting).
import { resizeRgbBilinear } from '../../io/mmseg-input.js';
import { PIL_BILINEAR } from '../../io/resize-cpu.js';
import type { InputPolicy } from '../loading/options.js';
import { type InputPolicyRecord, isPositiveInt } from './policy.js';

type KeepRatio = Extract<InputPolicy, { kind: 'keep-ratio' }>;

export const KEEP_RATIO: InputPolicyRecord<KeepRatio> = {
  kind: 'keep-ratio',
  form: "{kind: 'keep-ratio', long, short}",
  parse: (s) => (isPositiveInt(s.long) && isPositiveInt(s.short) ? { kind: 'keep-ratio', long: s.long, short: s.short } : undefined),
  withOptions: (p, opts) => (opts.testScale ? { kind: 'keep-ratio', long: opts.testScale[0], short: opts.testScale[1] } : p),
  networkSize(p, width, height, scale) {
    // mmcv's rescale_size: int(side * factor + 0.5).
    const k = Math.min(p.long / Math.max(width, height), p.short / Math.min(width, height)) * scale;
    return [Math.max(1, Math.floor(height * k + 0.5)), Math.max(1, Math.floor(width * k + 0.5))];
  },
  resize: (_p, img, height, width) => (img.width === width && img.height === height ? img : resizeRgbBilinear(img, width, height)),
  // The frame kernels have no OpenCV resize: frames take PIL's bilinear, a value or two from
  // what a still image of the same pixels gets.
  resample: () => PIL_BILINEAR,
  // The weights' mean and std are ImageNet's either way; mmseg subtracts and divides on 0..255.
  normalization: () => 'imagenet_255',
  outputResize: (_p, config) => config.resizeMode,
  square: (p) => ({ height: p.short, width: p.short }),
  fixedSize: () => null,
  describe: (p) => `resizes the image to fit ${p.long}x${p.short} (long x short side) keeping the aspect ratio`,
  // mmseg's own pipeline at a scale that leaves an image of this size as it is.
  atOwnSize: (_p, width, height) => ({ kind: 'keep-ratio', long: Math.max(width, height), short: Math.min(width, height) }),
  hubProcessor: () => ({ why: "a 'keep-ratio' input policy has no hub processor form" }),
};
