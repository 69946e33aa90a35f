// Where a model's forward pass spends its time (bench part `profile`): per-layer GPU times from
// timestamp queries (DeepLabModel.profile, src/graph/profile.ts), each layer's GFLOP/s and its
// fraction of our best GEMM rate on the adapter (the fastest of our convolutions on the kernel
// benchmark's ASPP layers, measured in the same run) and of the GPU's f32 peak (where
// --peak-tflops gives it), the whole pass against that rate, and the host time of a plain run
// outside the kernels. The plain runs warm up until their times settle (bench/settle.ts) before
// anything is timed, so the layers are timed on a GPU whose clocks have ramped up.
import { median, pad } from './common.js';
import { LAYERS } from './kernel-layers.js';
import { benchKernels } from './kernels.js';
import { type SettleOptions, type Settled, describeSpread, describeWarmup, measureSettled } from './settle.js';
import type { GpuContext } from '../src/gpu/context.js';
import type { LayerProfile, ProgramProfile } from '../src/graph/profile.js';
import type { RgbImage } from '../src/io/image.js';
import type { LoadedWeights } from '../src/model/loading/load-weights.js';
import { DeepLabModel } from '../src/model/model.js';
import { compile } from '../src/graph/compile.js';
import { Program } from '../src/graph/program.js';
import type { RunHostMs } from '../src/graph/run-host-time.js';

/** Our best convolution rate on this adapter (GFLOP/s): the fastest layer of the kernel benchmark's ASPP set. */
export async function bestGemmRate(ctx: GpuContext, repeats: number, settle: SettleOptions): Promise<{ gflops: number; layer: string }> {
  const layers = LAYERS.filter((l) => l.name.startsWith('aspp'));
  const r = await benchKernels(ctx, { quick: false, repeats, settle, layers, tfjs: false, peakTflops: null });
  const best = r.rows.reduce((a, b) => ((b.ours?.gflops ?? 0) > (a.ours?.gflops ?? 0) ? b : a));
  return { gflops: best.ours!.gflops, layer: best.layer };
}

/** A profiled layer with its rate: TFLOP/s, and the share of the GPU's f32 peak (null where unknown). */
export type RatedLayer = LayerProfile & { tflops: number; fractionOfPeak: number | null };

export interface ModelProfile extends Omit<ProgramProfile, 'layers'> {
  layers: RatedLayer[];
  /** The plain runs (host input to host logits; `runMs` is their median), with their warm-up. */
  run: Settled;
  /** The same network as a bare Program, its run() timed on the host, in turns with the plain runs. */
  bareRun: Settled;
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
  /** Its timed rounds (after its warm-up). */
  segment: Settled;
  /** Median host time of the CPU preprocessing (resize, normalise) within segment(). */
  preprocessMs: number;
  /** The bare program's run by phase (medians over the repeats; Program.lastRunHostMs). */
  hostMs: RunHostMs;
}

/** Each phase's median over runs (Program.lastRunHostMs). */
function medianPhases(runs: readonly RunHostMs[]): RunHostMs {
  const keys = Object.keys(runs[0]) as (keyof RunHostMs)[];
  return Object.fromEntries(keys.map((k) => [k, median(runs.map((r) => r[k]))])) as unknown as RunHostMs;
}

export interface ProfileOptions {
  /** Timed repeats of the layers, the plain runs and segment(). */
  repeats: number;
  settle: SettleOptions;
  /** Our best GEMM rate on this adapter (bestGemmRate), GFLOP/s. */
  bestGflops: number;
  /** The GPU's f32 peak, TFLOP/s, where known. */
  peakTflops: number | null;
}

/** `layer`'s TFLOP/s and share of `peakTflops` (null where unknown; 0 TFLOP/s where it took no measurable time). */
export function rateLayer(l: LayerProfile, peakTflops: number | null): RatedLayer {
  const tflops = l.ms > 0 ? l.flops / (l.ms * 1e9) : 0;
  return { ...l, tflops, fractionOfPeak: peakTflops ? tflops / peakTflops : null };
}

export async function profileModel(ctx: GpuContext, weights: LoadedWeights, img: RgbImage, o: ProfileOptions): Promise<ModelProfile> {
  const model = await DeepLabModel.fromWeights(weights, { ctx });
  try {
    const { input, height, width } = model.preprocess(img);
    // The same network as a bare program of its own, whose runs can be read phase by phase. Its
    // runs take turns with forwardToHost's, so both meet the same clocks: timed one after the
    // other on an H200, the bare run's phases summed to 9.6 ms and forwardToHost took 17.9.
    const program = await Program.create(ctx, compile(weights.buildGraph({ batch: 1, height, width }), { mode: 'inference' }), weights.params, `${weights.name} (host phases)`);
    let run: Settled;
    let bareRun: Settled;
    let hostMs: RunHostMs;
    try {
      const phases: RunHostMs[] = [];
      // Plain runs first, until their times settle: the GPU's clocks ramp up before the layers are timed.
      [run, bareRun] = await measureSettled(
        [
          async () => {
            const t0 = performance.now();
            await model.forwardToHost(input, height, width);
            return performance.now() - t0;
          },
          async () => {
            const t0 = performance.now();
            await program.run({ image: input });
            phases.push(program.lastRunHostMs!);
            return performance.now() - t0;
          },
        ],
        o.repeats,
        o.settle,
      );
      hostMs = medianPhases(phases.slice(-o.repeats));
    } finally {
      program.dispose();
    }
    const p = await model.profile(input, height, width, o.repeats);
    // The call users make: the network and its post-processing (resize to the image, argmax)
    // in one submission, only the class map read back.
    const [segment] = await measureSettled(
      [
        async () => {
          const t0 = performance.now();
          await model.segment(img);
          return performance.now() - t0;
        },
      ],
      o.repeats,
      o.settle,
    );
    const preprocessMs: number[] = [];
    for (let i = 0; i < o.repeats; i++) {
      const t0 = performance.now();
      model.preprocess(img);
      preprocessMs.push(performance.now() - t0);
    }
    const flops = p.layers.reduce((a, l) => a + l.flops, 0);
    return {
      ...p,
      layers: p.layers.map((l) => rateLayer(l, o.peakTflops)),
      runMs: run.medianMs,
      run,
      bareRun,
      model: weights.name,
      input: [1, height, width, 3],
      gflop: flops / 1e9,
      fractionOfBest: flops / (p.passMs * 1e6) / o.bestGflops,
      byOp: opTotals(p.layers),
      image: [img.width, img.height],
      segmentMs: segment.medianMs,
      segment,
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
  console.log(`  layers timed one pass each: ${f(p.layersMs)} ms; plain run, host input to host logits: ${f(p.runMs)} ms ${describeSpread(p.run)} ` +
    `(outside the pass: ${f(p.runMs - p.passMs)} ms; warm-up ${describeWarmup(p.run)} runs)`);
  console.log(`  segment() of the ${p.image.join('x')} image: ${f(p.segmentMs)} ms, of which ${f(p.preprocessMs)} ms preprocessing on the CPU ` +
    `(outside it and the pass: ${f(p.segmentMs - p.preprocessMs - p.passMs)} ms: the post-processing, submission, waiting, reading back)`);
  const h = p.hostMs;
  console.log(`  the same network as a bare program, in turns with the plain runs: run() ${f(p.bareRun.medianMs)} ms ${describeSpread(p.bareRun)}; by phase (medians): ` +
    `write inputs ${f(h.writeMs)} ms, encode ${f(h.encodeMs)}, submit ${f(h.submitMs)}, ` +
    `wait ${f(h.waitMs)} (the pass: ${f(p.passMs)}), read back ${f(h.readBackMs)}, error scopes ${f(h.errorScopesMs)}; phases' total ${f(h.totalMs)} ms`);
  console.log(`  ${pad('op', 22)} ${pad('layers', 7)} ${pad('ms', 8)} ${pad('share', 7)} GFLOP/s`);
  for (const o of p.byOp) {
    console.log(`  ${pad(o.op, 22)} ${pad(String(o.layers), 7)} ${pad(f(o.ms), 8)} ${pad(f((100 * o.ms) / p.layersMs, 1) + '%', 7)} ${f(rate({ flops: o.gflop * 1e9, ms: o.ms }), 0)}`);
  }
  console.log(`  slowest layers:`);
  console.log(`  ${pad('layer', 40)} ${pad('op', 14)} ${pad('ms', 8)} ${pad('GFLOP/s', 9)} ${pad('of best', 8)} of peak`);
  const slow = [...p.layers].sort((a, b) => b.ms - a.ms).slice(0, top);
  for (const l of slow) {
    const g = rate(l);
    const ofPeak = l.fractionOfPeak === null ? '-' : f(100 * l.fractionOfPeak, 1) + '%';
    console.log(`  ${pad(l.name.slice(0, 40), 40)} ${pad(l.op, 14)} ${pad(f(l.ms, 3), 8)} ${pad(f(g, 0), 9)} ${pad(l.flops ? f((100 * g) / bestGflops, 1) + '%' : '-', 8)} ${l.flops ? ofPeak : '-'}`);
  }
}
