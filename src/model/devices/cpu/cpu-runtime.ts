// The runtime the CPU device runs networks on: ONNX Runtime, fed the ONNX our exporter writes of
// the canonical graph (src/graph/onnx/lower.ts). In Node it is onnxruntime-node (native kernels,
// one thread a core), imported the first time a model asks for the CPU; in the page it is
// onnxruntime-web's WebAssembly backend (SIMD; a thread a core where the page is cross-origin
// isolated), which the page hands over once: `import 'deeplab-webgpu/cpu'` (or useCpuRuntime).
// Both are optional dependencies: nothing of them is loaded, nor bundled, for a model on WebGPU.
//
// Why ONNX Runtime (measured on a 2-core AMD EPYC, the default model at 257x257): in Node its CPU
// provider runs our export in 7.7 ms, 13x our WebGPU path on lavapipe; in Chromium its wasm
// backend runs it in 32 ms with 2 threads (57 ms with one), beside LiteRT.js' XNNPACK at 36 ms
// on one thread, which would need the graph as TF Lite; docs/performance.md has the figures.
import { defaultCpuRuntime } from './default-cpu-runtime.js';
import { type CpuRuntime, cpuRuntimeOf } from './ort-module.js';

let registered: CpuRuntime | null = null;
let loading: Promise<CpuRuntime> | null = null;

/**
 * Hands the CPU device an onnxruntime module: onnxruntime-web (`import * as ort from
 * 'onnxruntime-web/wasm'`) in the page, or any build of it in Node. Later loads with device
 * 'cpu' (or 'auto' without a GPU) run on it.
 */
export function useCpuRuntime(ort: unknown): void {
  registered = cpuRuntimeOf(ort, 'onnxruntime');
  loading = null;
}

/** Whether a CPU runtime is at hand without loading one: registered (the page), or loadable (Node). */
export function hasCpuRuntime(): boolean {
  return registered !== null || defaultCpuRuntime.available();
}

/** The CPU runtime: the one handed over, else the platform's default (onnxruntime-node), loaded once. */
export function cpuRuntime(): Promise<CpuRuntime> {
  if (registered) return Promise.resolve(registered);
  loading ??= defaultCpuRuntime.load().then(
    (r) => (registered = r),
    (e) => {
      loading = null;
      throw e;
    },
  );
  return loading;
}
