import type { Graph, Value } from '../graph/ir.js';
import type { HostParams } from '../graph/params.js';
import type { TfliteModelSpec } from '../graph/tflite/model.js';
import { inputNormalization } from '../io/input-normalization.js';
import { resizeRgbPil } from '../io/resize-cpu.js';
import type { RgbImage } from '../io/rgb-image.js';
import { policyNormalization } from './input-policy.js';
import type { LoadedWeights } from './loading/loaded-weights.js';

/** Calibration images as the file's input: resized to its size (bilinear, as MediaPipe stretches an image to the model's input), then normalised as the model's input policy says. */
export function calibrationInputs(w: LoadedWeights, images: readonly RgbImage[], height: number, width: number): Float32Array[] {
  const { normalize } = inputNormalization(policyNormalization(w.inputPolicy, w.config));
  return images.map((img) => normalize(img.width === width && img.height === height ? img : resizeRgbPil(img, width, height)));
}

export interface Int8Options {
  /** Calibration inputs: NHWC float32, normalised as the model's input. */
  calibration: Float32Array[];
  int8Io?: boolean;
}

export function quantizeModel(m: TfliteModelSpec, valueOf: Map<number, Value>, graph: Graph, state: HostParams, o: Int8Options): void {
  void m; void valueOf; void graph; void state; void o;
  throw new Error('int8: not written yet');
}
