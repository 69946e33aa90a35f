// The browser benchmark's photo engines (bench/browser-page.ts runs them beside the engines timed
// on the network's input): what a user of each library sees, from a photo already decoded in the
// page (an ImageBitmap of the JPEG) to the class map at the photo's size in host memory (a
// Uint8Array, one class index a pixel, row-major). Each engine is one entry of PHOTO_ENGINES:
//  - ours-segment: ours on WebGPU, loadModel on a GPU context of its own, segment(photo);
//  - ours-cpu: ours on the CPU device (loadModel with device 'cpu': our graph's ONNX on
//    onnxruntime-web's WebAssembly build, handed over with useCpuRuntime), segment(photo);
//  - mediapipe-cpu, mediapipe-gpu: MediaPipe Tasks' ImageSegmenter (@mediapipe/tasks-vision) with
//    its CPU delegate (WebAssembly, XNNPACK) or its GPU delegate (WebGL2), on the case's official
//    .tflite with TFLite metadata added (src/io/tflite-metadata.ts), its category mask read with
//    getAsUint8Array().
// Times: `loadMs` is `open` (making the engine from its file's bytes, fetched beforehand: for
// MediaPipe its WebAssembly loaded and compiled anew, as each of its tasks does, and the graph
// started; for ours a GPU device, the model parsed, uploaded and compiled); `firstPassMs` the first
// photo to class map; `coldStartMs` both plus the engine's runtime start before any case (MediaPipe:
// importing its module), i.e. from nothing to the first mask. Timed runs are photo to class map.
// No Node module is imported here (the page bundles it).
import { loadModel } from '../src/browser/load.js';
import { GpuContext } from '../src/gpu/context.js';
import { useCpuRuntime } from '../src/model/devices/cpu/cpu-runtime.js';

type Vision = typeof import('@mediapipe/tasks-vision');

/** What a photo engine is opened on: the case's files (bytes fetched beforehand) and the photo. */
export interface PhotoCase {
  name: string;
  /** Our checkpoint (.safetensors), as ours loads it. */
  checkpoint: ArrayBuffer;
  /** The case's .tflite with TFLite metadata (MediaPipe's segmenter needs it), or why there is none. */
  tfliteWithMetadata: ArrayBuffer | { unavailable: string };
}

/** An engine made on a case: the photo to its class map, and how to let go of it. */
export interface Segmenter {
  /** The photo's class map, row-major at the photo's size, in host memory. */
  segment(photo: ImageBitmap): Promise<Uint8Array> | Uint8Array;
  dispose(): Promise<void> | void;
  /** Where it runs, in words (an adapter, or the CPU and its threads). */
  adapter: string;
}

export interface PhotoEngineEntry {
  /** Starts what the engine runs on before any case, once (shared by the entries that share it); its ms count in the cold start. */
  start?: () => Promise<{ ms: number }>;
  /** Makes the engine on a case (timed: `loadMs`). */
  open(c: PhotoCase): Promise<Segmenter>;
  /** WebAssembly threads, where it runs on the CPU. */
  threads?: number;
}

/** One run, the photo to its class map in host memory, timed; for any engine that segments a photo. */
export async function timePhotoToMask(segment: () => Promise<Uint8Array> | Uint8Array): Promise<{ ms: number; classes: Uint8Array }> {
  const t = performance.now();
  const classes = await segment();
  return { ms: performance.now() - t, classes };
}

/** A photo engine opened on a case: its first run timed apart, then timed runs. */
export interface OpenPhotoEngine {
  name: string;
  run(): Promise<{ ms: number; classes: Uint8Array }>;
  dispose(): Promise<void> | void;
  loadMs: number;
  firstPassMs: number;
  firstClasses: Uint8Array;
  adapter: string;
}

/** Opens `entry` on the case (timed) and runs it once on the photo; checks the class map is the photo's size. */
export async function openPhotoEngine(name: string, entry: PhotoEngineEntry, c: PhotoCase, photo: ImageBitmap): Promise<OpenPhotoEngine> {
  const t0 = performance.now();
  const s = await entry.open(c);
  const loadMs = performance.now() - t0;
  try {
    const run = () => timePhotoToMask(() => s.segment(photo));
    const first = await run();
    if (first.classes.length !== photo.width * photo.height) {
      throw new Error(`its class map holds ${first.classes.length} pixels, the photo ${photo.width}x${photo.height}`);
    }
    return { name, run, dispose: () => s.dispose(), loadMs, firstPassMs: first.ms, firstClasses: first.classes, adapter: s.adapter };
  } catch (e) {
    await s.dispose();
    throw e;
  }
}

const describeGpu = (info: GPUAdapterInfo | undefined): string =>
  info ? [info.vendor, info.architecture, info.device, info.description].filter(Boolean).join(' / ') || '(no adapter info)' : '(no adapter info)';

/** The page's WebGL2 renderer (what MediaPipe's GPU delegate runs on), as WebGL names it. */
function webgl2Renderer(): string {
  const gl = new OffscreenCanvas(1, 1).getContext('webgl2');
  if (!gl) return 'WebGL2: not available';
  const ext = gl.getExtension('WEBGL_debug_renderer_info');
  const renderer = String(gl.getParameter(ext ? ext.UNMASKED_RENDERER_WEBGL : gl.RENDERER));
  gl.getExtension('WEBGL_lose_context')?.loseContext();
  return `WebGL2: ${renderer}`;
}

/** Runs `f` once; later calls get the first call's promise. */
function once<T>(f: () => Promise<T>): () => Promise<T> {
  let p: Promise<T> | null = null;
  return () => (p ??= f());
}

/** MediaPipe Tasks Vision's module, imported once (timed), and its WebAssembly fileset (served at /mediapipe/wasm/). */
const mediapipeRuntime = once(async () => {
  const url = '/mediapipe/vision_bundle.mjs'; // a variable: the bundler is not to resolve it
  const t0 = performance.now();
  const lib = (await import(url)) as Vision;
  const fileset = await lib.FilesetResolver.forVisionTasks('/mediapipe/wasm');
  return { lib, fileset, ms: performance.now() - t0 };
});
const mediapipeStart = (): Promise<{ ms: number }> => mediapipeRuntime();

/** MediaPipe's ImageSegmenter on `delegate`, category mask only, image mode. */
async function openMediaPipe(delegate: 'CPU' | 'GPU', c: PhotoCase): Promise<Segmenter> {
  if (!(c.tfliteWithMetadata instanceof ArrayBuffer)) throw new Error(c.tfliteWithMetadata.unavailable);
  const { lib, fileset } = await mediapipeRuntime();
  const segmenter = await lib.ImageSegmenter.createFromOptions(fileset, {
    baseOptions: { modelAssetBuffer: new Uint8Array(c.tfliteWithMetadata), delegate },
    runningMode: 'IMAGE',
    outputCategoryMask: true,
    outputConfidenceMasks: false,
  });
  return {
    segment: (photo) => {
      const result = segmenter.segment(photo);
      try {
        if (!result.categoryMask) throw new Error('MediaPipe gave no category mask');
        // A copy: the mask's memory is MediaPipe's, let go of with the result.
        return result.categoryMask.getAsUint8Array().slice();
      } finally {
        result.close();
      }
    },
    dispose: () => segmenter.close(),
    adapter: delegate === 'CPU' ? 'CPU: WebAssembly, XNNPACK, 1 thread' : webgl2Renderer(),
  };
}

/**
 * ONNX Runtime Web's WebAssembly build (the ort-wasm engine's module: one module per URL, so the
 * two share it) handed to our CPU device, imported once (timed); its WebAssembly starts with the
 * first session, in the model's load. Its threads: one a core in an isolated page.
 */
const ourCpuRuntime = once(async () => {
  const url = '/ort/ort.wasm.min.mjs'; // a variable: the bundler is not to resolve it
  const t0 = performance.now();
  const ort = (await import(url)) as { env: { wasm: { numThreads?: number } } };
  useCpuRuntime(ort);
  return { ms: performance.now() - t0, threads: ort.env.wasm.numThreads ?? 1 };
});

/**
 * The photo engines, in the order they open. Adding one is one entry: `open` makes it on a case
 * and returns segment(photo) -> class map; `start`, where it has a runtime to start before any
 * case, is timed once and counted in its cold start.
 */
export const PHOTO_ENGINES = {
  'ours-segment': {
    open: async (c) => {
      const ctx = await GpuContext.create();
      try {
        const model = await loadModel(c.checkpoint, { ctx, name: c.name, tune: 'off' });
        return {
          segment: async (photo) => (await model.segment(photo)).classes,
          dispose: () => {
            model.dispose();
            ctx.destroy();
          },
          adapter: describeGpu(ctx.adapter.info),
        };
      } catch (e) {
        ctx.destroy();
        throw e;
      }
    },
  },
  'ours-cpu': {
    start: ourCpuRuntime,
    open: async (c) => {
      const { threads } = await ourCpuRuntime();
      const model = await loadModel(c.checkpoint, { device: 'cpu', name: c.name });
      return {
        segment: async (photo) => (await model.segment(photo)).classes,
        dispose: () => model.dispose(),
        adapter: `${model.deviceLabel}, WebAssembly, SIMD, ${threads} thread(s)`,
      };
    },
  },
  // MediaPipe's WebAssembly build has no threads (no SharedArrayBuffer, no workers).
  'mediapipe-cpu': { start: mediapipeStart, open: (c) => openMediaPipe('CPU', c), threads: 1 },
  'mediapipe-gpu': { start: mediapipeStart, open: (c) => openMediaPipe('GPU', c) },
} satisfies Record<string, PhotoEngineEntry>;

export type PhotoEngineName = keyof typeof PHOTO_ENGINES;
export const PHOTO_ENGINE_NAMES = Object.keys(PHOTO_ENGINES) as PhotoEngineName[];
export const isPhotoEngine = (e: string): e is PhotoEngineName => e in PHOTO_ENGINES;

