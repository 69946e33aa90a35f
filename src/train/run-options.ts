// What `deeplab train` (and runTraining's other callers) give a run, and what it reports; a key
// of neither is refused by name.
import type { CocoClasses, DatasetFormat } from '../data/dataset.js';
import type { GpuContext } from '../gpu/context.js';
import type { LoadedWeights } from '../model/loading/load-weights.js';
import type { DeviceChoice, DeviceLossPolicy } from '../model/loading/options.js';
import type { DecoderName } from '../model/networks/config.js';
import type { ClassificationBackbone } from '../model/weights/torchvision-classification.js';
import { checkOptionKeys } from '../util/option-keys.js';
import { TRAINING_LOSSES, type TrainingLoss } from './loss-choice.js';
import type { StepRecord } from './run-log.js';

export interface RunOptions {
  data: string;
  /** The data set's format; without it the folder's layout decides. */
  format?: DatasetFormat;
  /** The classes of a coco data set ('file' by default). */
  cocoClasses?: CocoClasses;
  /** Weights to start from: a registry name or a checkpoint path (a new classifier for other classes). */
  model?: string;
  /**
   * Or a torchvision classification checkpoint (resnet50, resnet101, mobilenet_v3_large; .pth or
   * .safetensors) for the backbone, the head initialised afresh (src/train/from-backbone.ts).
   */
  backboneWeights?: string;
  /** The network `backboneWeights` must hold (default: the one it holds). */
  backbone?: ClassificationBackbone;
  out: string;
  trainSplit?: string;
  valSplit?: string;
  steps: number;
  batch: number;
  /** Micro-batches per step (gradient accumulation). */
  accumulate?: number;
  crop: number;
  lr: number;
  warmup?: number;
  /** The heads' dropout (default true). */
  dropout?: boolean;
  /** Hard-pixel mining: the loss over the hardest fraction of valid pixels (default 1: all). */
  hardPixels?: number;
  /** The loss: 'ce' (default), 'bce' (binary models), 'dice', 'ce+dice', 'bce+dice' (src/train/loss-choice.ts). */
  loss?: TrainingLoss;
  /** Threads that make training samples (default: the loader's). */
  workers?: number;
  outputStride?: number;
  /** The decoder to train with (default: the model's own); DeepLabv3+'s starts afresh on a model without one. */
  decoder?: DecoderName;
  freezeBackbone?: boolean;
  /** Batch norms in inference mode (their scale and shift still learn). */
  freezeBn?: boolean;
  headLrMultiplier?: number;
  /** Validate every N steps (and after the last); 0: only after the last. */
  evalEvery?: number;
  /** Validate on the first N images of the split only. */
  evalLimit?: number;
  seed?: number;
  resume?: boolean;
  /** Weight the loss by inverse class frequency (median-frequency balancing) of the training labels. */
  classWeights?: boolean;
  /** Bootstrapping: images holding these classes (ids or names) appear `repeatFactor` times per epoch. */
  repeatClasses?: (number | string)[];
  repeatFactor?: number;
  /**
   * When the GPU device is lost: 'recover' (the default) keeps the last step's state on the host
   * (one read-back per step), renews the device and replays what the loss broke, so the run ends
   * as one never interrupted; 'fail' stops the run with the loss, naming the step (--resume
   * continues from the last checkpoint).
   */
  deviceLoss?: DeviceLossPolicy;
  /**
   * Where the run trains: 'webgpu', 'cpu' (ONNX Runtime) or 'auto' (the default: WebGPU where a
   * context can be made, a software adapter included, else the CPU). A run kept on one device
   * resumes on either.
   */
  device?: DeviceChoice;
}

export interface RunHooks {
  /** The GPU context to run on; the caller keeps it (default: a new one, destroyed at the end). */
  ctx?: GpuContext;
  /** After each step (its log line and checkpoints written). */
  onStep?(r: StepRecord): void;
  /** Messages (loading, validation, checkpoints). */
  say?(message: string): void;
  /** Polled after each step: true stops the run after saving latest. */
  shouldStop?(): boolean;
  /**
   * Cancels the run: checked before it starts (an aborted signal writes nothing), between its
   * set-up stages, between steps and during validation; an aborted signal rejects the run with
   * its reason (a DOMException named 'AbortError' unless abort() was given one). Every step is
   * recorded whole or not at all: the checkpoints on disk stay whole, and --resume continues from
   * the last one.
   */
  signal?: AbortSignal;
  /** The module the sample worker threads run (a test gives one that dies). */
  sampleWorker?: URL;
  /** After a lost device, before a new one is asked for (deviceLoss 'recover'): the step under way (null before the first) and why. */
  onDeviceLost?(event: { step: number | null; reason: string }): void;
  /** Once the run's device is open and its weights loaded, before its trainer is made (the CLI's note on the faster device). */
  onStart?(start: { weights: LoadedWeights; crop: number; ctx: GpuContext | null }): Promise<void>;
}

export interface RunSummary {
  steps: number;
  interrupted: boolean;
  bestMIoU: number | null;
  seconds: number;
  activationBytes: number;
}

/** Every option's name, for the check of the keys given. */
const RUN_OPTION_NAMES = Object.keys({
  data: true,
  format: true,
  cocoClasses: true,
  model: true,
  backboneWeights: true,
  backbone: true,
  out: true,
  trainSplit: true,
  valSplit: true,
  steps: true,
  batch: true,
  accumulate: true,
  crop: true,
  lr: true,
  warmup: true,
  dropout: true,
  hardPixels: true,
  loss: true,
  workers: true,
  outputStride: true,
  decoder: true,
  freezeBackbone: true,
  freezeBn: true,
  headLrMultiplier: true,
  evalEvery: true,
  evalLimit: true,
  seed: true,
  resume: true,
  classWeights: true,
  repeatClasses: true,
  repeatFactor: true,
  deviceLoss: true,
  device: true,
} satisfies Record<keyof RunOptions, true>);

/** Every hook's name. */
const RUN_HOOK_NAMES = Object.keys({ ctx: true, onStep: true, say: true, shouldStop: true, signal: true, sampleWorker: true, onDeviceLost: true, onStart: true } satisfies Record<keyof RunHooks, true>);

/** runTraining's two arguments checked by name: a key neither knows is an error naming it (and where a key of the other belongs). */
export function checkRunArguments(o: RunOptions, hooks: RunHooks): void {
  checkOptionKeys('runTraining', o, RUN_OPTION_NAMES, (key) => (RUN_HOOK_NAMES.includes(key) ? `'${key}' belongs in runTraining's second argument, the hooks` : undefined));
  checkOptionKeys('runTraining: hooks', hooks, RUN_HOOK_NAMES, (key) => (RUN_OPTION_NAMES.includes(key) ? `'${key}' belongs in runTraining's first argument, the options` : undefined));
  if (o.deviceLoss !== undefined && o.deviceLoss !== 'recover' && o.deviceLoss !== 'fail') {
    throw new Error(`runTraining: deviceLoss must be 'recover' or 'fail', got ${JSON.stringify(o.deviceLoss)}`);
  }
  if (o.loss !== undefined && !(TRAINING_LOSSES as readonly string[]).includes(o.loss)) throw new Error(`runTraining: loss must be one of ${TRAINING_LOSSES.join(', ')}, got ${JSON.stringify(o.loss)}`);
}
