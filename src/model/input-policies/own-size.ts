// 'own-size' (VainF/DeepLabV3Plus-Pytorch's predict.py: ToTensor and Normalize, no resize): the
// image at its own size, any size; the network's logits come back at that size. At another scale
// (multi-scale averaging) the image is resized (PIL bilinear) by the scale.
import { PIL_BILINEAR, resizeRgbPil } from '../../io/resize-cpu.js';
import type { InputPolicy } from '../loading/options.js';
import type { InputPolicyRecord } from './policy.js';

type OwnSize = Extract<InputPolicy, { kind: 'own-size' }>;

/** The size the network is built at where no image gives one: VOC's 513 x 513 crop. */
const SQUARE = 513;

export const OWN_SIZE: InputPolicyRecord<OwnSize> = {
  kind: 'own-size',
  form: "{kind: 'own-size'}",
  parse: (s) => (Object.keys(s).length === 1 ? { kind: 'own-size' } : undefined),
  withOptions: (p) => p,
  networkSize: (_p, width, height, scale) => [Math.max(1, Math.round(height * scale)), Math.max(1, Math.round(width * scale))],
  resize: (_p, img, height, width) => (img.width === width && img.height === height ? img : resizeRgbPil(img, width, height)),
  resample: () => PIL_BILINEAR,
  normalization: (_p, config) => config.normalization,
  outputResize: () => 'half_pixel',
  square: () => ({ height: SQUARE, width: SQUARE }),
  fixedSize: () => null,
  describe: () => 'resizes nothing: keeps the image at its own size',
  atOwnSize: (p) => p,
  hubProcessor: () => ({ why: "the model runs the image at its own size (VainF's predict.py), which our hub export does not write as a processor" }),
};
