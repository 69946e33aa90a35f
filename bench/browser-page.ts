// The browser benchmark's page script (bundled to dist/bench-page/bench-page.js by
// scripts/build-browser.mjs; bench/browser.ts serves and drives it). In one page, on the
// page's WebGPU adapter, the engines run one model case each in turn:
//  - ours: the checkpoint loaded with loadModel, untuned (the adapter class's defaults), DeepLabModel.forwardToHost;
//  - ours-tuned: the same, loaded with tune 'full' (its load includes tuning in the page);
//  - ort: ONNX Runtime Web's WebGPU execution provider on the ONNX file we exported;
//  - ort-wasm: ONNX Runtime Web's WebAssembly build (ort.wasm.min.mjs: SIMD, threads where the page
//    is cross-origin isolated, as many as navigator.hardwareConcurrency) on the same file;
//  - tfjs: TensorFlow.js' WebGPU backend running the graph our model compiles (bench/tfjs-graph.ts,
//    the Node bench's interpreter) on the parameters our model holds;
//  - tfjs-wasm: the same graph on TF.js' WebAssembly backend (XNNPACK; SIMD, threads as ort-wasm);
//  - transformers: transformers.js' AutoModel on WebGPU, on a local hub folder holding the ONNX
//    file we exported (bench/transformers-peer.ts), where the case is a Hugging Face hub model;
//  - transformers-steps: on the transformers.js-folder cases only (bench/tjs-folder-page.ts, which
//    runs those cases: ours and transformers.js' image-segmentation pipeline, photo to class map);
//  - litert-webgpu, litert-wasm: LiteRT.js (@litertjs/core) on the official .tflite file, on
//    WebGPU and on WebAssembly (XNNPACK, one thread), where the case has one at its size;
//  - the photo engines (bench/photo-engines.ts: ours through segment(), MediaPipe Tasks'
//    ImageSegmenter on its CPU and GPU delegates), timed from the decoded photo to its class map.
// Every other time is wall time from the normalised input in host memory to the logits in host
// memory. ONNX Runtime, TF.js, LiteRT.js and MediaPipe are the page's script files (window.tf and
// window.tf.wasm; ORT imported from /ort/, LiteRT.js from /litert/ through the page's import map,
// MediaPipe from /mediapipe/).
import { argmaxAgreement, labelAgreement } from './agreement.js';
import { type OpenPhotoEngine, PHOTO_ENGINES, PHOTO_ENGINE_NAMES, type PhotoCase, type PhotoEngineEntry, type PhotoEngineName, isPhotoEngine, openPhotoEngine } from './photo-engines.js';
import { TfjsGraph, type Tfjs, freshTfjsBackend } from './tfjs-graph.js';
import { type FolderCaseSpec, runFolderCase } from './tjs-folder-page.js';
import { type PageEngineTimes, progress, timeInTurns } from './page-rounds.js';
import { openTransformersModel, startTransformers } from './transformers-peer.js';
import { loadModel } from '../src/browser/load.js';
import { GpuContext } from '../src/gpu/context.js';
import { deriveStateCpu } from '../src/graph/cpu-reference.js';
import type { ProgramProfile } from '../src/graph/profile.js';
import type { DeepLabModel } from '../src/model/model.js';
import { relativeError } from '../src/util/relative-error.js';

type Ort = typeof import('onnxruntime-web');
type LiteRt = typeof import('@litertjs/core');
/** TF.js' WebAssembly backend's functions (window.tf.wasm, from its script bundle). */
type TfjsWasm = typeof import('@tensorflow/tfjs-backend-wasm');

/** The engines timed from the normalised input in host memory to the logits in host memory, in the order they open. */
export const INPUT_ENGINES = ['ours', 'ours-tuned', 'ort', 'ort-wasm', 'tfjs', 'tfjs-wasm', 'transformers', 'transformers-steps', 'litert-webgpu', 'litert-wasm'] as const;
type InputEngine = (typeof INPUT_ENGINES)[number];
/** Every engine: those on the network's input, then those from the photo (bench/photo-engines.ts). */
export const ENGINES: readonly EngineName[] = [...INPUT_ENGINES, ...PHOTO_ENGINE_NAMES];
export type EngineName = InputEngine | PhotoEngineName;
/** LiteRT.js' two accelerators, as its engines name them. */
const LITERT_ACCELERATOR = { 'litert-webgpu': 'webgpu', 'litert-wasm': 'wasm' } as const;
type LiteRtEngine = keyof typeof LITERT_ACCELERATOR;

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

interface HostRun {
  ms: number;
  out: Float32Array;
}

/** One engine opened on a case: a timed run, and how to let go of it. */
interface OpenEngine {
  name: EngineName;
  run(): Promise<HostRun>;
  dispose(): Promise<void> | void;
  firstRunMs: number;
  loadMs: number;
  firstPassMs: number;
  /** Logits of the first pass, NHWC. */
  firstOut: Float32Array;
  fullyAccelerated?: boolean;
}

let ctx: GpuContext | null = null;
let ort: Ort | null = null;
let ortWasm: Ort | null = null;
let litert: LiteRt | null = null;
/** start()'s runtimeStartMs: the share of each engine's cold start spent before any case. */
let startedRuntimes: StartInfo['runtimeStartMs'] = {};
/** start()'s threads by engine. */
let startedThreads: StartInfo['threads']['engines'] = {};

const tfjs = (): Tfjs => {
  const tf = (globalThis as unknown as { tf?: Tfjs }).tf;
  if (!tf) throw new Error('bench page: TensorFlow.js is not loaded (window.tf is missing)');
  return tf;
};

const tfjsWasm = (): TfjsWasm => {
  const w = (tfjs() as unknown as { wasm?: TfjsWasm }).wasm;
  if (!w) throw new Error("bench page: TF.js' WebAssembly backend is not loaded (window.tf.wasm is missing)");
  return w;
};

/** WebAssembly threads for the CPU engines that have them: every core where the page may share memory (cross-origin isolated), else one. */
const wasmThreads = (): number => (globalThis.crossOriginIsolated === true ? navigator.hardwareConcurrency || 1 : 1);

async function fetchBytes(url: string): Promise<ArrayBuffer> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`bench page: ${url}: HTTP ${response.status}`);
  return response.arrayBuffer();
}

const describe = (info: GPUAdapterInfo | undefined): string =>
  info ? [info.vendor, info.architecture, info.device, info.description].filter(Boolean).join(' / ') || '(no adapter info)' : '(no adapter info)';

/** The folder LiteRT.js' WebAssembly files are served from (bench/browser.ts). */
const LITERT_WASM = '/litert/wasm/';

/**
 * LiteRT.js makes its own WebGPU device with the default limits but for four (buffer sizes,
 * storage buffers, texture size). On an adapter in compatibility mode (lavapipe through OpenGL
 * ES) those defaults are lower than its kernels need (128 invocations a workgroup), its
 * pipelines fail and its passes skip them, so there it gets a device with the adapter's own
 * compute limits and the features it asks for. Returns whether it did.
 */
async function givesLiteRtAdapterLimits(lr: LiteRt): Promise<boolean> {
  const own = lr.getWebGpuDevice();
  if (!own || own.features.has('core-features-and-limits')) return false;
  const adapter = await navigator.gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) throw new Error('bench page: no WebGPU adapter for LiteRT.js');
  const l = adapter.limits;
  const device = await adapter.requestDevice({
    requiredFeatures: (['shader-f16', 'subgroups'] as GPUFeatureName[]).filter((f) => adapter.features.has(f)),
    requiredLimits: {
      maxBufferSize: l.maxBufferSize,
      maxStorageBufferBindingSize: l.maxStorageBufferBindingSize,
      maxStorageBuffersPerShaderStage: l.maxStorageBuffersPerShaderStage,
      maxTextureDimension2D: l.maxTextureDimension2D,
      maxComputeWorkgroupStorageSize: l.maxComputeWorkgroupStorageSize,
      maxComputeInvocationsPerWorkgroup: l.maxComputeInvocationsPerWorkgroup,
      maxComputeWorkgroupSizeX: l.maxComputeWorkgroupSizeX,
      maxComputeWorkgroupSizeY: l.maxComputeWorkgroupSizeY,
      maxComputeWorkgroupSizeZ: l.maxComputeWorkgroupSizeZ,
    },
  });
  lr.setWebGpuDevice(device);
  own.destroy();
  return true;
}

/**
 * Starts the runtimes of the engines asked for: our GPU context; ORT's (its WebAssembly module
 * and WebGPU device, by creating and releasing a session on `warmOnnx`: ORT starts them with its
 * first session); TF.js' WebGPU backend; LiteRT.js' WebAssembly module (its JSPI build where the
 * browser has JSPI, as its documentation asks for WebGPU) and WebGPU device. Returns the adapter
 * each one got.
 */
export async function start(o: StartOptions): Promise<StartInfo> {
  const wants = (...engines: EngineName[]) => engines.some((e) => o.engines.includes(e));
  ctx = await GpuContext.create({ timestamps: o.timestamps });
  const info: StartInfo = {
    adapters: { ours: describe(ctx.adapter.info) },
    versions: {},
    crossOriginIsolated: globalThis.crossOriginIsolated === true,
    ortStartMs: null,
    litertStartMs: null,
    runtimeStartMs: {},
    threads: { hardwareConcurrency: navigator.hardwareConcurrency, engines: {} },
    timestamps: ctx.hasTimestamps,
  };
  // ORT starts on a case's ONNX file; a run of transformers.js-folder cases only has none (they run no ORT).
  if (wants('ort') && o.warmOnnx) {
    const ortUrl = '/ort/ort.webgpu.min.mjs'; // a variable: the compiler is not to resolve it
    ort = (await import(ortUrl)) as Ort;
    ort.env.wasm.wasmPaths = '/ort/';
    const t0 = performance.now();
    const warm = await ort.InferenceSession.create(await fetchBytes(o.warmOnnx), { executionProviders: ['webgpu'] });
    await warm.release();
    info.ortStartMs = performance.now() - t0;
    info.adapters.ort = describe((await ort.env.webgpu.device).adapterInfo);
    info.versions.ort = ort.env.versions.web ?? ort.env.versions.common;
  }
  // ORT's WebAssembly-only build, a module of its own beside the WebGPU one, started the same way.
  if (wants('ort-wasm') && o.warmOnnx) {
    const url = '/ort/ort.wasm.min.mjs';
    const t0 = performance.now();
    const o2 = (await import(url)) as Ort;
    o2.env.wasm.wasmPaths = '/ort/';
    o2.env.wasm.numThreads = wasmThreads();
    const warm = await o2.InferenceSession.create(await fetchBytes(o.warmOnnx), { executionProviders: ['wasm'] });
    await warm.release();
    info.runtimeStartMs['ort-wasm'] = performance.now() - t0;
    ortWasm = o2;
    info.threads.engines['ort-wasm'] = o2.env.wasm.numThreads;
    info.adapters['ort-wasm'] = `CPU: WebAssembly, SIMD, ${o2.env.wasm.numThreads} thread(s)`;
    info.versions.ort ??= o2.env.versions.web ?? o2.env.versions.common;
  }
  if (wants('tfjs', 'tfjs-wasm')) {
    const tf = tfjs();
    // The WebGPU backend first: a fresh one resets TF.js' engine, every backend with it.
    if (wants('tfjs')) {
      await freshTfjsBackend(tf);
      info.adapters.tfjs = describe((tf.backend() as unknown as { device?: GPUDevice }).device?.adapterInfo);
    }
    if (wants('tfjs-wasm')) {
      const w = tfjsWasm();
      w.setWasmPaths('/tfjs-wasm/');
      w.setThreadsCount(wasmThreads());
      const t0 = performance.now();
      if (!(await tf.setBackend('wasm'))) throw new Error('TensorFlow.js could not start its WebAssembly backend');
      await tf.ready();
      info.runtimeStartMs['tfjs-wasm'] = performance.now() - t0;
      const [simd, threads] = await Promise.all([tf.env().getAsync('WASM_HAS_SIMD_SUPPORT'), tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT')]);
      const got = w.getThreadsCount();
      info.threads.engines['tfjs-wasm'] = got;
      // TF.js caps its XNNPACK pool at half navigator.hardwareConcurrency whatever it is asked for (its backend.cc).
      const capped = got < wasmThreads() ? ` (${wasmThreads()} asked: TF.js caps its pool at hardwareConcurrency / 2)` : '';
      info.adapters['tfjs-wasm'] = `CPU: WebAssembly, XNNPACK, SIMD ${simd ? 'on' : 'off'}, threads ${threads ? 'on' : 'off'}, ${got} thread(s)${capped}`;
    }
    info.versions.tfjs = tf.version_core;
  }
  if (wants('transformers', 'transformers-steps')) info.versions.transformers = await startTransformers();
  if (wants('litert-webgpu', 'litert-wasm')) {
    const litertUrl = '/litert/core.js';
    const lr = (await import(litertUrl)) as LiteRt;
    const jspi = await lr.supportsFeature('jspi');
    const relaxedSimd = await lr.supportsFeature('relaxedSimd');
    const t0 = performance.now();
    await lr.loadLiteRt(LITERT_WASM, { jspi });
    info.litertStartMs = performance.now() - t0;
    litert = lr;
    const compat = await givesLiteRtAdapterLimits(lr);
    const device = lr.getWebGpuDevice();
    const threads = lr.getGlobalLiteRt().liteRtWasm.getThreadCount();
    // What LiteRT.js' loader picks from these two features (its load.ts).
    const build = !relaxedSimd ? 'litert_wasm_compat_internal' : jspi ? 'litert_wasm_jspi_internal' : 'litert_wasm_internal';
    info.litert = { jspi, relaxedSimd, build, threads, device: compat ? 'adapter limits (compatibility mode)' : 'its own default' };
    if (o.engines.includes('litert-webgpu')) info.adapters['litert-webgpu'] = device ? describe(device.adapterInfo) : '(no WebGPU device)';
    if (o.engines.includes('litert-wasm')) {
      info.adapters['litert-wasm'] = `CPU: WebAssembly, XNNPACK, ${threads} thread${threads === 1 ? '' : 's'}`;
      info.threads.engines['litert-wasm'] = threads;
    }
  }
  for (const e of o.engines.filter(isPhotoEngine)) {
    const entry: PhotoEngineEntry = PHOTO_ENGINES[e];
    if (entry.start) info.runtimeStartMs[e] = (await entry.start()).ms;
    if (entry.threads !== undefined) info.threads.engines[e] = entry.threads;
  }
  startedRuntimes = info.runtimeStartMs;
  startedThreads = info.threads.engines;
  return info;
}

/** NHWC [1,H,W,C] <-> NCHW [1,C,H,W]. */
function transpose(x: Float32Array, height: number, width: number, channels: number, toNchw: boolean): Float32Array {
  const y = new Float32Array(x.length);
  const hw = height * width;
  for (let p = 0; p < hw; p++) {
    for (let c = 0; c < channels; c++) {
      if (toNchw) y[c * hw + p] = x[p * channels + c];
      else y[p * channels + c] = x[c * hw + p];
    }
  }
  return y;
}

interface MadeEngine {
  run: () => Promise<HostRun>;
  dispose: () => Promise<void> | void;
  fullyAccelerated?: boolean;
}

/** Times `open` (making the engine) and its first run; a failure to open is the caller's. */
async function opened(name: EngineName, open: () => Promise<MadeEngine>): Promise<OpenEngine> {
  const t0 = performance.now();
  const e = await open();
  const loadMs = performance.now() - t0;
  try {
    const first = await e.run();
    return { name, run: e.run, dispose: e.dispose, firstRunMs: performance.now() - t0, loadMs, firstPassMs: first.ms, firstOut: first.out, fullyAccelerated: e.fullyAccelerated };
  } catch (err) {
    await e.dispose();
    throw err;
  }
}

function openOurs(spec: CaseSpec, bytes: ArrayBuffer, input: Float32Array): Promise<OpenEngine & { model: DeepLabModel }> {
  let model: DeepLabModel | undefined;
  return opened('ours', async () => {
    const m = await loadModel(bytes, { ctx: ctx!, name: spec.name, tune: 'off' });
    model = m;
    return {
      run: async () => {
        const t = performance.now();
        const out = await m.forwardToHost(input, spec.height, spec.width);
        return { ms: performance.now() - t, out };
      },
      dispose: () => m.dispose(),
    };
  }).then((e) => ({ ...e, model: model! }));
}

/**
 * Ours tuned in the page as a user would: loadModel with tune 'full' on a context of its own (its
 * default budget; its load includes the tuning, whose choices go to this page's IndexedDB).
 */
async function openOursTuned(spec: CaseSpec, bytes: ArrayBuffer, input: Float32Array): Promise<OpenEngine> {
  const tunedCtx = await GpuContext.create({ tune: 'full' });
  try {
    return await opened('ours-tuned', async () => {
      const m = await loadModel(bytes, { ctx: tunedCtx, name: spec.name, tune: 'full' });
      return {
        run: async () => {
          const t = performance.now();
          const out = await m.forwardToHost(input, spec.height, spec.width);
          return { ms: performance.now() - t, out };
        },
        dispose: () => {
          m.dispose();
          tunedCtx.destroy();
        },
      };
    });
  } catch (e) {
    tunedCtx.destroy();
    throw e;
  }
}

/** ONNX Runtime Web on the ONNX file: `ort` on its WebGPU build's WebGPU EP, `ort-wasm` on its WebAssembly build's wasm EP. */
function openOrt(engine: 'ort' | 'ort-wasm', spec: CaseSpec, bytes: ArrayBuffer, input: Float32Array): Promise<OpenEngine> {
  const o = engine === 'ort' ? ort : ortWasm;
  if (!o) throw new Error(`${engine === 'ort' ? 'ORT' : "ORT's WebAssembly build"} was not started`);
  const nchw = transpose(input, spec.height, spec.width, 3, true); // the ONNX file's layout, made once
  return opened(engine, async () => {
    const session = await o.InferenceSession.create(bytes, { executionProviders: [engine === 'ort' ? 'webgpu' : 'wasm'] });
    return {
      run: async () => {
        const t = performance.now();
        const result = await session.run({ [spec.onnxNames.input]: new o.Tensor('float32', nchw, [1, 3, spec.height, spec.width]) });
        const logits = (await result[spec.onnxNames.output].getData()) as Float32Array;
        const ms = performance.now() - t;
        return { ms, out: transpose(logits, spec.height, spec.width, spec.classes, false) };
      },
      dispose: () => session.release(),
    };
  });
}

function openTransformers(spec: CaseSpec, input: Float32Array): Promise<OpenEngine> {
  const nchw = transpose(input, spec.height, spec.width, 3, true);
  return opened('transformers', async () => {
    const model = await openTransformersModel(spec.name);
    return {
      run: async () => {
        const t = performance.now();
        const logits = await model.run(nchw, spec.height, spec.width);
        const ms = performance.now() - t;
        return { ms, out: transpose(logits, spec.height, spec.width, spec.classes, false) };
      },
      dispose: () => model.dispose(),
    };
  });
}

/**
 * TF.js on the graph `model` compiles and the parameters it holds (folded on the CPU, untimed, as
 * in the Node bench), on its WebGPU backend (`tfjs`) or its WebAssembly backend (`tfjs-wasm`). TF.js
 * has one backend at a time and keeps a tensor on the backend it was made on: each engine's
 * parameters are made on its own backend, and each run switches to it before its clock starts. A
 * fresh WebGPU backend resets TF.js' engine (every backend, and every tensor on them), so `tfjs`
 * opens before `tfjs-wasm` (INPUT_ENGINES' order).
 */
async function openTfjs(engine: 'tfjs' | 'tfjs-wasm', spec: CaseSpec, model: DeepLabModel, input: Float32Array): Promise<OpenEngine> {
  const tf = tfjs();
  const backend = engine === 'tfjs' ? 'webgpu' : 'wasm';
  const compiled = model.compiledGraph({ height: spec.height, width: spec.width });
  const params = deriveStateCpu(compiled, await model.parameters());
  if (engine === 'tfjs') await freshTfjsBackend(tf);
  else if (!(await tf.setBackend('wasm'))) throw new Error('TensorFlow.js could not start its WebAssembly backend');
  return opened(engine, async () => {
    const net = new TfjsGraph(tf, compiled.graph, params);
    return {
      run: async () => {
        if (tf.getBackend() !== backend) await tf.setBackend(backend);
        const t = performance.now();
        const x = tf.tensor4d(input, [1, spec.height, spec.width, 3]);
        try {
          const y = net.run(x);
          try {
            const out = (await y.data()) as Float32Array;
            return { ms: performance.now() - t, out };
          } finally {
            y.dispose();
          }
        } finally {
          x.dispose();
        }
      },
      dispose: () => net.dispose(),
    };
  });
}

/** LiteRT.js on the .tflite's bytes, on `engine`'s accelerator; its input and output must be the case's NHWC shapes. */
function openLiteRt(engine: LiteRtEngine, spec: CaseSpec, bytes: ArrayBuffer, input: Float32Array): Promise<OpenEngine> {
  const lr = litert!;
  return opened(engine, async () => {
    const compiled = await lr.loadAndCompile(new Uint8Array(bytes), { accelerator: LITERT_ACCELERATOR[engine] });
    try {
      const shape = (d: readonly { shape: Int32Array }[]) => (d.length === 1 ? [...d[0].shape].join('x') : `${d.length} tensors`);
      const [ins, outs] = [shape(compiled.getInputDetails()), shape(compiled.getOutputDetails())];
      const [wantIn, wantOut] = [`1x${spec.height}x${spec.width}x3`, `1x${spec.height}x${spec.width}x${spec.classes}`];
      if (ins !== wantIn || outs !== wantOut) throw new Error(`the .tflite takes ${ins} and gives ${outs}; the case is ${wantIn} -> ${wantOut}`);
    } catch (e) {
      compiled.delete();
      throw e;
    }
    return {
      fullyAccelerated: compiled.isFullyAccelerated,
      run: async () => {
        const t = performance.now();
        const x = new lr.Tensor(input, [1, spec.height, spec.width, 3]);
        try {
          const outputs = await compiled.run(x);
          try {
            const out = (await outputs[0].data()) as Float32Array;
            return { ms: performance.now() - t, out };
          } finally {
            for (const o of outputs) o.delete();
          }
        } finally {
          x.delete();
        }
      },
      dispose: () => compiled.delete(),
    };
  });
}

const message = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/** What an input engine is opened with: the case, its input, and ours (opened first: TF.js runs the graph our model compiles). */
interface InputCase {
  spec: CaseSpec;
  input: Float32Array;
  ours: (OpenEngine & { model: DeepLabModel }) | null;
}

/** How each input engine but ours opens on a case; one that cannot run the case throws why. */
const INPUT_OPENERS: Record<Exclude<InputEngine, 'ours'>, (c: InputCase) => Promise<OpenEngine>> = {
  'ours-tuned': async ({ spec, input }) => openOursTuned(spec, await fetchBytes(spec.checkpoint), input),
  ort: async ({ spec, input }) => openOrt('ort', spec, await fetchBytes(spec.onnx), input),
  'ort-wasm': async ({ spec, input }) => openOrt('ort-wasm', spec, await fetchBytes(spec.onnx), input),
  tfjs: ({ spec, input, ours }) => openTfjs('tfjs', spec, oursModel(ours, 'TF.js'), input),
  'tfjs-wasm': ({ spec, input, ours }) => openTfjs('tfjs-wasm', spec, oursModel(ours, 'TF.js'), input),
  transformers: async ({ spec, input }) => {
    if (!spec.hub) throw new Error('not a Hugging Face hub model');
    return openTransformers(spec, input);
  },
  'transformers-steps': async () => {
    throw new Error('only for the transformers.js folder cases');
  },
  'litert-webgpu': (c) => openLiteRtOnCase('litert-webgpu', c),
  'litert-wasm': (c) => openLiteRtOnCase('litert-wasm', c),
};

function oursModel(ours: InputCase['ours'], who: string): DeepLabModel {
  if (!ours) throw new Error(`${who} runs the graph our model compiles, and ours did not load`);
  return ours.model;
}

async function openLiteRtOnCase(engine: LiteRtEngine, { spec, input }: InputCase): Promise<OpenEngine> {
  if (!litert) throw new Error('LiteRT.js was not started');
  if (!('url' in spec.tflite)) throw new Error(spec.tflite.unavailable);
  return openLiteRt(engine, spec, await fetchBytes(spec.tflite.url), input);
}

/** The photo engines' case: the photo decoded, the files they open on, and the class maps they are compared with. */
async function photoCase(spec: CaseSpec): Promise<{ photo: ImageBitmap; files: PhotoCase; tfliteClasses: Uint8Array | null }> {
  const p = spec.photo;
  if (!p) throw new Error('bench page: a photo engine asked for, and the case has no photo');
  // Decoded once, before any timing: what a page has once an <img> has loaded.
  const photo = await createImageBitmap(new Blob([await fetchBytes(p.url)]));
  if (photo.width !== p.width || photo.height !== p.height) throw new Error(`bench page: ${p.url} decodes to ${photo.width}x${photo.height}, not ${p.width}x${p.height}`);
  const tfliteClasses = p.tfliteClasses ? new Uint8Array(await fetchBytes(p.tfliteClasses)) : null;
  if (tfliteClasses && tfliteClasses.length !== p.width * p.height) throw new Error(`bench page: ${p.tfliteClasses} holds ${tfliteClasses.length} pixels, not ${p.width}x${p.height}`);
  const files: PhotoCase = {
    name: spec.name,
    checkpoint: await fetchBytes(spec.checkpoint),
    tfliteWithMetadata: 'url' in spec.tfliteWithMetadata ? await fetchBytes(spec.tfliteWithMetadata.url) : spec.tfliteWithMetadata,
  };
  return { photo, files, tfliteClasses };
}

/**
 * One model case: each engine made and run once (first run), the input engines' logits compared
 * with ours and the photo engines' class maps with ours (segment() of the same photo) and with
 * TF Lite's; `warmup` untimed rounds, then `repeats` timed rounds with the engines taking turns to
 * lead; then, if asked, our pass profiled layer by layer. An engine that fails is reported with
 * its error and left out of the rounds.
 */
export async function runCase(spec: CaseSpec | FolderCaseSpec): Promise<{ results: EngineResult[]; profile: CaseProfile | null }> {
  if (!ctx) throw new Error('bench page: start() first');
  if ('kind' in spec) return runFolderCase(spec, ctx);
  const input = new Float32Array(await fetchBytes(spec.input));
  if (input.length !== spec.height * spec.width * 3) throw new Error(`bench page: ${spec.input} holds ${input.length} floats, not 1x${spec.height}x${spec.width}x3`);
  const results = new Map<EngineName, EngineResult>();
  const open: OpenEngine[] = [];
  const openPhoto: OpenPhotoEngine[] = [];
  const failed = (engine: EngineName, error: string) =>
    results.set(engine, { engine, firstRunMs: null, loadMs: null, firstPassMs: null, samplesMs: [], relativeErrorVsOurs: null, argmaxAgreementVsOurs: null, error });
  const photoEngines = spec.engines.filter(isPhotoEngine);
  let profile: CaseProfile | null = null;
  let photo: ImageBitmap | null = null;
  try {
    let ours: (OpenEngine & { model: DeepLabModel }) | null = null;
    // Ours is the reference: opened when timed, for TF.js (which runs its graph), for the profile,
    // and for the photo engines' check unless ours-segment gives it (then ours-segment, which opens
    // after it and would find its shaders compiled, is cold: a run of the photo engines alone
    // times ours' cold start from the photo).
    const oursNeeded = ['ours', 'tfjs', 'tfjs-wasm'].some((e) => spec.engines.includes(e as EngineName)) || spec.profile;
    if (oursNeeded || (photoEngines.length && !photoEngines.includes('ours-segment'))) {
      try {
        ours = await openOurs(spec, await fetchBytes(spec.checkpoint), input);
        open.push(ours);
      } catch (e) {
        failed('ours', message(e));
      }
    }
    for (const engine of INPUT_ENGINES) {
      if (engine === 'ours' || !spec.engines.includes(engine)) continue;
      try {
        open.push(await INPUT_OPENERS[engine]({ spec, input, ours }));
      } catch (e) {
        failed(engine, message(e));
      }
    }
    let tfliteClasses: Uint8Array | null = null;
    if (photoEngines.length) {
      const p = await photoCase(spec);
      photo = p.photo;
      tfliteClasses = p.tfliteClasses;
      for (const engine of PHOTO_ENGINE_NAMES.filter((e) => photoEngines.includes(e))) {
        try {
          openPhoto.push(await openPhotoEngine(engine, PHOTO_ENGINES[engine], p.files, p.photo));
        } catch (e) {
          failed(engine, message(e));
        }
      }
    }
    const reference = ours?.firstOut ?? null;
    for (const e of open) progress(`${spec.name}: ${e.name} first run ${e.firstRunMs.toFixed(0)} ms (load ${e.loadMs.toFixed(0)} ms)`);
    for (const e of open) {
      const vsOurs = e.name !== 'ours' && reference !== null;
      results.set(e.name, {
        engine: e.name,
        firstRunMs: e.firstRunMs,
        loadMs: e.loadMs,
        firstPassMs: e.firstPassMs,
        samplesMs: [],
        relativeErrorVsOurs: vsOurs ? relativeError(e.firstOut, reference) : null,
        argmaxAgreementVsOurs: vsOurs ? argmaxAgreement(e.firstOut, reference, spec.classes) : null,
        ...(e.fullyAccelerated === undefined ? {} : { fullyAccelerated: e.fullyAccelerated }),
        ...(startedThreads[e.name] === undefined ? {} : { threads: startedThreads[e.name] }),
      });
    }
    // The photo engines against ours on the same photo (segment(), untimed unless ours-segment ran) and against TF Lite's class map.
    const oursClasses = openPhoto.find((e) => e.name === 'ours-segment')?.firstClasses ?? (ours && photo && openPhoto.length ? (await ours.model.segment(photo)).classes : null);
    for (const e of openPhoto) {
      const name = e.name as PhotoEngineName;
      progress(`${spec.name}: ${name} first run ${(e.loadMs + e.firstPassMs).toFixed(0)} ms (load ${e.loadMs.toFixed(0)} ms)`);
      results.set(name, {
        engine: name,
        firstRunMs: e.loadMs + e.firstPassMs,
        loadMs: e.loadMs,
        firstPassMs: e.firstPassMs,
        coldStartMs: (startedRuntimes[name] ?? 0) + e.loadMs + e.firstPassMs,
        samplesMs: [],
        relativeErrorVsOurs: null,
        argmaxAgreementVsOurs: null,
        photo: [photo!.height, photo!.width],
        labelAgreementVsOurs: name !== 'ours-segment' && oursClasses ? labelAgreement(e.firstClasses, oursClasses) : null,
        labelAgreementVsTflite: tfliteClasses ? labelAgreement(e.firstClasses, tfliteClasses) : null,
        adapter: e.adapter,
        ...(startedThreads[name] === undefined ? {} : { threads: startedThreads[name] }),
      });
    }
    const timed = [...open.filter((e) => spec.engines.includes(e.name)), ...openPhoto];
    await timeInTurns(timed, spec, (e, ms) => results.get(e.name as EngineName)!.samplesMs.push(ms));
    if (spec.profile && ours) {
      progress(`${spec.name}: profiling ours, ${spec.profile.repeats} times each layer`);
      const p = await ours.model.profile(input, spec.height, spec.width, spec.profile.repeats, spec.profile.timing);
      profile = { ...p, model: spec.name, input: [1, spec.height, spec.width, 3] };
    }
  } finally {
    for (const e of [...open, ...openPhoto].reverse()) await e.dispose();
    photo?.close();
  }
  return { results: spec.engines.map((e) => results.get(e)!), profile };
}

/** Lets go of our GPU context (the page is closed after this). */
export function stop(): void {
  ctx?.destroy();
  ctx = null;
}

(globalThis as unknown as { browserBench: unknown }).browserBench = { start, runCase, stop };
