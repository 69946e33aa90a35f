// Kernel benchmark: GFLOP/s of our conv2d against TensorFlow.js' WebGPU backend on the layer
// shapes that dominate DeepLabv3 (bench/kernel-layers.ts), both engines on the same Dawn
// instance and adapter, measured side by side in one run.
//
//   npm run bench:kernels -- [--quick] [--layers aspp-r1,stem] [--repeats N] [--warmup N] [--warmup-budget SECONDS] [--peak-tflops N] [--no-tfjs]
//
// Timing: GPU time from timestamp queries (begin / end of each engine's compute passes) when
// the adapter offers 'timestamp-query', otherwise wall time around submit + onSubmittedWorkDone;
// both engines are always timed the same way. Each layer: warm-up rounds until both engines'
// times settle (bench/settle.ts), then the timed rounds, the engines alternating; reported: the
// median and quartiles of the timed rounds, and each engine's TFLOP/s as a share of the GPU's
// f32 peak where --peak-tflops gives it.
import { benchArgs, pad, pickByName, runIfMain, writeReport } from './common.js';
import { type Layer, LAYERS, type PreparedKernel } from './kernel-layers.js';
import { loadTfjs, prepareTfjs } from './kernels-tfjs.js';
import { type SettleOptions, type Settled, describeSpread, describeWarmup, measureSettled, settleDefaults } from './settle.js';
import { relativeError } from '../src/util/relative-error.js';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GpuContext } from '../src/gpu/context.js';
import { WorkTimer } from '../src/gpu/work-timer.js';
import { type Dispatch, disposeDispatch, encodeDispatches } from '../src/gpu/dispatch.js';
import { ensureRuntimeDir } from '../src/gpu/runtime-dir.js';
import { type GpuTensor, type Shape, createTensor, numel, readTensor, uploadTensor } from '../src/gpu/tensor.js';
import { type Conv2dParams, conv2dFlops, conv2dOutputShape } from '../src/kernels/conv2d/params.js';
import { prepareConv2d } from '../src/kernels/conv2d/conv2d.js';

export interface KernelOptions {
  quick: boolean;
  repeats: number;
  settle: SettleOptions;
  layers: Layer[];
  tfjs: boolean;
  /** The GPU's f32 peak (TFLOP/s, without tensor cores), where known: `--peak-tflops`. */
  peakTflops: number | null;
}

interface Options extends KernelOptions {
  out: string;
}

function parseArgs(argv: string[]): Options {
  const args = benchArgs('bench:kernels', argv, ['--quick', '--no-tfjs'], ['--layers', '--repeats', '--warmup', '--warmup-budget', '--peak-tflops', '--out']);
  const quick = args.has('--quick');
  const value = args.value;
  const layers = pickByName('bench:kernels', 'layer(s)', value('--layers'), LAYERS, (l) => l.name);
  const repeats = Math.max(1, args.count('--repeats', quick ? 2 : 5));
  const settle = settleDefaults({ quick, warmup: args.count('--warmup', 1), budgetSeconds: args.positive('--warmup-budget') });
  const here = dirname(fileURLToPath(import.meta.url));
  // dist/bench/kernels.js -> <root>/bench/results/kernels.json
  const out = value('--out') ?? join(here, '..', '..', 'bench', 'results', 'kernels.json');
  return { quick, repeats, settle, layers, tfjs: !args.has('--no-tfjs'), peakTflops: args.positive('--peak-tflops') ?? null, out };
}

function randomData(n: number, seed: number): Float32Array {
  // A small LCG: the benchmark needs non-trivial values, not statistical quality.
  const a = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    a[i] = s / 4294967296 - 0.5;
  }
  return a;
}

/** Times one of our dispatches in milliseconds: timestamps around its pass, or wall time. */
export class OurTimer {
  /** Sleeps through the GPU work instead of polling (see src/gpu/work-timer.ts). */
  private readonly wait = new WorkTimer();
  private readonly querySet: GPUQuerySet | null;
  private readonly resolve: GPUBuffer | null;

  constructor(private readonly ctx: GpuContext, timestamps: boolean) {
    this.querySet = timestamps ? ctx.device.createQuerySet({ type: 'timestamp', count: 2 }) : null;
    this.resolve = timestamps
      ? ctx.createBuffer(16, GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC, 'bench:timestamps')
      : null;
  }

  async time(d: Dispatch[]): Promise<number> {
    const { device } = this.ctx;
    const encoder = device.createCommandEncoder({ label: d[0].label });
    const pass = encoder.beginComputePass(
      this.querySet ? { timestampWrites: { querySet: this.querySet, beginningOfPassWriteIndex: 0, endOfPassWriteIndex: 1 } } : {},
    );
    encodeDispatches(pass, d);
    pass.end();
    if (!this.querySet || !this.resolve) {
      const t0 = performance.now();
      await this.ctx.submitAndWait([encoder.finish()], this.wait);
      return performance.now() - t0;
    }
    encoder.resolveQuerySet(this.querySet, 0, 2, this.resolve, 0);
    const staging = this.ctx.createBuffer(16, GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST, 'bench:staging');
    try {
      encoder.copyBufferToBuffer(this.resolve, 0, staging, 0, 16);
      await this.ctx.submitAndWait([encoder.finish()], this.wait);
      await staging.mapAsync(GPUMapMode.READ);
      const [begin, end] = new BigUint64Array(staging.getMappedRange().slice(0));
      staging.unmap();
      return Number(end - begin) / 1e6;
    } finally {
      this.ctx.destroyBuffer(staging);
    }
  }

  dispose(): void {
    this.querySet?.destroy();
    if (this.resolve) this.ctx.destroyBuffer(this.resolve);
  }
}

/** A kernel's timed rounds (bench/settle.ts) and its rate: GFLOP/s, TFLOP/s and the share of the GPU's f32 peak (null where unknown). */
export interface Measured extends Settled {
  gflops: number;
  tflops: number;
  fractionOfPeak: number | null;
}

/** The rate of `flops` at the median time, against `peakTflops` where it is known. */
function rateOf(s: Settled, flops: number, peakTflops: number | null): Measured {
  const tflops = flops / (s.medianMs * 1e9);
  return { ...s, gflops: 1000 * tflops, tflops, fractionOfPeak: peakTflops ? tflops / peakTflops : null };
}

/** Our conv2d on `layer`, its tensors uploaded and its dispatches prepared once. */
async function prepareOurs(ctx: GpuContext, layer: Layer, x: Float32Array, w: Float32Array, timestamps: boolean): Promise<PreparedKernel> {
  const tensors: GpuTensor[] = [];
  let dispatch: Dispatch[] = [];
  const timer = new OurTimer(ctx, timestamps);
  const dispose = () => {
    timer.dispose();
    for (const d of dispatch) disposeDispatch(ctx, d);
    for (const t of tensors) t.dispose();
  };
  try {
    const input = uploadTensor(ctx, x, layer.input, 'bench:input');
    tensors.push(input);
    const weight = uploadTensor(ctx, w, layer.weight, 'bench:weight');
    tensors.push(weight);
    const out = createTensor(ctx, conv2dOutputShape(layer.input, layer.weight, layer.p), 'f32', 'bench:out');
    tensors.push(out);
    dispatch = await ctx.checked(layer.name, () => prepareConv2d(ctx, { input, weight, out }, layer.p));
    const d = dispatch;
    return { time: () => timer.time(d), output: () => readTensor(ctx, out), dispose };
  } catch (e) {
    dispose();
    throw e;
  }
}

export interface KernelRow {
  layer: string;
  description: string;
  input: Shape;
  weight: Shape;
  params: Conv2dParams;
  gflop: number;
  ours: Measured;
  tfjs: Measured | null;
  ratio: number | null;
  relativeErrorVsTfjs: number | null;
}

const percent = (x: number | null): string => (x === null ? '-' : `${(100 * x).toFixed(1)} %`);

/** Times every layer in both engines on `ctx` (made with timestamps when wanted), printing a table. */
export async function benchKernels(ctx: GpuContext, o: KernelOptions): Promise<{ method: string; tfjsVersion: string | null; rows: KernelRow[] }> {
  const tfjs = o.tfjs ? await loadTfjs(ctx) : null;
  // One method for both engines: timestamps only when both devices have them.
  const timestamps = ctx.hasTimestamps && (tfjs?.timestamps ?? true);
  const method = timestamps ? 'GPU timestamp queries (begin/end of compute pass)' : 'wall time around submit + onSubmittedWorkDone';
  const s = o.settle;
  console.log(
    `timing: ${method}; median of ${o.repeats} after warm-up rounds until the times settle (at least ${s.minRounds} and ${s.minMs / 1000} s, ` +
      `at most ${s.maxRounds} or ${s.budgetMs / 1000} s), engines alternating${o.quick ? ' (--quick)' : ''}`,
  );
  console.log(o.peakTflops ? `f32 peak: ${o.peakTflops} TFLOP/s (--peak-tflops)` : 'f32 peak: unknown (no --peak-tflops), no share of it');
  if (!timestamps && ctx.hasTimestamps) console.log('note: tfjs device lacks timestamp-query; both engines use wall time');

  const rows: KernelRow[] = [];
  console.log(`\n${pad('layer', 11)} ${pad('shape', 30)} ${pad('GFLOP', 7)} ${pad('ours ms', 14)} ${pad('GFLOP/s', 9)} ${pad('of peak', 8)} ${pad('tfjs ms', 14)} ${pad('GFLOP/s', 9)} ${pad('of peak', 8)} ratio  rel.err  warm-up`);
  for (const [i, layer] of o.layers.entries()) {
    const flops = conv2dFlops(layer.input, layer.weight, layer.p);
    const x = randomData(numel(layer.input), 1 + i);
    const w = randomData(numel(layer.weight), 101 + i);
    const engines: PreparedKernel[] = [];
    try {
      engines.push(await prepareOurs(ctx, layer, x, w, timestamps));
      if (tfjs) engines.push(prepareTfjs(tfjs, layer, x, w, timestamps));
      const timed = await ctx.checked(layer.name, () => measureSettled(engines.map((e) => () => e.time()), o.repeats, o.settle));
      const [ours, theirs = null] = timed.map((t) => rateOf(t, flops, o.peakTflops));
      const outs = await Promise.all(engines.map((e) => e.output()));
      const ratio = theirs ? ours.gflops / theirs.gflops : null;
      const err = outs.length > 1 ? relativeError(outs[0], outs[1]) : null;
      const cells = (m: Measured | null) =>
        m ? `${pad(`${m.medianMs.toFixed(2)} ${describeSpread(m)}`, 14)} ${pad(m.gflops.toFixed(1), 9)} ${pad(percent(m.fractionOfPeak), 8)}` : `${pad('-', 14)} ${pad('-', 9)} ${pad('-', 8)}`;
      console.log(
        `${pad(layer.name, 11)} ${pad(layer.what, 30)} ${pad((flops / 1e9).toFixed(2), 7)} ${cells(ours)} ${cells(theirs)} ` +
          `${pad(ratio ? ratio.toFixed(2) : '-', 6)} ${pad(err !== null ? err.toExponential(1) : '-', 8)} ${describeWarmup(ours)}`,
      );
      rows.push({
        layer: layer.name,
        description: layer.what,
        input: layer.input,
        weight: layer.weight,
        params: layer.p,
        gflop: flops / 1e9,
        ours,
        tfjs: theirs,
        ratio,
        relativeErrorVsTfjs: err,
      });
    } finally {
      for (const e of engines) e.dispose();
    }
  }
  return { method, tfjsVersion: tfjs ? tfjs.tf.version_core : null, rows };
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  ensureRuntimeDir();
  const ctx = await GpuContext.create({ timestamps: true });
  try {
    console.log(`adapter: ${ctx.adapterInfo.name}`);
    const r = await benchKernels(ctx, o);
    writeReport(o.out, {
      date: new Date().toISOString(),
      adapter: ctx.adapterInfo.name,
      timing: r.method,
      repeats: o.repeats,
      settle: o.settle,
      peakTflopsF32: o.peakTflops,
      quick: o.quick,
      tfjsVersion: r.tfjsVersion,
      layers: r.rows,
    });
  } finally {
    ctx.destroy();
  }
}

runIfMain(import.meta.url, main);
