// What loading a model can be asked for, and how its input is prepared: shared by the loader
// and the model object (kept apart from both so neither imports the other for types).
import type { PilFilter } from '../../io/resize-cpu.js';
import type { DatasetName } from '../datasets.js';
import type { GpuContext } from '../../gpu/context.js';
import type { TuneMode } from '../../gpu/tuning.js';

export interface LoadOptions {
  /**
   * Where the model runs. 'webgpu': the GPU, through WebGPU (everything: segmenting, frames,
   * fine-tuning). 'cpu': the CPU, through ONNX Runtime (onnxruntime-node in Node; in the page
   * onnxruntime-web's WebAssembly backend, handed over once with useCpuRuntime): segmenting
   * and fine-tuning, the same results. 'auto' (the default): WebGPU wherever an adapter exists
   * (a software one too), the CPU where none does.
   */
  device?: DeviceChoice;
  /** Share a GPU context between models; by default the model creates (and owns) one. */
  ctx?: GpuContext;
  /** Run the weights at another output stride (8, 16 or 32). */
  outputStride?: number;
  /** ASPP atrous rates (default: the model's own, scaled with the output stride where it has any). */
  asppRates?: number[];
  /**
   * Models that take any input size (torchvision's): the image's short side is resized to this
   * before the network (default 520, as torchvision's reference evaluation).
   */
  shortSide?: number;
  /**
   * mmseg models: the keep-ratio test scale (long side, short side) the image is resized to
   * (default: the model's test pipeline, e.g. (2048, 1024) for Cityscapes).
   */
  testScale?: [number, number];
  /**
   * Hub models (a `transformers` folder whose processor centre-crops): false segments the whole
   * image (its shortest edge resized, nothing cut); the default, true, prepares it as the hub
   * processor does, whose centre crop cuts the sides of a wide photo (labels there come from the
   * stretched crop, as `post_process_semantic_segmentation` gives them).
   */
  centerCrop?: boolean;
  /**
   * TF DeepLab's zoo files (tarballs, checkpoints, frozen graphs): true runs the image at its own
   * size. By default it is run as the zoo's frozen graph runs it: padded to the export crop (the
   * frozen graph's, else the registry entry's or the tarball name's) with the mean pixel, an
   * image larger than the crop first shrunk to fit it as TF's demo does.
   */
  ownSize?: boolean;
  /**
   * A bare segmentation_models_pytorch state dict (`torch.save(model.state_dict())`, a `.pth`):
   * the model's config.json as an object (`_model_class` and the constructor's arguments, as
   * `save_pretrained` writes them), which the file itself does not hold. Every field is read and
   * checked as an smp folder's are.
   */
  smpConfig?: Record<string, unknown>;
  /**
   * The data set whose classes a model's file does not name ('voc', 'cityscapes', 'ade20k'):
   * VainF's checkpoints, whose classes otherwise come from the file's name (`_voc_`,
   * `_cityscapes_`), then from their count (21: VOC, 19: Cityscapes).
   */
  dataset?: DatasetName;
  /**
   * ONNX files: the network's input size [height, width] (default: the file's fixed size, else
   * the image's own size), the image resized to it as TF's models are.
   */
  inputSize?: [number, number];
  /**
   * ONNX files: the per-channel mean and std of the input the network expects, (x / 255 - mean) /
   * std (default: the file's metadata where it says, else ImageNet's).
   */
  mean?: readonly number[];
  std?: readonly number[];
  /** ONNX files: which of the graph's outputs holds the logits (default: the first). */
  output?: string;
  /**
   * transformers.js folders: which of its ONNX files runs, as transformers.js' `dtype` chooses:
   * 'fp32' (the default: onnx/model.onnx), 'fp16' (onnx/model_fp16.onnx) or 'q8'
   * (onnx/model_quantized.onnx). Refused for every other weights format.
   */
  dtype?: 'fp32' | 'fp16' | 'q8';
  /** Allow downloading registry models (default true). */
  download?: boolean;
  /** Progress messages (downloads, compilation). */
  onProgress?: (message: string) => void;
  /**
   * 'f16' stores activations and weights in half precision (the network only; post-processing
   * stays f32). Needs an adapter with `shader-f16`. Default 'f32'.
   */
  precision?: Precision;
  /**
   * Kernel choices measured on this adapter (src/gpu/tuning.ts): 'off' (the adapter class's
   * defaults), 'cached' (choices stored by an earlier tuning; the default, or DEEPLAB_TUNE), or
   * 'full' (also time the candidates of layers not yet tuned, the first time each runs, within
   * `tuneBudgetMs` per program, and store them). With a shared `ctx`, this sets that context's mode.
   */
  tune?: TuneMode;
  /**
   * How long mode 'full' may spend tuning a program (default 60 s). In the page's loadModel it
   * bounds the whole load instead, from the call to the model ready: parsing, compiling and
   * tuning (default 10 s; src/model/load-deadline.ts). The layers that take longest are tuned
   * first, their most promising candidates first.
   */
  tuneBudgetMs?: number;
  /**
   * The most GPU memory the model may hold, in bytes (weights, programs, frames; see
   * DeepLabModel.memory()). Programs are kept per input size; to stay under the budget the least
   * recently used are released first, and an input whose program cannot fit even alone is
   * refused with the sizes named. Default: no budget (the device's own limits).
   */
  memoryBudget?: number;
  /** The model's name where the weights are given as bytes (default 'weights'); a path's is its file name. */
  name?: string;
  /**
   * When the GPU device is lost (a driver reset, a GPU process crash, a phone reclaiming memory):
   * 'recover' (the default) renews the context's device, uploads the weights again and retries
   * the call once; 'fail' rejects that call and every later one with a device-lost GpuError.
   */
  deviceLoss?: DeviceLossPolicy;
  /** Told of each loss the model meets, and whether it recovered. */
  onDeviceLost?: (event: DeviceLostEvent) => void;
  /**
   * Cancels the load: checked before it starts, during a download, after the weights are read
   * and after compiling; an aborted load rejects with the signal's reason (a DOMException named
   * 'AbortError' unless abort() was given one) and leaves nothing behind (no partial download,
   * no GPU memory held).
   */
  signal?: AbortSignal;
}

export type DeviceLossPolicy = 'recover' | 'fail';

/** A lost device, as a model met it. */
export interface DeviceLostEvent {
  /** The model's name. */
  model: string;
  /** Why the device was lost (the implementation's reason and message). */
  reason: string;
  /** Whether the model now runs on a new device (false with deviceLoss 'fail', or if renewing failed). */
  recovered: boolean;
}

/** Every LoadOptions name, for the check that refuses unknown ones. */
export const LOAD_OPTION_NAMES: readonly (keyof LoadOptions)[] = [
  'device', 'ctx', 'outputStride', 'asppRates', 'shortSide', 'testScale', 'centerCrop', 'dataset', 'download', 'onProgress', 'precision', 'tune', 'tuneBudgetMs', 'memoryBudget', 'name',
  'deviceLoss', 'onDeviceLost', 'signal', 'smpConfig', 'ownSize', 'inputSize', 'mean', 'std', 'output', 'dtype',
];

export type Precision = 'f32' | 'f16';

/** The `device` load option's values. */
export const DEVICE_CHOICES = ['webgpu', 'cpu', 'auto'] as const;
export type DeviceChoice = (typeof DEVICE_CHOICES)[number];

/**
 * How the image is prepared for the network: resized to a fixed size (TF's models), its short
 * side resized to `size` (torchvision's), or resized keeping its aspect ratio so that it fits
 * (long, short) (mmseg's keep-ratio Resize: the factor min(long / long side, short / short side),
 * sides rounded to the nearest pixel; bilinear without antialiasing, as OpenCV's INTER_LINEAR),
 * or as a `transformers` image processor does (its shortest edge resized to `size`, the other
 * side truncated, with PIL's `filter`; or resized to height x width, DPT's keeping its aspect
 * ratio with sides multiples of `multiple`; then, with `crop`, the centre `crop` cut out), or kept at
 * its own size where its sides are multiples of `multiple` (an smp model's output stride), or
 * kept at its own size whatever it is (VainF's predict.py), or padded to an export crop with the
 * mean pixel, shrunk to fit it first where larger (TF DeepLab's zoo: src/model/input-policies/
 * pad-to-crop.ts).
 */
export type InputPolicy =
  | { kind: 'fixed'; height: number; width: number }
  | { kind: 'short-side'; size: number }
  | { kind: 'keep-ratio'; long: number; short: number }
  | { kind: 'shortest-edge'; size: number; crop: { height: number; width: number } | null; filter: PilFilter }
  | { kind: 'height-width'; height: number; width: number; filter: PilFilter; keepAspectRatio: boolean; multiple: number; crop: { height: number; width: number } | null }
  | { kind: 'stride-multiple'; multiple: number }
  | { kind: 'own-size' }
  | { kind: 'pad-to-crop'; height: number; width: number };

/** mmseg's sliding-window test: square windows of `crop` pixels every `stride` pixels, logits averaged. */
export interface SlideWindows {
  crop: number;
  stride: number;
}

