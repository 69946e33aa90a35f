// The runtime the CPU device runs networks on: ONNX Runtime, fed the ONNX our exporter writes of
// the canonical graph (src/graph/onnx/lower.ts). In Node it is onnxruntime-node (native kernels,
// one thread a core), imported the first time a model asks for the CPU; in the page it is
// onnxruntime-web's WebAssembly backend (SIMD; a thread a core where the page is cross-origin
// isolated), which the page hands over once with useCpuRuntime (the module, or its URL).
// Both are optional dependencies: nothing of them is loaded, nor bundled, for a model on WebGPU.
//
// Why ONNX Runtime (measured on a 2-core AMD EPYC, the default model at 257x257): in Node its CPU
// provider runs our export in 7.7 ms, 13x our WebGPU path on lavapipe; in Chromium its wasm
// backend runs it in 32 ms with 2 threads (57 ms with one), beside LiteRT.js' XNNPACK at 36 ms
// on one thread, which would need the graph as TF Lite; docs/performance.md has the figures.
import { defaultCpuRuntime } from './default-cpu-runtime.js';
import { warmUpNetwork } from './runtime-warm-up.js';
import { type CpuRuntime, cpuRuntimeOf } from './ort-module.js';

/** The runtime handed over: loaded, or a URL of onnxruntime-web's module to import on first use. */
let registered: CpuRuntime | string | null = null;
let loading: Promise<CpuRuntime> | null = null;

/**
 * Hands the CPU device an onnxruntime module: in the page onnxruntime-web's (`import * as ort
 * from 'onnxruntime-web/wasm'; useCpuRuntime(ort)`), or the URL of its ES module, imported the
 * first time a model runs on the CPU (how a worker or a page without a bundler gets it); in Node
 * any build of it in place of onnxruntime-node. Later loads with device 'cpu' (or 'auto'
 * without WebGPU) run on it.
 */
export function useCpuRuntime(ort: unknown): void {
  registered = typeof ort === 'string' || ort instanceof URL ? String(ort) : withThreads(cpuRuntimeOf(ort, 'onnxruntime'));
  loading = null;
}

/**
 * onnxruntime-web runs half the cores' threads unless told (at most 4: one on a 2-core machine);
 * a cross-origin isolated page can run one a core, which halves the default model's time on 2
 * cores (57 to 32 ms). In a worker, one: its threads would be workers inside a worker, which took
 * Firefox ESR 153's content process down. A count the page set itself is left alone.
 */
function withThreads(runtime: CpuRuntime): CpuRuntime {
  const wasm = runtime.ort.env.wasm;
  const g = globalThis as { crossOriginIsolated?: boolean; document?: unknown; navigator?: { hardwareConcurrency?: number } };
  if (!runtime.web || !wasm || wasm.numThreads) return runtime;
  if (g.document === undefined) wasm.numThreads = 1;
  else if (g.crossOriginIsolated && g.navigator?.hardwareConcurrency) wasm.numThreads = Math.min(g.navigator.hardwareConcurrency, 8);
  return runtime;
}

/** Whether a CPU runtime is at hand without loading one: handed over (the page), or loadable (Node). */
export function hasCpuRuntime(): boolean {
  return registered !== null || defaultCpuRuntime.available();
}

/** The module at `url`, as a runtime. */
async function importRuntime(url: string): Promise<CpuRuntime> {
  let m: unknown;
  try {
    m = await import(/* @vite-ignore */ /* webpackIgnore: true */ url);
  } catch (e) {
    throw new Error(`the CPU runtime could not be imported from ${url} (${(e as Error).message}): give useCpuRuntime the URL of onnxruntime-web's ES module (its dist/ort.wasm.min.mjs)`, { cause: e });
  }
  return withThreads(cpuRuntimeOf(m, url));
}

/** The CPU runtime: the one handed over, else the platform's default (onnxruntime-node), loaded once. */
export function cpuRuntime(): Promise<CpuRuntime> {
  if (registered !== null && typeof registered !== 'string') return Promise.resolve(registered);
  const url = registered;
  loading ??= (url === null ? defaultCpuRuntime.load() : importRuntime(url)).then(
    (r) => (registered = r),
    (e) => {
      loading = null;
      throw e;
    },
  );
  return loading;
}

let started: Promise<void> | null = null;

/** Runs of the warm-up network: enough for the browser to recompile its hot kernels optimised. */
const WARM_UP_RUNS = 5;

/**
 * Starts the CPU runtime ahead of a load that will run on it, so that its start overlaps the
 * weights' download and parsing. onnxruntime-web fetches, compiles and starts its WebAssembly
 * (about 12 MB, and its threads) at its first session, a few hundred milliseconds; a small
 * network run a few times then gets its kernels optimised (runtime-warm-up.ts). Errors are left
 * to the load, which meets them again.
 */
export function startCpuRuntime(): void {
  started ??= cpuRuntime()
    .then(async ({ ort, web }) => {
      if (!web) return;
      const { onnx, input } = warmUpNetwork();
      const session = await ort.InferenceSession.create(onnx);
      try {
        const image = new ort.Tensor('float32', new Float32Array(input.reduce((a, b) => a * b, 1)), input);
        for (let i = 0; i < WARM_UP_RUNS; i++) for (const r of Object.values(await session.run({ image }))) r.dispose?.();
      } finally {
        await session.release();
      }
    })
    .catch(() => {
      started = null;
    });
}
