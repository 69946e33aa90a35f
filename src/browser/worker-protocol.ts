// The messages between a page's SegmentationWorker (worker-client.ts) and the engine running in
// a Web Worker (worker.ts). Every request carries an id; the worker answers each one once, with
// its value or the error's message. A fine-tune also sends its steps and progress as it goes;
// 'stop' and 'abort' name the fine-tune they are for and are handled at once, not after it.
import type { BrowserLoadOptions } from './load.js';
import type { ModelMemory } from '../model/memory.js';
import type { DeviceName } from '../model/devices/device.js';
import type { FineTuneOptions, FineTuneReport, FineTuneStep, TeachSample } from '../train/fine-tune.js';

/** What a load in the worker takes: the page's load options, and where its CPU runtime comes from. */
export type WorkerLoadOptions = Omit<BrowserLoadOptions, 'ctx' | 'onProgress'> & {
  /** The URL of onnxruntime-web's ES module (its dist/ort.wasm.min.mjs), for device 'cpu' (or 'auto' without WebGPU) in the worker. */
  cpuRuntime?: string;
};

/** fineTune's options as they cross to the worker: no callbacks or signal (SegmentationWorker.fineTune takes those in the page). */
export type WorkerFineTuneOptions = Omit<FineTuneOptions, 'onStep' | 'onProgress' | 'onReport' | 'shouldStop' | 'signal'>;

/** What the page sends. Images and canvases are transferred, not copied. */
export type WorkerRequest =
  | { id: number; op: 'load'; source: string | ArrayBuffer; options: WorkerLoadOptions }
  | { id: number; op: 'canvas'; canvas: OffscreenCanvas }
  | { id: number; op: 'segment'; image: ImageBitmap | ImageData; overlay: boolean; logits: boolean }
  | { id: number; op: 'fineTune'; samples: TeachSample[]; options: WorkerFineTuneOptions }
  | { id: number; op: 'stop' | 'abort'; target: number }
  | { id: number; op: 'checkpoint' }
  | { id: number; op: 'undo' }
  | { id: number; op: 'dispose' };

export interface LoadedModelInfo {
  name: string;
  /** Where it runs: 'webgpu' or 'cpu'. */
  device: DeviceName;
  /** The device in words: 'WebGPU on <adapter>', 'CPU (onnxruntime-web ...)'. */
  adapter: string;
  classNames: string[];
  palette: Uint8Array;
  /** The model's GPU memory once loaded (DeepLabModel.memory()). */
  memory: ModelMemory;
}

/** What a fine-tune in the worker gives: the taught model's info (it is the worker's model now), the losses of the steps it ran and what fineTune reported. */
export interface TaughtModelInfo extends LoadedModelInfo {
  losses: number[];
  report: FineTuneReport;
}

export interface WorkerSegmentResult {
  width: number;
  height: number;
  numClasses: number;
  classes: Uint8Array;
  /** With `logits`: the network's logits at the image's size, [height, width, classes]. */
  logits?: Float32Array;
  /** Time in the worker: pixels read, segmented, overlay drawn. */
  ms: number;
  /** The model's GPU memory after this call (programs are made per input size). */
  memory: ModelMemory;
}

/** What the worker sends: answers, progress messages of a load or fine-tune, and a fine-tune's steps. */
export type WorkerResponse =
  | { id: number; ok: true; value: unknown }
  | { id: number; ok: false; error: string; name?: string }
  | { id: number; progress: string }
  | { id: number; step: FineTuneStep };
