// What one segment asks of the GPU, and how long segments take, for a model of the page bundle in
// whichever runtime runs it (Deno, Firefox, Chromium): the submits to the queue and the buffer
// read-backs of one segment, then the wall time of timed segments after two warm-ups. Used by
// deno-engine.ts under Deno and by bench/wgpu-page.ts in the browsers. Imports nothing but types,
// so a page can load it as it is.
import type { DeepLabModel } from '../../src/model/model.js';
import type { RgbImage } from '../../src/io/rgb-image.js';

export interface SegmentCount {
  /** GPU submits and buffer read-backs during one segment. */
  submits: number;
  readbacks: number;
  /** That segment's class map. */
  classes: Uint8Array;
}

/** Segments `image` once, counting the queue's submits and every buffer's mapAsync meanwhile. */
export async function countOneSegment(model: DeepLabModel, image: RgbImage): Promise<SegmentCount> {
  const queue = model.ctx.device.queue;
  const proto = (globalThis as unknown as { GPUBuffer: { prototype: GPUBuffer } }).GPUBuffer.prototype;
  const submit = queue.submit;
  const mapAsync = proto.mapAsync;
  let submits = 0;
  let readbacks = 0;
  queue.submit = function (this: GPUQueue, buffers: Iterable<GPUCommandBuffer>) {
    submits++;
    return submit.call(this, buffers);
  };
  proto.mapAsync = function (this: GPUBuffer, ...args: Parameters<GPUBuffer['mapAsync']>) {
    readbacks++;
    return mapAsync.apply(this, args);
  };
  try {
    const { classes } = await model.segment(image);
    return { submits, readbacks, classes };
  } finally {
    queue.submit = submit;
    proto.mapAsync = mapAsync;
  }
}

/** Milliseconds of each of `runs` segments of `image`, in order, after two untimed ones. */
export async function timeSegments(model: DeepLabModel, image: RgbImage, runs: number): Promise<number[]> {
  for (let i = 0; i < 2; i++) await model.segment(image);
  const ms: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await model.segment(image);
    ms.push(performance.now() - t0);
  }
  return ms;
}
