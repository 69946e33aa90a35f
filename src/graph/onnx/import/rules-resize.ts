// Import rules of Resize (opsets 10 to 19) and Upsample (before): bilinear resizes of a map's
// height and width, to sizes or by scales, in the coordinate conventions exporters write.
import type { ResizeMode } from '../../../kernels/resize/resize.js';
import type { ImportContext } from './context.js';
import { mapInput, mapSlot, type ImportRule } from './rules-nn.js';

/** ONNX's coordinate_transformation_mode as our resize's corner convention, for a resize of `inSize` to `outSize`. */
function cornerMode(c: ImportContext, mode: string, inSize: readonly number[], outSize: readonly number[]): ResizeMode {
  switch (mode) {
    case 'half_pixel':
      return 'half_pixel';
    case 'pytorch_half_pixel':
      // PyTorch's half-pixel, but an output of one pixel reads coordinate 0 (asymmetric's), not the middle.
      return outSize.some((o, a) => o === 1 && inSize[a] > 1) ? 'asymmetric' : 'half_pixel';
    case 'align_corners':
      return 'align_corners';
    case 'asymmetric':
      return 'asymmetric';
    default:
      return c.refuse(`coordinate_transformation_mode '${mode}' is not run (half_pixel, pytorch_half_pixel, align_corners and asymmetric are)`);
  }
}

/** The resize of input 0 to (outH, outW), checking the ratio the coordinates use where scales were given. */
function bilinear(c: ImportContext, mode: string, size: { sizes?: number[]; scales?: number[] }, antialias = false) {
  const x = mapInput(c);
  const [, h, w] = x.shape;
  let out: [number, number];
  if (size.sizes) {
    if (size.sizes.length !== 4) c.refuse(`sizes [${size.sizes.join(',')}] are not four values`);
    if (size.sizes[0] !== x.shape[0] || size.sizes[1] !== x.shape[3]) c.refuse(`resizes the batch or channel axis (sizes [${size.sizes.join(',')}])`);
    out = [size.sizes[2], size.sizes[3]];
  } else {
    const scales = size.scales ?? c.refuse('has neither sizes nor scales');
    if (scales.length !== 4 || scales[0] !== 1 || scales[1] !== 1) c.refuse(`scales [${scales.join(',')}] resize the batch or channel axis`);
    out = [Math.floor(h * scales[2]), Math.floor(w * scales[3])];
    // With scales, ONNX maps coordinates by the scale itself; ours by the sizes' ratio: the same where the scale gives whole sizes.
    if (mode !== 'align_corners' && (h * scales[2] !== out[0] || w * scales[3] !== out[1])) {
      c.refuse(`scales ${scales[2]}, ${scales[3]} do not give whole sizes from ${h}x${w}; give sizes instead (the coordinates would use the scale, not the sizes' ratio)`);
    }
  }
  if (out.some((d) => !Number.isInteger(d) || d < 1)) c.refuse(`resizes ${h}x${w} to ${out.join('x')}`);
  if (antialias && (out[0] < h || out[1] < w)) c.refuse('downsamples with antialias 1, which is not run');
  if (out[0] === h && out[1] === w && (mode === 'half_pixel' || mode === 'pytorch_half_pixel' || mode === 'asymmetric' || mode === 'align_corners')) return [mapSlot(c, x)];
  const corner = cornerMode(c, mode, [h, w], out);
  return [mapSlot(c, c.b.resize(c.layer(), x, out[0], out[1], corner))];
}

/** The interpolation is bilinear: nearest and cubic are refused by name. */
function linearOnly(c: ImportContext): void {
  const mode = c.string('mode', 'nearest');
  if (mode !== 'linear' && mode !== 'bilinear') c.refuse(`mode '${mode}': only linear (bilinear) resizing is run`);
}

const resize: ImportRule = (c) => {
  c.only(['mode', 'coordinate_transformation_mode', 'cubic_coeff_a', 'exclude_outside', 'extrapolation_value', 'nearest_mode', 'antialias', 'axes', 'keep_aspect_ratio_policy']);
  linearOnly(c);
  if (c.int('exclude_outside', 0) !== 0) c.refuse('exclude_outside 1 is not run');
  const policy = c.string('keep_aspect_ratio_policy', 'stretch');
  if (policy !== 'stretch') c.refuse(`keep_aspect_ratio_policy '${policy}' is not run`);
  if (c.intList('axes')) c.refuse('resizes given axes: only [N,C,H,W] sizes or scales are run');
  if (c.opset < 11) return bilinear(c, 'asymmetric', { scales: c.ints(1, 'scales') });
  const mode = c.string('coordinate_transformation_mode', 'half_pixel');
  const sizes = c.input(3) && c.ints(3, 'sizes');
  const scales = c.input(2) && c.ints(2, 'scales');
  return bilinear(c, mode, sizes && sizes.length ? { sizes } : { scales: scales && scales.length ? scales : undefined }, c.int('antialias', 0) !== 0);
};

const upsample: ImportRule = (c) => {
  linearOnly(c);
  const scales = c.opset >= 9 ? c.ints(1, 'scales') : (c.attr('scales')?.kind === 'floats' ? (c.attr('scales') as { value: number[] }).value : c.refuse('has no scales'));
  return bilinear(c, 'asymmetric', { scales });
};

export const RESIZE_RULES: Readonly<Record<string, ImportRule>> = {
  Resize: resize,
  Upsample: upsample,
};
