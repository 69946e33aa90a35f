// One smp tensor between the file's layout and ours, both ways (the loader and the smp export):
// conv kernels OIHW <-> HWIO; an encoder's Linear weights [out, in] <-> a 1x1 conv's HWIO
// [1, 1, in, out]; an encoder's per-channel scales (ConvNeXt's layer scale) [C] <-> a 1x1
// depthwise conv's HWIO [1, 1, 1, C]; anything else as it is.
import type { SmpEncoder } from '../backbones/smp-encoders.js';
import { hwioToOihw, oihwToHwio } from './layouts.js';

interface Tensor {
  shape: readonly number[];
  data: Float32Array;
}

/** A file tensor as the network's parameter. */
export function smpParamFromFile(encoder: SmpEncoder, name: string, t: Tensor): { shape: number[]; data: Float32Array } {
  if (t.shape.length === 4) return oihwToHwio(t.data, t.shape);
  if (t.shape.length === 2 && encoder.linear?.(name)) return oihwToHwio(t.data, [...t.shape, 1, 1]);
  if (t.shape.length === 1 && encoder.scale?.(name)) return { shape: [1, 1, 1, t.shape[0]], data: t.data };
  return { shape: [...t.shape], data: t.data };
}

/** A parameter as the file stores it. */
export function smpFileFromParam(encoder: SmpEncoder, name: string, t: Tensor): { shape: number[]; data: Float32Array } {
  if (t.shape.length !== 4) return { shape: [...t.shape], data: t.data };
  if (encoder.scale?.(name)) return { shape: [t.shape[3]], data: t.data };
  const oihw = hwioToOihw(t.data, t.shape);
  return { shape: encoder.linear?.(name) ? oihw.shape.slice(0, 2) : oihw.shape, data: oihw.data };
}
