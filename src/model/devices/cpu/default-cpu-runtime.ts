// The CPU runtime Node loads by itself: onnxruntime-node, an optional dependency, imported the
// first time a model asks for the CPU. The page bundles a stand-in of this module
// (src/browser/default-cpu-runtime.ts): there the runtime is handed over.
import { createRequire } from 'node:module';
import { importOptional } from '../../../util/optional-package.js';
import { type CpuRuntime, cpuRuntimeOf } from './ort-module.js';

const PACKAGE = 'onnxruntime-node';

export const defaultCpuRuntime = {
  /** Whether onnxruntime-node can be imported from here. */
  available(): boolean {
    try {
      createRequire(import.meta.url).resolve(PACKAGE);
      return true;
    } catch {
      return false;
    }
  },

  async load(): Promise<CpuRuntime> {
    return cpuRuntimeOf(await importOptional(PACKAGE, "the CPU device (device 'cpu')", () => import('onnxruntime-node')), PACKAGE);
  },
};
