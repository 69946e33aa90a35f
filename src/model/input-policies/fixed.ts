// 'fixed' (TF's models): PIL's bilinear resize to the one size the network was made for.
import { PIL_BILINEAR, resizeRgbPil } from '../../io/resize-cpu.js';
import type { InputPolicy } from '../loading/options.js';
import { type InputPolicyRecord, isPositiveInt, shortSideAt } from './policy.js';

type Fixed = Extract<InputPolicy, { kind: 'fixed' }>;

export const FIXED: InputPolicyRecord<Fixed> = {
  kind: 'fixed',
  form: "{kind: 'fixed', height, width}",
  parse: (s) => (isPositiveInt(s.height) && isPositiveInt(s.width) ? { kind: 'fixed', height: s.height, width: s.width } : undefined),
  withOptions: (p) => p,
  networkSize: (p, _width, _height, scale) => [Math.max(1, Math.round(p.height * scale)), Math.max(1, Math.round(p.width * scale))],
  resize: (_p, img, height, width) => (img.width === width && img.height === height ? img : resizeRgbPil(img, width, height)),
  resample: () => PIL_BILINEAR,
  normalization: (_p, config) => config.normalization,
  outputResize: () => 'half_pixel',
  square: (p) => ({ height: p.height, width: p.width }),
  fixedSize: (p) => ({ height: p.height, width: p.width }),
  describe: (p) => `resizes the image to ${p.width}x${p.height}`,
  // The network takes any size; only its reference pipeline fixed one.
  atOwnSize: (_p, width, height) => shortSideAt(width, height),
  hubProcessor: () => ({ why: "a 'fixed' input policy has no hub processor form" }),
};
