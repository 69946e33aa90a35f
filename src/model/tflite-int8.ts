// int8 TF Lite export's calibration: the network (as the exporter lowers it: batch norms folded,
// activations fused) run on the CPU over the user's images, each value's smallest and largest
// entries kept; those ranges, by the tensor holding each value, are what the int8 pass
// (src/graph/tflite/quantize.ts) makes scales and zero points of. The input's quantization is the
// pixels' own where the model normalises every channel alike (scale 1/std, zero point the mean),
// so an --int8-io file takes the image's bytes as they are.
import { runGraphCpu } from '../graph/cpu-reference.js';
import type { CompiledGraph, Value } from '../graph/ir.js';
import type { HostParams } from '../graph/params.js';
import type { TfliteModelSpec } from '../graph/tflite/model.js';
import { quantizeInt8 } from '../graph/tflite/quantize.js';
import { inputNormalization } from '../io/input-normalization.js';
import { resizeRgbPil } from '../io/resize-cpu.js';
import type { RgbImage } from '../io/rgb-image.js';
import { policyNormalization } from './input-policy.js';
import type { LoadedWeights } from './loading/loaded-weights.js';

export interface Int8Options {
  /** Calibration inputs: NHWC float32 at the file's size, normalised as the model's input. */
  calibration: Float32Array[];
  /** uint8 input (the pixels) and int8 output instead of float32 at the edges. */
  int8Io?: boolean;
  /** The model's normalisation on 0..255 pixels, for the input's quantization. */
  normalization?: { mean: number[]; std: number[] };
}

/** Calibration images as the file's input: resized to its size (bilinear, as MediaPipe stretches an image to the model's input), then normalised as the model's input policy says. */
export function calibrationInputs(w: LoadedWeights, images: readonly RgbImage[], height: number, width: number): Float32Array[] {
  const { normalize } = inputNormalization(policyNormalization(w.inputPolicy, w.config));
  return images.map((img) => normalize(img.width === width && img.height === height ? img : resizeRgbPil(img, width, height)));
}

/** Each value's [min, max] over the calibration inputs, by value id (`params`: the model's own; the folding runs first). */
export function calibrate(compiled: CompiledGraph, params: HostParams, inputs: readonly Float32Array[]): Map<number, [number, number]> {
  const ranges = new Map<number, [number, number]>();
  const record = (v: Value, data: ArrayLike<number>): void => {
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = 0; i < data.length; i++) {
      const x = data[i];
      if (x < lo) lo = x;
      if (x > hi) hi = x;
    }
    const r = ranges.get(v.id);
    ranges.set(v.id, r ? [Math.min(r[0], lo), Math.max(r[1], hi)] : [lo, hi]);
  };
  const [input] = compiled.graph.inputs;
  for (const x of inputs) {
    record(input, x);
    runGraphCpu(compiled, params, { [input.name]: x }, record);
  }
  return ranges;
}

/** The float32 model `m` (lowered from `compiled.graph`) made full-integer int8, calibrated on `o.calibration`. */
export function quantizeModel(m: TfliteModelSpec, valueOf: ReadonlyMap<number, Value>, compiled: CompiledGraph, params: HostParams, o: Int8Options): void {
  if (o.calibration.length === 0) throw new Error('int8 TF Lite export needs at least one calibration image');
  const byValue = calibrate(compiled, params, o.calibration);
  const ranges = new Map<number, [number, number]>();
  for (const [t, v] of valueOf) {
    const r = byValue.get(v.id);
    if (r) ranges.set(t, r);
  }
  const n = o.normalization;
  const uniform = n && n.mean.every((x) => x === n.mean[0]) && n.std.every((x) => x === n.std[0]);
  const input = uniform ? { scale: 1 / n.std[0], zeroPoint: Math.round(n.mean[0]) } : undefined;
  quantizeInt8(m, ranges, { int8Io: o.int8Io ?? false, input });
}
