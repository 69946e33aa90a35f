// Where a model's forward pass spends its time (bench part `profile`): per-layer GPU times from
// timestamp queries (DeepLabModel.profile, src/graph/profile.ts), each layer's GFLOP/s and its
// fraction of our best GEMM rate on the adapter (the fastest of our convolutions on the kernel
// benchmark's ASPP layers, measured in the same run), the whole pass against that rate, and the
// host time of a plain run outside the kernels.
import { median, pad } from './common.js';
import { LAYERS, benchKernels } from './kernels.js';
import type { GpuContext } from '../src/gpu/context.js';
import type { LayerProfile, ProgramProfile } from '../src/graph/profile.js';
import type { RgbImage } from '../src/io/image.js';
import type { LoadedWeights } from '../src/model/loading/load-weights.js';
import { DeepLabModel } from '../src/model/model.js';
import { compile } from '../src/graph/compile.js';
import { Program } from '../src/graph/program.js';
import type { RunHostMs } from '../src/graph/run-host-time.js';

/** Our best convolution rate on this adapter (GFLOP/s): the fastest layer of the kernel benchmark's ASPP set. */
export async function bestGemmRate(ctx: GpuContext, repeats: number): Promise<{ gflops: number; layer: string }> {
  const layers = LAYERS.filter((l) => l.name.startsWith('aspp'));
  const r = await benchKernels(ctx, { quick: false, repeats, warmup: 1, layers, tfjs: false });
  const best = r.rows.reduce((a, b) => ((b.ours?.gflops ?? 0) > (a.ours?.gflops ?? 0) ? b : a));
  return { gflops: best.ours!.gflops, layer: best.layer };
}

export interface ModelProfile extends ProgramProfile {
  model: string;
  input: number[];
  gflop: number;
  /** GFLOP/s of the whole pass (its GPU time) over the best GEMM rate. */
  fractionOfBest: number;
  byOp: { op: string; layers: number; ms: number; gflop: number }[];
  /** The image segment() was timed on (width x height). */
  image: [number, number];
  /** Median host time of segment(img): the image to its class map, CPU preprocessing included. */
  segmentMs: number;
  /** Median host time of the CPU preprocessing (resize, normalise) within segment(). */
  preprocessMs: number;
  /** A plain run's host time by phase (medians over the repeats; Program.lastRunHostMs). */
  hostMs: RunHostMs;
}

/** Medians of each phase of `repeats` plain runs (after one), host input to host logits. */
export async function runHostPhases(program: Program, inputs: Record<string, Float32Array>, repeats: number): Promise<RunHostMs> {
  await program.run(inputs);
  const runs: RunHostMs[] = [];
  for (let i = 0; i < repeats; i++) {
    await program.run(inputs);
    runs.push(program.lastRunHostMs!);
  }
  const keys = Object.keys(runs[0]) as (keyof RunHostMs)[];
  return Object.fromEntries(keys.map((k) => [k, median(runs.map((r) => r[k]))])) as unknown as RunHostMs;
}

export async function profileModel(ctx: GpuContext, weights: LoadedWeights, img: RgbImage, repeats: number, bestGflops: number): Promise<ModelProfile> {
  const model = await DeepLabModel.fromWeights(weights, { ctx });
  try {
    const { input, height, width } = model.preprocess(img);
    const p = await model.profile(input, height, width, repeats);
    // The call users make: the network and its post-processing (resize to the image, argmax)
    // in one submission, only the class map read back.
    await model.segment(img);
    const segmentMs: number[] = [];
    const preprocessMs: number[] = [];
    for (let i = 0; i < repeats; i++) {
      let t0 = performance.now();
      model.preprocess(img);
      preprocessMs.push(performance.now() - t0);
      t0 = performance.now();
      await model.segment(img);
      segmentMs.push(performance.now() - t0);
    }
    // The same network as a program of its own, so each run's host phases can be read.
    const program = await Program.create(ctx, compile(weights.buildGraph({ batch: 1, height, width }), { mode: 'inference' }), weights.params, `${weights.name} (host phases)`);
    let hostMs: RunHostMs;
    try {
      hostMs = await runHostPhases(program, { image: input }, Math.max(repeats, 5));
    } finally {
      program.dispose();
    }
    const flops = p.layers.reduce((a, l) => a + l.flops, 0);
    return {
      ...p,
      model: weights.name,
      input: [1, height, width, 3],
      gflop: flops / 1e9,
      fractionOfBest: flops / (p.passMs * 1e6) / bestGflops,
      byOp: opTotals(p.layers),
      image: [img.width, img.height],
      segmentMs: median(segmentMs),
      preprocessMs: median(preprocessMs),
      hostMs,
    };
  } finally {
    model.dispose();
  }
}

/** Time, layer count and GFLOP by op, slowest first. */
export function opTotals(layers: readonly LayerProfile[]): ModelProfile['byOp'] {
  const byOp = new Map<string, { op: string; layers: number; ms: number; gflop: number }>();
  for (const l of layers) {
    const e = byOp.get(l.op) ?? { op: l.op, layers: 0, ms: 0, gflop: 0 };
    e.layers++;
    e.ms += l.ms;
    e.gflop += l.flops / 1e9;
    byOp.set(l.op, e);
  }
  return [...byOp.values()].sort((a, b) => b.ms - a.ms);
}

/** GFLOP/s of a layer (or an op's total), 0 where it took no measurable time. */
export const rate = (l: { flops: number; ms: number }): number => (l.ms > 0 ? l.flops / (l.ms * 1e6) : 0);

/** The profile as tables: totals, time by op, and the slowest layers. */
export function printProfile(p: ModelProfile, bestGflops: number, top = 15): void {
  const f = (x: number, d = 2) => x.toFixed(d);
  console.log(`\n${p.model} ${p.input.join('x')}: ${f(p.gflop)} GFLOP, ${p.layers.length} layers with kernels`);
  console.log(`  whole pass (GPU) ${f(p.passMs)} ms = ${f((p.gflop * 1e3) / p.passMs, 0)} GFLOP/s, ` +
    `${f(100 * p.fractionOfBest, 1)} % of our best GEMM rate (${f(bestGflops, 0)} GFLOP/s)`);
  console.log(`  layers timed one pass each: ${f(p.layersMs)} ms; plain run, host input to host logits: ${f(p.runMs)} ms ` +
    `(outside the pass: ${f(p.runMs - p.passMs)} ms)`);
  console.log(`  segment() of the ${p.image.join('x')} image: ${f(p.segmentMs)} ms, of which ${f(p.preprocessMs)} ms preprocessing on the CPU ` +
    `(outside it and the pass: ${f(p.segmentMs - p.preprocessMs - p.passMs)} ms: the post-processing, submission, waiting, reading back)`);
  const h = p.hostMs;
  console.log(`  a plain run on the host (medians): write inputs ${f(h.writeMs)} ms, encode ${f(h.encodeMs)}, submit ${f(h.submitMs)}, ` +
    `wait ${f(h.waitMs)} (the pass: ${f(p.passMs)}), read back ${f(h.readBackMs)}, error scopes ${f(h.errorScopesMs)}; total ${f(h.totalMs)} ms`);
  console.log(`  ${pad('op', 22)} ${pad('layers', 7)} ${pad('ms', 8)} ${pad('share', 7)} GFLOP/s`);
  for (const o of p.byOp) {
    console.log(`  ${pad(o.op, 22)} ${pad(String(o.layers), 7)} ${pad(f(o.ms), 8)} ${pad(f((100 * o.ms) / p.layersMs, 1) + '%', 7)} ${f(rate({ flops: o.gflop * 1e9, ms: o.ms }), 0)}`);
  }
  console.log(`  slowest layers:`);
  console.log(`  ${pad('layer', 40)} ${pad('op', 14)} ${pad('ms', 8)} ${pad('GFLOP/s', 9)} of best`);
  const slow: LayerProfile[] = [...p.layers].sort((a, b) => b.ms - a.ms).slice(0, top);
  for (const l of slow) {
    const g = rate(l);
    console.log(`  ${pad(l.name.slice(0, 40), 40)} ${pad(l.op, 14)} ${pad(f(l.ms, 3), 8)} ${pad(f(g, 0), 9)} ${l.flops ? f((100 * g) / bestGflops, 1) + '%' : '-'}`);
  }
}
