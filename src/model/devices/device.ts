// Where a model runs: the device its network, its post-processing and the tensors between them
// live on. The ways of segmenting (src/model/batched.ts, averaged.ts, tiled.ts, slide.ts) are
// written once against these interfaces; a model is given one device when it is loaded
// (open-device.ts: the GPU, webgpu/model-gpu.ts, or the CPU, cpu/), and nothing past that choice asks
// which it has.
import type { Graph } from '../../graph/ir.js';
import type { HostParams } from '../../graph/params.js';
import type { FrameInput } from '../../io/frame-source.js';
import type { RgbImage } from '../../io/rgb-image.js';
import type { ModelMemory } from '../memory.js';
import type { PostLogits } from '../post-logits.js';
import type { SegmentOutput, SegmentResult } from '../segment-options.js';
import type { ModelTraining } from './training.js';

export type { ModelTraining } from './training.js';

import type { DeviceName, HostValues } from './device-names.js';

export { DEVICE_NAMES, type DeviceName, type HostValues } from './device-names.js';

/** A tensor on a model's device (a GpuTensor on the GPU, host memory on the CPU). */
export interface DeviceTensor {
  readonly shape: readonly number[];
  /** Gives its memory back (a view of a program's output is not the caller's to dispose). */
  dispose(): void;
}

/** What a program takes for an input: host values, or a tensor already on its device. */
export type DeviceInput = HostValues | DeviceTensor;

/** A graph compiled for a device: the network at one batch and input size, or a post-processing graph. */
export interface DeviceProgram {
  /** Runs once and reads every output back. */
  run(inputs: Record<string, DeviceInput>): Promise<Map<string, HostValues>>;
  /** Runs once; the outputs stay on the device (valid until this program's next run). */
  runKept(inputs: Record<string, DeviceInput>): Promise<Map<string, DeviceTensor>>;
  /**
   * Runs `first`, then this program on what `link` makes of `first`'s outputs (on the GPU in one
   * submission and one wait), reading this program's outputs back.
   */
  runAfter(first: DeviceProgram, firstInputs: Record<string, DeviceInput>, link: (firstOutputs: Map<string, DeviceTensor>) => Record<string, DeviceInput>): Promise<Map<string, HostValues>>;
  /** As runAfter, this program's outputs staying on the device. */
  runKeptAfter(first: DeviceProgram, firstInputs: Record<string, DeviceInput>, link: (firstOutputs: Map<string, DeviceTensor>) => Record<string, DeviceInput>): Promise<Map<string, DeviceTensor>>;
}

/**
 * Tiled inference's accumulator (src/model/tiled.ts): windows' probabilities added, weighted
 * towards each window's centre, into a ring of image rows; rows no later window touches are then
 * normalised, argmaxed and cleared.
 */
export interface TileAccumulator {
  /** Adds windows of `probs` [N, winH, winW, C] (item, at x0, y0 in the image) in order. */
  blend(probs: DeviceTensor, windows: readonly { item: number; x0: number; y0: number }[]): Promise<void>;
  /** Image rows [row0, row0 + rows): their labels, and their probabilities where the accumulator keeps them. */
  finish(row0: number, rows: number): Promise<{ labels: Uint32Array; probabilities?: Float32Array }>;
  dispose(): void;
}

/** What the ways of segmenting do with tensors between programs. */
export interface DeviceTensors {
  /** A tensor of zeros. */
  zeros(shape: readonly number[], label: string): DeviceTensor;
  /** Copies `from` into `to` (the same size). */
  copy(from: DeviceTensor, to: DeviceTensor): Promise<void>;
  /** A float tensor's values on the host. */
  read(t: DeviceTensor): Promise<Float32Array>;
  /** Item `index` of a batched tensor [N, ...] as a view [1, ...]. */
  item(t: DeviceTensor, index: number): DeviceTensor;
  /**
   * An accumulator of `rows` image rows of `width` pixels and `classes` classes, its windows
   * weighted by `rowWeights` x `colWeights`; refused, naming the sizes, where the device cannot
   * bind it.
   */
  tileAccumulator(o: { rows: number; width: number; classes: number; rowWeights: Float32Array; colWeights: Float32Array; keepProbabilities: boolean }): TileAccumulator;
}

/** Frames (a GPUTexture; in the page a VideoFrame, <video>, ImageBitmap or canvas) through a model. */
export interface FramePath {
  /** One frame's result, read back. */
  segment(frame: FrameInput, scale: number, include: Set<SegmentOutput>): Promise<SegmentResult>;
  /** One frame's class map left on the device in `classes` ([1, height, width] u32), nothing read back. */
  segmentInto(frame: FrameInput, classes: DeviceTensor, scale: number): Promise<void>;
}

/** A still image through the model's still-image path (what a device without a frame path of its own segments a frame's pixels with). */
export type SegmentStill = (image: RgbImage, scale: number, include: Set<SegmentOutput>) => Promise<SegmentResult>;

/** A loaded model's device: its network's programs, the post-processing's, the tensors, and its calls' turns. */
export interface ModelDevice {
  readonly name: DeviceName;
  /** The device in words, for logs and reports: 'WebGPU on <adapter>', 'CPU (onnxruntime-node 1.30.0)'. */
  readonly label: string;
  readonly tensors: DeviceTensors;
  /** The network for inference at one batch and input size (cached by size). */
  network(height: number, width: number, batch?: number): Promise<DeviceProgram>;
  /** A post-processing program by its key (cached). */
  post(key: string, build: () => Graph): Promise<DeviceProgram>;
  /** The output post-processing reads from the network at an input size, and its size. */
  postLogits(height: number, width: number): PostLogits;
  /** The output forwardToHost gives at an input size. */
  ownOutput(height: number, width: number): PostLogits['name'];
  /** Runs work that spans several awaits as one turn: no other call of a model sharing the device runs between its steps. */
  exclusive<T>(work: () => Promise<T>): Promise<T>;
  /** Throws once the model is disposed. */
  assertUsable(): void;
  /** The parameters and statistics of `graph` (the network) as the device holds them, by checkpoint name (our layouts). */
  parameters(graph: Graph): Promise<HostParams>;
  /** What the model holds on its device. */
  memory(): ModelMemory;
  /** How a model on this device trains (fineTune). */
  training(): ModelTraining;
  dispose(): void;
}
