// The page's stand-in for src/model/devices/cpu/default-cpu-runtime.ts: the page loads no
// package by itself; its CPU runtime, onnxruntime-web's WebAssembly backend, is handed over
// (useCpuRuntime: the module, or its URL).
import type { CpuRuntime } from '../model/devices/cpu/ort-module.js';

export const defaultCpuRuntime = {
  available: (): boolean => false,
  load(): Promise<CpuRuntime> {
    return Promise.reject(
      new Error(
        "device 'cpu' in the page runs on onnxruntime-web's WebAssembly backend, which the page hands over once: " +
          "useCpuRuntime(await import('onnxruntime-web/wasm')) (after npm install onnxruntime-web), or useCpuRuntime(URL of its dist/ort.wasm.min.mjs)",
      ),
    );
  },
};
