// The kernel benchmark's layers (bench/kernels.ts): the conv2d shapes that dominate DeepLabv3,
// and what each engine's prepared layer offers the benchmark.
import type { Shape } from '../src/gpu/tensor.js';
import { type Conv2dParams, convParams, samePadding } from '../src/kernels/conv2d/params.js';

export interface Layer {
  name: string;
  what: string;
  input: Shape;
  weight: Shape; // HWIO
  p: Conv2dParams;
}

function same(size: number, k: number, stride: number, rate: number): Partial<Conv2dParams> {
  const [padTop, padBottom] = samePadding(size, k, stride, rate);
  return { padTop, padBottom, padLeft: padTop, padRight: padBottom, strideH: stride, strideW: stride, dilationH: rate, dilationW: rate };
}

export const LAYERS: Layer[] = [
  ...[1, 6, 12, 18].map((r) => ({
    name: `aspp-r${r}`,
    what: `3x3 256->256 rate ${r} @65x65`,
    input: [1, 65, 65, 256],
    weight: [3, 3, 256, 256],
    p: convParams(same(65, 3, 1, r)),
  })),
  { name: 'aspp-1x1', what: '1x1 2048->256 @65x65', input: [1, 65, 65, 2048], weight: [1, 1, 2048, 256], p: convParams({}) },
  { name: 'dw960', what: 'depthwise 3x3 960 @65x65', input: [1, 65, 65, 960], weight: [3, 3, 1, 960], p: convParams({ ...same(65, 3, 1, 1), groups: 960 }) },
  { name: 'stem', what: '7x7/2 3->64 @513x513', input: [1, 513, 513, 3], weight: [7, 7, 3, 64], p: convParams(same(513, 7, 2, 1)) },
];

/** One engine's layer, made once and timed run by run (so the engines' runs can alternate). */
export interface PreparedKernel {
  /** One run, in ms: GPU timestamps around its pass, or wall time around submit and done. */
  time(): Promise<number>;
  /** The layer's output, read back (to compare the engines). */
  output(): Promise<Float32Array>;
  dispose(): void;
}
