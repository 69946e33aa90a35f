// 'pad-to-crop' (TF DeepLab's model zoo, as its frozen graphs and demo run it): export_model.py's
// graph pads the image below and to the right to its export crop with the mean pixel
// (input_preprocess.py; the mean is the zero of the normalised input), runs the network at the
// crop and slices the labels of the image back. deeplab_demo.ipynb first shrinks an image larger
// than the crop (ratio INPUT_SIZE / long side, sides int(ratio * side), PIL's ANTIALIAS filter,
// i.e. LANCZOS): for a crop of any shape, the ratio that fits the image in it. The labels of a
// shrunk image come back to its size by nearest neighbour with aligned corners, as
// export_model.py brings back the labels of an image its graph resized (`nearestLabels`).
import type { PadParams } from '../../kernels/layout/pad.js';
import { type Resample, resizeRgb } from '../../io/resize-cpu.js';
import type { InputPolicy } from '../loading/options.js';
import { type InputPolicyRecord, isPositiveInt } from './policy.js';

type PadToCrop = Extract<InputPolicy, { kind: 'pad-to-crop' }>;

/** PIL's LANCZOS (the demo's Image.ANTIALIAS) in Pillow's fixed point. */
const PIL_LANCZOS: Resample = { filter: 'lanczos', fixedPoint: 'pillow' };

/** The size [height, width] the demo feeds an image of width x height: as it is where it fits the crop, else shrunk to fit. */
export function demoSize(p: PadToCrop, width: number, height: number): [number, number] {
  // Python's float arithmetic and int() truncation, as the notebook computes them.
  const ratio = Math.min(p.height / height, p.width / width);
  if (ratio >= 1) return [height, width];
  return [Math.max(1, Math.floor(ratio * height)), Math.max(1, Math.floor(ratio * width))];
}

/** A side at a scale (at least 1 pixel). */
const scaled = (side: number, scale: number): number => Math.max(1, Math.round(side * scale));

export const PAD_TO_CROP: InputPolicyRecord<PadToCrop> = {
  kind: 'pad-to-crop',
  form: "{kind: 'pad-to-crop', height, width}",
  parse: (s) => (isPositiveInt(s.height) && isPositiveInt(s.width) ? { kind: 'pad-to-crop', height: s.height, width: s.width } : undefined),
  // `ownSize` runs the image at its own size: no crop, no shrinking.
  withOptions: (p, opts) => (opts.ownSize ? { kind: 'own-size' } : p),
  networkSize: (p, _width, _height, scale) => [scaled(p.height, scale), scaled(p.width, scale)],
  padding(p, width, height, scale): PadParams {
    const [fh, fw] = demoSize(p, width, height);
    const [nh, nw] = [scaled(p.height, scale), scaled(p.width, scale)];
    return { top: 0, left: 0, bottom: nh - Math.min(nh, scaled(fh, scale)), right: nw - Math.min(nw, scaled(fw, scale)) };
  },
  resize: (_p, img, height, width) => (img.width === width && img.height === height ? img : resizeRgb(img, width, height, PIL_LANCZOS, 'pad-to-crop')),
  // The frame kernels run the same LANCZOS, so a frame is prepared as a still image is.
  resample: () => PIL_LANCZOS,
  normalization: (_p, config) => config.normalization,
  // Where the labels are not taken by nearest neighbour (frames, tiles): TF's resize of logits.
  outputResize: () => 'align_corners',
  nearestLabels: true,
  square: (p) => ({ height: p.height, width: p.width }),
  fixedSize: (p) => ({ height: p.height, width: p.width }),
  describe: (p) => `pads the image to ${p.width}x${p.height} with the mean pixel below and to the right (one larger first shrunk to fit it, LANCZOS) and crops the logits back`,
  atOwnSize: () => ({ kind: 'own-size' }),
  hubProcessor: () => ({ why: "a 'pad-to-crop' input policy (TF DeepLab's export crop) has no transformers processor form" }),
};
