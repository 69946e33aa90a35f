// Run by Deno, not by mocha: the page bundle (dist/browser/deeplab.js) on wgpu's WebGPU. Loads
// the weights, segments one image in f32 and in f16, and fine-tunes two steps on it, printing one
// JSON line of results for deno-engine.test.ts to compare with Node's.
//
//   deno run --allow-read dist/test/wgpu/deno-engine.js <case.json>
//
// case.json: { weights: path, image: { width, height, rgb: path of raw RGB bytes }, labels: path
// of raw class bytes (the image's size), fineTune: FineTuneOptions without callbacks }.
import { readFileSync } from 'node:fs';
import process from 'node:process';
import type * as Deeplab from '../../src/browser/index.js';
import type { FineTuneOptions } from '../../src/train/fine-tune.js';
import { countOneSegment, timeSegments } from './segment-count.js';

export interface EngineCase {
  weights: string;
  image: { width: number; height: number; rgb: string };
  labels: string;
  fineTune: Pick<FineTuneOptions, 'recipe' | 'steps' | 'crop' | 'lr' | 'scale' | 'flip' | 'seed'>;
  /** Timed f32 segments after two warm-ups (bench/wgpu.ts); none by default. */
  timedRuns?: number;
}

export interface EngineResult {
  adapter: string;
  isSoftware: boolean;
  hasHalf: boolean;
  /** Timestamp queries on a context created with default options. */
  hasTimestamps: boolean;
  implementation: string;
  /** Class maps, base64. */
  f32: string;
  f16: string;
  losses: number[];
  /** After fine-tuning: the tuned model's class map, base64. */
  tuned: string;
  /** GPU submits and buffer read-backs during the f32 segment. */
  submits: number;
  readbacks: number;
  /** Milliseconds of each timed f32 segment, in order. */
  segmentMs: number[];
}

const base64 = (bytes: Uint8Array) => btoa(Array.from(bytes, (b) => String.fromCharCode(b)).join(''));

// Only in Deno: the bundle needs navigator.gpu and no Node.
if ('Deno' in globalThis) {
  const lib = (await import(new URL('../../browser/deeplab.js', import.meta.url).href)) as typeof Deeplab;
  const c = JSON.parse(readFileSync(Deno_args()[0], 'utf8')) as EngineCase;
  const image = { width: c.image.width, height: c.image.height, data: new Uint8Array(readFileSync(c.image.rgb)) };
  const labels = new Uint8Array(readFileSync(c.labels));
  const weights = new Uint8Array(readFileSync(c.weights));
  const model = await lib.loadModel(weights, { tune: 'off' });
  const ctx = model.ctx;
  const { submits, readbacks, classes: f32 } = await countOneSegment(model, image);
  const segmentMs = c.timedRuns ? await timeSegments(model, image, c.timedRuns) : [];
  const half = await lib.loadModel(weights, { tune: 'off', precision: 'f16', ctx });
  const f16 = await half.segment(image);
  half.dispose();
  const losses: number[] = [];
  const tunedModel = await lib.fineTune(model, [{ image, labels }], { ...c.fineTune, onStep: (r) => void losses.push(r.loss) });
  const tuned = await tunedModel.segment(image);
  const result: EngineResult = {
    adapter: ctx.adapterInfo.name,
    isSoftware: ctx.isSoftware,
    implementation: ctx.implementation,
    hasHalf: ctx.hasHalf,
    hasTimestamps: ctx.hasTimestamps,
    f32: base64(f32),
    f16: base64(f16.classes),
    losses,
    tuned: base64(tuned.classes),
    submits,
    readbacks,
    segmentMs,
  };
  console.log(JSON.stringify({ result }));
  tunedModel.dispose();
  model.dispose();
  // The context the first model made outlives its models; the process ends here.
  process.exit(0);
}

/** Deno's command-line arguments (Deno.args), typed here without Deno's own types. */
function Deno_args(): string[] {
  return (globalThis as unknown as { Deno: { args: string[] } }).Deno.args;
}
