// The browser benchmark's runtimes in the page: our GPU context and the peers' (ONNX Runtime Web,
// TF.js, transformers.js, LiteRT.js, MediaPipe), started once before any case (start()), and
// released at the end (stop()). The engines (bench/page-input-engines.ts, photo-engines.ts) open
// on what these hold.
import { PHOTO_ENGINES, type PhotoEngineEntry, isPhotoEngine } from './photo-engines.js';
import { type Tfjs, freshTfjsBackend } from './tfjs-graph.js';
import { startTransformers } from './transformers-peer.js';
import type { EngineName, StartInfo, StartOptions } from './page-protocol.js';
import { GpuContext } from '../src/gpu/context.js';

export type Ort = typeof import('onnxruntime-web');
export type LiteRt = typeof import('@litertjs/core');
/** TF.js' WebAssembly backend's functions (window.tf.wasm, from its script bundle). */
type TfjsWasm = typeof import('@tensorflow/tfjs-backend-wasm');

/** Our GPU context, made by start(). */
export let ctx: GpuContext | null = null;
export let ort: Ort | null = null;
export let ortWasm: Ort | null = null;
export let litert: LiteRt | null = null;
/** start()'s runtimeStartMs: the share of each engine's cold start spent before any case. */
export let startedRuntimes: StartInfo['runtimeStartMs'] = {};
/** start()'s threads by engine. */
export let startedThreads: StartInfo['threads']['engines'] = {};

export const tfjs = (): Tfjs => {
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

export async function fetchBytes(url: string): Promise<ArrayBuffer> {
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


/** Lets go of our GPU context (the page is closed after this). */
export function stop(): void {
  ctx?.destroy();
  ctx = null;
}
