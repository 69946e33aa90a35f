// Run by Deno, not by mocha: tuning over the hardware-class spaces on wgpu (the GEMM's tiled
// kernels among them, which once crashed naga and with it Firefox). The adapter is lavapipe, so
// the context is told it is a GPU; then the default model is tuned at a small network size with
// no budget to stop it, each layer shape until `patience` candidates in a row were no faster than
// its best, and labels the pixels of an input of that size with what tuning chose.
//
//   deno run --allow-read dist/test/wgpu/deno-tune.js <weights> <size> <patience>
import { readFileSync } from 'node:fs';
import process from 'node:process';
import type * as Deeplab from '../../src/browser/index.js';

export interface TuneResult {
  shapes: number;
  /** Layer shapes whose choice is not their default (what the labels after tuning run). */
  changed: number;
  timed: number;
  candidates: number;
  skipped: number;
  ms: number;
  /** Pixels whose class after tuning equals the class before (same weights, other kernels). */
  agreement: number;
}

if ('Deno' in globalThis) {
  const [weightsPath, sizeText, patienceText] = (globalThis as unknown as { Deno: { args: string[] } }).Deno.args;
  const lib = (await import(new URL('../../browser/deeplab.js', import.meta.url).href)) as typeof Deeplab;
  const ctx = await lib.GpuContext.create({ tune: 'off' });
  // The hardware class's spaces and defaults on this CPU adapter.
  (ctx as { isSoftware: boolean }).isSoftware = false;
  // The network at `size` x `size` (its own input is 257x257): every layer shape keeps its
  // candidates, which run for milliseconds rather than for what the full size costs lavapipe.
  const size = Number(sizeText);
  const input = Float32Array.from({ length: size * size * 3 }, (_, i) => Math.sin(i));
  const model = await lib.loadModel(new Uint8Array(readFileSync(weightsPath)), { ctx, tune: 'off' });
  const classes = model.numClasses;
  /** Each pixel's class (arg max of its logits, NHWC) at `size` x `size`. */
  const labels = async (m: typeof model): Promise<Uint8Array> => {
    const logits = await m.forwardToHost(input, size, size);
    return Uint8Array.from({ length: size * size }, (_, p) => {
      let best = 0;
      for (let c = 1; c < classes; c++) if (logits[p * classes + c] > logits[p * classes + best]) best = c;
      return best;
    });
  };
  const before = await labels(model);
  // A finite patience times each candidate in one pass rather than the best of two (what it
  // picks is not what this checks); one longer than any space times every candidate.
  const report = await model.tune({ height: size, width: size, budgetMs: 3_600_000, patience: Number(patienceText) });
  model.dispose();
  // A new model compiles its programs with the choices tuning stored on the context.
  const tuned = await lib.loadModel(new Uint8Array(readFileSync(weightsPath)), { ctx, tune: 'cached' });
  const after = await labels(tuned);
  let same = 0;
  for (let i = 0; i < before.length; i++) if (before[i] === after[i]) same++;
  const result: TuneResult = {
    shapes: report.tuned.length,
    changed: report.tuned.filter((t) => t.entry.variant !== Object.keys(t.times)[0]).length,
    timed: report.tuned.reduce((n, t) => n + Object.keys(t.times).length, 0),
    candidates: report.tuned.reduce((n, t) => n + t.candidates, 0),
    skipped: report.skipped,
    ms: report.ms,
    agreement: same / before.length,
  };
  console.log(JSON.stringify({ result }));
  tuned.dispose();
  process.exit(0);
}
