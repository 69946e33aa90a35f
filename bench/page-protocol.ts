// What the browser benchmark's Node side (bench/browser.ts) and its page (bench/browser-page.ts)
// exchange: the engines, a model case as the page is asked to run it, and what comes back.
import type { PhotoEngineName } from './photo-engines.js';
import { PHOTO_ENGINE_NAMES } from './photo-engines.js';
import type { PageEngineTimes } from './page-rounds.js';
import type { ProgramProfile } from '../src/graph/profile.js';

/** The engines timed from the normalised input in host memory to the logits in host memory, in the order they open. */
export const INPUT_ENGINES = ['ours', 'ours-tuned', 'ort', 'ort-wasm', 'tfjs', 'tfjs-wasm', 'transformers', 'transformers-steps', 'litert-webgpu', 'litert-wasm'] as const;
export type InputEngine = (typeof INPUT_ENGINES)[number];
/** Every engine: those on the network's input, then those from the photo (bench/photo-engines.ts). */
export const ENGINES: readonly EngineName[] = [...INPUT_ENGINES, ...PHOTO_ENGINE_NAMES];
export type EngineName = InputEngine | PhotoEngineName;
/** One model case, as the Node side prepared it: URLs of its files and its input size. */
export interface CaseSpec {
  name: string;
  /** What ours loads: our checkpoint (.safetensors) of the weights the ONNX file holds, or for an ONNX case that file itself. */
  checkpoint: string;
  onnx: string;
  /** The ONNX file's graph input and the output holding the logits (NCHW). */
  onnxNames: { input: string; output: string };
  /** The normalised input, float32 NHWC [1,H,W,3]. */
  input: string;
  height: number;
  width: number;
  classes: number;
  /** The official .tflite at this input size, for LiteRT.js; or why there is none. */
  tflite: { url: string } | { unavailable: string };
  /** The same .tflite with TFLite metadata added (src/io/tflite-metadata.ts), for MediaPipe; or why there is none. */
  tfliteWithMetadata: { url: string } | { unavailable: string };
  /**
   * The photo the photo engines segment whole (the JPEG, decoded in the page before any timing),
   * its size, and TF Lite's class map of it (uint8, row-major, the photo's size) where there is one.
   */
  photo: { url: string; width: number; height: number; tfliteClasses: string | null } | null;
  /** A Hugging Face hub model, served as a hub folder at /hub/<name>/ (for transformers.js). */
  hub: boolean;
  /** Untimed runs of each engine after its first run. */
  warmup: number;
  repeats: number;
  engines: EngineName[];
  /** Profile our pass layer by layer after the timed rounds (`repeats` times each; timing as DeepLabModel.profile picks unless given). */
  profile?: { repeats: number; timing?: ProgramProfile['timing'] };
}

/** Each engine's result (the output compared on the first pass's logits). */
export interface EngineResult extends PageEngineTimes {
  engine: EngineName;
  /** LiteRT.js: whether it put the whole model on the accelerator asked for (its `isFullyAccelerated`). */
  fullyAccelerated?: boolean;
  /** A transformers.js-folder case: share of the photo's pixels given our class (null for ours). */
  labelAgreementVsOurs?: number | null;
  /** A transformers.js-folder case: ‖theirs − ours‖ / ‖ours‖ of the network input each makes of the photo. */
  inputRelativeErrorVsOurs?: number | null;
  /** The adapter the engine's device is on, where the case reports it per engine. */
  adapter?: string;
  /** A photo engine: the photo's [height, width], segmented whole (its times are the photo to its class map). */
  photo?: number[];
  /** A photo engine: share of the photo's pixels given TF Lite's class (its interpreter on the same .tflite, logits resized to the photo, argmax); null where the case has no such map. */
  labelAgreementVsTflite?: number | null;
  /** A photo engine: from nothing to its first class map (its runtime's start before any case, making it, its first run). */
  coldStartMs?: number | null;
  /** WebAssembly threads, for an engine on the CPU. */
  threads?: number;
}

/** What the page starts before any case. */
export interface StartOptions {
  engines: EngineName[];
  /** An ONNX file ORT's runtime is started on (a session made and released), when 'ort' runs. */
  warmOnnx: string | null;
  /** Our GPU context asks for timestamp queries (for the profile). */
  timestamps: boolean;
}

export interface StartInfo {
  /** The adapter each started engine got (litert-wasm: the CPU). */
  adapters: Partial<Record<EngineName, string>>;
  versions: { ort?: string; tfjs?: string; transformers?: string };
  crossOriginIsolated: boolean;
  /** ORT's WebAssembly runtime and WebGPU device started (a session created and released), ms. */
  ortStartMs: number | null;
  /** LiteRT.js' WebAssembly module loaded and its WebGPU device made (loadLiteRt), ms. */
  litertStartMs: number | null;
  /**
   * Runtimes started before any case, ms, by engine: ort-wasm (its WebAssembly build's module and
   * runtime, a session created and released), tfjs-wasm (its backend's WebAssembly), the MediaPipe
   * engines (its module imported; each segmenter loads and compiles its WebAssembly anew).
   */
  runtimeStartMs: Partial<Record<EngineName, number>>;
  /** navigator.hardwareConcurrency, and the WebAssembly threads each CPU engine runs with. */
  threads: { hardwareConcurrency: number; engines: Partial<Record<EngineName, number>> };
  /** Which of LiteRT.js' WebAssembly builds loaded, and the features that chose it. */
  litert?: { jspi: boolean; relaxedSimd: boolean; build: string; threads: number; device: string };
  /** Whether our context got timestamp queries. */
  timestamps: boolean;
}

/** Our profile of a case (DeepLabModel.profile), in the page. */
export interface CaseProfile extends ProgramProfile {
  model: string;
  input: number[];
}
