// Import rules of Resize (opsets 10 to 19) and Upsample (before): bilinear resizes of a map's
// height and width, to sizes or by scales, in the coordinate conventions exporters write, and
// nearest upscales that repeat each pixel. A constant map (a position embedding resized to the
// grid of the size built: DPT) is resized on the host, by the kernels' CPU reference.
import { type ResizeMode, resizeBilinearCpu } from '../../../kernels/resize/resize.js';
import { ownValue } from '../../../util/own-key.js';
import type { Value } from '../../ir.js';
import { permuteAxes } from '../lower.js';
import type { ImportContext, Slot } from './context.js';
import { isFloat } from './host.js';
import { mapInput, mapSlot, type ImportRule } from './rules-nn.js';

/** Input 0 as a map: a value, or a constant's NHWC values. */
type MapIn = { kind: 'value'; v: Value; shape: readonly number[] } | { kind: 'const'; data: Float32Array; shape: readonly number[] };

function mapIn(c: ImportContext): MapIn {
  const x = c.need(0, 'input');
  if (x.kind === 'value') {
    const v = mapInput(c);
    return { kind: 'value', v, shape: v.shape };
  }
  const [n, ch, h, w] = x.t.dims;
  if (x.t.dims.length !== 4 || !isFloat(x.t.dtype)) c.refuse(`resizes a constant ${x.t.dtype} [${x.t.dims.join(',')}]; only maps [N,C,H,W] are resized`);
  return { kind: 'const', data: permuteAxes(Float32Array.from(x.t.data), x.t.dims, [0, 2, 3, 1]).data, shape: [n, h, w, ch] };
}

/** NHWC values of `shape` as the constant slot of the node's output (ONNX's NCHW). */
function constMap(c: ImportContext, data: Float32Array, shape: readonly number[]): Slot {
  const t = permuteAxes(data, shape, [0, 3, 1, 2]);
  return { kind: 'const', t: { name: c.node.outputs[0], dtype: 'float', dims: t.dims, data: t.data } };
}

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

type Size = { sizes?: number[]; scales?: number[] };

/** The output height and width of a resize of the map `x`, checking the ratio the coordinates use where scales were given. */
function outputSize(c: ImportContext, x: MapIn, mode: string, size: Size): [number, number] {
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
  return out;
}

/** The bilinear resize of input 0. */
function bilinear(c: ImportContext, mode: string, size: Size, antialias = false): Slot[] {
  const x = mapIn(c);
  const [, h, w] = x.shape;
  const out = outputSize(c, x, mode, size);
  if (antialias && (out[0] < h || out[1] < w)) c.refuse('downsamples with antialias 1, which is not run');
  const same = out[0] === h && out[1] === w && (mode === 'half_pixel' || mode === 'pytorch_half_pixel' || mode === 'asymmetric' || mode === 'align_corners');
  const corner = cornerMode(c, mode, [h, w], out);
  if (x.kind === 'const') return [constMap(c, same ? x.data : resizeBilinearCpu(x.data, x.shape, { outH: out[0], outW: out[1], mode: corner }), same ? x.shape : [x.shape[0], ...out, x.shape[3]])];
  if (same) return [mapSlot(c, x.v)];
  return [mapSlot(c, c.b.resize(c.layer(), x.v, out[0], out[1], corner))];
}

/** ONNX's source pixel of output pixel `i` of a nearest resize of `inLen` to `outLen` (the spec's coordinate transformation, then its rounding), clamped. */
function nearestSource(i: number, inLen: number, outLen: number, mode: string, rounding: string): number {
  const scale = outLen / inLen;
  const coordinate: Record<string, () => number> = {
    half_pixel: () => (i + 0.5) / scale - 0.5,
    pytorch_half_pixel: () => (outLen > 1 ? (i + 0.5) / scale - 0.5 : 0),
    tf_half_pixel_for_nn: () => (i + 0.5) / scale,
    asymmetric: () => i / scale,
    align_corners: () => (outLen === 1 ? 0 : (i * (inLen - 1)) / (outLen - 1)),
  };
  const x = ownValue(coordinate, mode)?.() ?? NaN;
  const half = x - Math.floor(x) === 0.5;
  const round: Record<string, () => number> = {
    floor: () => Math.floor(x),
    ceil: () => Math.ceil(x),
    round_prefer_floor: () => (half ? Math.floor(x) : Math.round(x)),
    round_prefer_ceil: () => (half ? Math.ceil(x) : Math.round(x)),
  };
  const j = ownValue(round, rounding)?.() ?? NaN;
  return Math.min(Math.max(j, 0), inLen - 1);
}

/**
 * A nearest resize that repeats each pixel k times (an integer upscale whose coordinates and
 * rounding pick pixel floor(i / k), as exporters' nearest x2 upsamplings do): the map broadcast
 * along two new axes and merged back, exact, and trained and exported as those ops are.
 */
function nearest(c: ImportContext, mode: string, rounding: string, size: Size): Slot[] {
  const x = mapIn(c);
  const [n, h, w, ch] = x.shape;
  const out = outputSize(c, x, mode, size);
  if (x.kind === 'const') {
    // On the host, any nearest resize: each output pixel the input pixel ONNX's rules pick.
    const [ys, xs] = [0, 1].map((a) => Array.from({ length: out[a] }, (_, i) => nearestSource(i, x.shape[1 + a], out[a], mode, rounding)));
    if ([...ys, ...xs].some(Number.isNaN)) c.refuse(`coordinate_transformation_mode '${mode}' or nearest_mode '${rounding}' is not run`);
    const data = new Float32Array(n * out[0] * out[1] * ch);
    for (let b = 0; b < n; b++) for (let i = 0; i < out[0]; i++) for (let j = 0; j < out[1]; j++) data.set(x.data.subarray(((b * h + ys[i]) * w + xs[j]) * ch, ((b * h + ys[i]) * w + xs[j] + 1) * ch), ((b * out[0] + i) * out[1] + j) * ch);
    return [constMap(c, data, [n, out[0], out[1], ch])];
  }
  const repeats = [0, 1].map((a) => {
    const [inLen, outLen] = [x.shape[1 + a], out[a]];
    const k = outLen / inLen;
    const ok = Number.isInteger(k) && Array.from({ length: outLen }, (_, i) => i).every((i) => nearestSource(i, inLen, outLen, mode, rounding) === Math.floor(i / k));
    return ok ? k : c.refuse(`nearest resize of ${h}x${w} to ${out.join('x')} (${mode}, ${rounding}) does not repeat each pixel a whole number of times: only such upscales are run`);
  });
  const [kh, kw] = repeats;
  if (kh === 1 && kw === 1) return [mapSlot(c, x.v)];
  const cells = c.b.reshape(c.layer('cells'), x.v, [n, h, 1, w, 1, ch]);
  const repeated = c.b.expand(c.layer('repeat'), cells, [n, h, kh, w, kw, ch]);
  return [mapSlot(c, c.b.reshape(c.layer(), repeated, [n, h * kh, w * kw, ch]))];
}

/** The interpolation: linear (bilinear), or nearest where it repeats pixels; cubic is refused by name. */
function interpolation(c: ImportContext): 'linear' | 'nearest' {
  const mode = c.string('mode', 'nearest');
  if (mode === 'linear' || mode === 'bilinear') return 'linear';
  if (mode === 'nearest') return 'nearest';
  return c.refuse(`mode '${mode}': only linear (bilinear) and nearest resizing are run`);
}

const resize: ImportRule = (c) => {
  c.only(['mode', 'coordinate_transformation_mode', 'cubic_coeff_a', 'exclude_outside', 'extrapolation_value', 'nearest_mode', 'antialias', 'axes', 'keep_aspect_ratio_policy']);
  const kind = interpolation(c);
  if (c.int('exclude_outside', 0) !== 0) c.refuse('exclude_outside 1 is not run');
  const policy = c.string('keep_aspect_ratio_policy', 'stretch');
  if (policy !== 'stretch') c.refuse(`keep_aspect_ratio_policy '${policy}' is not run`);
  if (c.intList('axes')) c.refuse('resizes given axes: only [N,C,H,W] sizes or scales are run');
  // Opset 10's Resize: asymmetric coordinates, nearest by floor.
  if (c.opset < 11) return kind === 'nearest' ? nearest(c, 'asymmetric', 'floor', { scales: c.ints(1, 'scales') }) : bilinear(c, 'asymmetric', { scales: c.ints(1, 'scales') });
  const mode = c.string('coordinate_transformation_mode', 'half_pixel');
  const sizes = c.input(3) && c.ints(3, 'sizes');
  const scales = c.input(2) && c.ints(2, 'scales');
  const size = sizes && sizes.length ? { sizes } : { scales: scales && scales.length ? scales : undefined };
  if (kind === 'nearest') return nearest(c, mode, c.string('nearest_mode', 'round_prefer_floor'), size);
  return bilinear(c, mode, size, c.int('antialias', 0) !== 0);
};

const upsample: ImportRule = (c) => {
  const kind = interpolation(c);
  const scales = c.opset >= 9 ? c.ints(1, 'scales') : (c.attr('scales')?.kind === 'floats' ? (c.attr('scales') as { value: number[] }).value : c.refuse('has no scales'));
  // Upsample's nearest takes pixel floor(i / scale).
  return kind === 'nearest' ? nearest(c, 'asymmetric', 'floor', { scales }) : bilinear(c, 'asymmetric', { scales });
};

export const RESIZE_RULES: Readonly<Record<string, ImportRule>> = {
  Resize: resize,
  Upsample: upsample,
};
