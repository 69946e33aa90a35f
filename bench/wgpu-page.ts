// The page side of bench/wgpu.ts, run in Firefox (wgpu) and Chromium (Dawn): the page bundle
// loads the default model's weights, segments the VOC image once counting submits and read-backs,
// then times segments as Node and Deno do (test/wgpu/segment-count.ts). Compiled by tsc and served
// as it is, beside the files it imports, by bench/wgpu.ts.
import type * as Deeplab from '../src/browser/index.js';
import { countOneSegment, timeSegments } from '../test/wgpu/segment-count.js';

export interface PageCase {
  /** URLs of the weights file, the page bundle and the image's raw RGB bytes. */
  weights: string;
  bundle: string;
  rgb: string;
  width: number;
  height: number;
  runs: number;
}

export interface PageResult {
  adapter: string;
  implementation: string;
  isSoftware: boolean;
  submits: number;
  readbacks: number;
  segmentMs: number[];
  /** The counted segment's class map, base64. */
  classes: string;
}

async function fetchBytes(url: string): Promise<Uint8Array> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  return new Uint8Array(await res.arrayBuffer());
}

async function run(c: PageCase): Promise<PageResult> {
  const lib = (await import(c.bundle)) as typeof Deeplab;
  const image = { width: c.width, height: c.height, data: await fetchBytes(c.rgb) };
  const model = await lib.loadModel(await fetchBytes(c.weights), { tune: 'off' });
  try {
    const { submits, readbacks, classes } = await countOneSegment(model, image);
    const segmentMs = await timeSegments(model, image, c.runs);
    const ctx = model.ctx;
    return {
      adapter: ctx.adapterInfo.name,
      implementation: ctx.implementation,
      isSoftware: ctx.isSoftware,
      submits,
      readbacks,
      segmentMs,
      classes: btoa(Array.from(classes, (b) => String.fromCharCode(b)).join('')),
    };
  } finally {
    model.dispose(); // and the context it made
  }
}

(globalThis as unknown as { wgpuBench: typeof run }).wgpuBench = run;
