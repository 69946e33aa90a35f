// What the ways of segmenting (a batch of images, averaged passes, sliding windows, frames on the
// GPU) need of a model. DeepLabModel gives them one host, on the model's device
// (src/model/devices/device.ts); each runs its device work inside a turn (`exclusive`), as the
// model's comments in src/model/model.ts explain.
import type { Graph } from '../graph/ir.js';
import type { StillImage } from '../io/band-image.js';
import type { InputNormalizationName } from '../io/input-normalization.js';
import type { Resample } from '../io/resize-cpu.js';
import type { PadParams } from '../kernels/layout/pad.js';
import type { ResizeMode } from '../kernels/resize/resize.js';
import type { PostLogits } from './post-logits.js';
import type { TileHost } from './tiled.js';
import type { DeviceInput, DeviceProgram, DeviceTensor, ModelDevice } from './devices/device.js';
import type { LoadedWeights } from './loading/load-weights.js';
import { inputPadding, outputResizeMode, policyNormalization, policyResample, takesNearestLabels } from './input-policy.js';

export interface SegmentHost extends TileHost {
  /** The model's name, for labels. */
  readonly name: string;
  readonly numClasses: number;
  /** How the network's input is normalised. */
  readonly normalization: InputNormalizationName;
  /** The input policy's resize, as the frame kernels run it. */
  readonly resample: Resample;
  /** How logits at the network's size are resized to the image (the reference pipeline's mode). */
  readonly outputResize: ResizeMode;
  /**
   * Whether a still image's labels are taken at its size in the network's input and enlarged to
   * it by nearest neighbour (TF DeepLab's zoo: the input policy's `nearestLabels`), rather than
   * from the logits resized to it.
   */
  readonly nearestLabels: boolean;
  /** The network's input size [height, width] for an image of width x height at a scale. */
  networkSize(width: number, height: number, scale?: number): [number, number];
  /** The zeros around an image at a scale in the network's input where the input policy pads it; null where it fills it. */
  inputPadding(width: number, height: number, scale?: number): PadParams | null;
  /** Normalised NHWC network input for an image at a scale. */
  preprocess(img: StillImage, scale?: number): { input: Float32Array; height: number; width: number };
  /** The network compiled for one batch and input size (cached by size). */
  program(height: number, width: number, batch?: number): Promise<DeviceProgram>;
  /** An output ('logits' [batch, height, width, C] by default) of a forward pass, on the device (the input may be there too). */
  forward(input: DeviceInput, height: number, width: number, batch?: number, output?: PostLogits['name']): Promise<DeviceTensor>;
  /** A cached post-processing program. */
  postProgram(key: string, build: () => Graph): Promise<DeviceProgram>;
  /** Runs device work that spans several awaits as one turn. */
  exclusive<T>(work: () => Promise<T>): Promise<T>;
}

/** The host of a model's weights on `device`; what depends on the model object itself comes from `model`. */
export function segmentHost(device: ModelDevice, weights: LoadedWeights, model: Pick<SegmentHost, 'networkSize' | 'preprocess' | 'forward'>): SegmentHost {
  const { config, inputPolicy } = weights;
  return {
    tensors: device.tensors,
    name: weights.name,
    numClasses: config.numClasses,
    normalization: policyNormalization(inputPolicy, config),
    resample: policyResample(inputPolicy),
    outputResize: outputResizeMode(inputPolicy, config),
    nearestLabels: takesNearestLabels(inputPolicy),
    networkSize: model.networkSize,
    inputPadding: (width, height, scale) => inputPadding(inputPolicy, width, height, scale),
    preprocess: model.preprocess,
    program: (height, width, batch) => device.network(height, width, batch),
    postLogits: (height, width) => device.postLogits(height, width),
    forward: model.forward,
    postProgram: (key, build) => device.post(key, build),
    exclusive: (work) => device.exclusive(work),
  };
}
