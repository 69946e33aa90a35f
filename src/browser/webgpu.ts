// The browser's stand-in for the `webgpu` package (Dawn's Node bindings): the GPU is the
// page's own `navigator.gpu`, and the GPU* constants are globals already.
import { GpuError } from '../gpu/errors.js';

export function create(_flags: string[] = []): GPU {
  const gpu = typeof navigator === 'undefined' ? undefined : navigator.gpu;
  if (!gpu) {
    throw new GpuError('deeplab: this browser has no WebGPU (navigator.gpu is missing; it needs a secure context: https or localhost)', 'unavailable');
  }
  return gpu;
}

export const globals = {};
