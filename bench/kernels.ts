// Kernel benchmark: GFLOP/s of our conv2d against TensorFlow.js' WebGPU backend on the layer
// shapes that dominate DeepLabv3, both engines on the same Dawn instance and adapter, measured
// side by side in one run.
//
//   npm run bench:kernels -- [--quick] [--layers aspp-r1,stem] [--repeats N] [--warmup N] [--no-tfjs]
//
// Timing: GPU time from timestamp queries (begin / end of each engine's compute passes) when
// the adapter offers 'timestamp-query', otherwise wall time around submit + onSubmittedWorkDone;
// both engines are always timed the same way. Reported: median of the repeats after warm-up.
import { benchArgs, median, pad, pickByName, runIfMain, writeReport } from './common.js';
import { relativeError } from '../src/util/relative-error.js';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GpuContext } from '../src/gpu/context.js';
import { WorkTimer } from '../src/gpu/work-timer.js';
import { type Dispatch, disposeDispatch, encodeDispatches } from '../src/gpu/dispatch.js';
import { ensureRuntimeDir } from '../src/gpu/runtime-dir.js';
import { type GpuTensor, type Shape, createTensor, numel, readTensor, uploadTensor } from '../src/gpu/tensor.js';
import { type Conv2dParams, conv2dFlops, conv2dOutputShape, convParams, samePadding } from '../src/kernels/conv2d/params.js';
import { prepareConv2d } from '../src/kernels/conv2d/conv2d.js';

type Tfjs = typeof import('@tensorflow/tfjs-core');
type TfTensor4D = import('@tensorflow/tfjs-core').Tensor4D;

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

export interface KernelOptions {
  quick: boolean;
  repeats: number;
  warmup: number;
  layers: Layer[];
  tfjs: boolean;
}

interface Options extends KernelOptions {
  out: string;
}

function parseArgs(argv: string[]): Options {
  const args = benchArgs('bench:kernels', argv, ['--quick', '--no-tfjs'], ['--layers', '--repeats', '--warmup', '--out']);
  const quick = args.has('--quick');
  const value = args.value;
  const layers = pickByName('bench:kernels', 'layer(s)', value('--layers'), LAYERS, (l) => l.name);
  const repeats = Math.max(1, args.count('--repeats', quick ? 2 : 5));
  const warmup = args.count('--warmup', 1);
  const here = dirname(fileURLToPath(import.meta.url));
  // dist/bench/kernels.js -> <root>/bench/results/kernels.json
  const out = value('--out') ?? join(here, '..', '..', 'bench', 'results', 'kernels.json');
  return { quick, repeats, warmup, layers, tfjs: !args.has('--no-tfjs'), out };
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

export interface Measured {
  samplesMs: number[];
  medianMs: number;
  gflops: number;
}

function summarise(samplesMs: number[], flops: number): Measured {
  const medianMs = median(samplesMs);
  return { samplesMs, medianMs, gflops: flops / (medianMs * 1e6) };
}

async function benchOurs(
  ctx: GpuContext,
  layer: Layer,
  x: Float32Array,
  w: Float32Array,
  timestamps: boolean,
  o: KernelOptions,
): Promise<{ m: Measured; out: Float32Array }> {
  const tensors: GpuTensor[] = [];
  let dispatch: Dispatch[] = [];
  const timer = new OurTimer(ctx, timestamps);
  try {
    const input = uploadTensor(ctx, x, layer.input, 'bench:input');
    tensors.push(input);
    const weight = uploadTensor(ctx, w, layer.weight, 'bench:weight');
    tensors.push(weight);
    const out = createTensor(ctx, conv2dOutputShape(layer.input, layer.weight, layer.p), 'f32', 'bench:out');
    tensors.push(out);
    dispatch = await ctx.checked(layer.name, () => prepareConv2d(ctx, { input, weight, out }, layer.p));
    const d = dispatch;
    const samples: number[] = [];
    await ctx.checked(layer.name, async () => {
      for (let i = 0; i < o.warmup; i++) await timer.time(d);
      for (let i = 0; i < o.repeats; i++) samples.push(await timer.time(d));
    });
    return { m: summarise(samples, conv2dFlops(layer.input, layer.weight, layer.p)), out: await readTensor(ctx, out) };
  } finally {
    timer.dispose();
    for (const d of dispatch) disposeDispatch(ctx, d);
    for (const t of tensors) t.dispose();
  }
}

interface TfjsEngine {
  tf: Tfjs;
  device: GPUDevice;
  submitQueue(): void;
  timestamps: boolean;
}

/** Loads TensorFlow.js' WebGPU backend on our Dawn instance (it looks for navigator.gpu at import). */
async function loadTfjs(ctx: GpuContext): Promise<TfjsEngine> {
  // Node 21+ defines a read-only navigator; defineProperty works on every version.
  Object.defineProperty(globalThis, 'navigator', { value: { gpu: ctx.gpu }, configurable: true, writable: true });
  const tf = await import('@tensorflow/tfjs-core');
  await import('@tensorflow/tfjs-backend-webgpu');
  if (!(await tf.setBackend('webgpu'))) throw new Error('bench:kernels: TensorFlow.js could not start its WebGPU backend');
  await tf.ready();
  const backend = tf.backend() as unknown as { device: GPUDevice; submitQueue(): void };
  return { tf, device: backend.device, submitQueue: () => backend.submitQueue(), timestamps: backend.device.features.has('timestamp-query') };
}

async function benchTfjs(
  e: TfjsEngine,
  layer: Layer,
  x: Float32Array,
  w: Float32Array,
  useTimestamps: boolean,
  o: KernelOptions,
): Promise<{ m: Measured; out: Float32Array }> {
  const { tf } = e;
  const p = layer.p;
  const depthwise = p.groups > 1;
  if (depthwise && p.groups !== layer.input[3]) throw new Error(`bench:kernels: tfjs has no general grouped conv (${layer.name})`);
  const [KH, KW, I, C] = layer.weight;
  const xt = tf.tensor4d(x, layer.input as [number, number, number, number]);
  // tfjs depthwise filters are [KH, KW, C, multiplier]; ours are HWIO [KH, KW, 1, C].
  const ft = tf.tensor4d(w, depthwise ? [KH, KW, C, 1] : [KH, KW, I, C]);
  const pad: [[number, number], [number, number], [number, number], [number, number]] = [
    [0, 0],
    [p.padTop, p.padBottom],
    [p.padLeft, p.padRight],
    [0, 0],
  ];
  const run = (): TfTensor4D =>
    depthwise
      ? tf.depthwiseConv2d(xt, ft, [p.strideH, p.strideW], pad, 'NHWC', [p.dilationH, p.dilationW])
      : tf.conv2d(xt, ft, [p.strideH, p.strideW], pad, 'NHWC', [p.dilationH, p.dilationW]);
  const once = async (): Promise<number> => {
    if (useTimestamps) {
      let y: TfTensor4D | undefined;
      const info = await tf.time(() => {
        y = run();
      });
      y?.dispose();
      return info.kernelMs as number;
    }
    const t0 = performance.now();
    const y = run();
    e.submitQueue();
    await e.device.queue.onSubmittedWorkDone();
    const ms = performance.now() - t0;
    y.dispose();
    return ms;
  };
  try {
    for (let i = 0; i < o.warmup; i++) await once();
    const samples: number[] = [];
    for (let i = 0; i < o.repeats; i++) samples.push(await once());
    const y = run();
    const out = (await y.data()) as Float32Array;
    y.dispose();
    return { m: summarise(samples, conv2dFlops(layer.input, layer.weight, layer.p)), out };
  } finally {
    xt.dispose();
    ft.dispose();
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

/** Times every layer in both engines on `ctx` (made with timestamps when wanted), printing a table. */
export async function benchKernels(ctx: GpuContext, o: KernelOptions): Promise<{ method: string; tfjsVersion: string | null; rows: KernelRow[] }> {
  const tfjs = o.tfjs ? await loadTfjs(ctx) : null;
  // One method for both engines: timestamps only when both devices have them.
  const timestamps = ctx.hasTimestamps && (tfjs?.timestamps ?? true);
  const method = timestamps ? 'GPU timestamp queries (begin/end of compute pass)' : 'wall time around submit + onSubmittedWorkDone';
  console.log(`timing: ${method}; median of ${o.repeats} after ${o.warmup} warm-up run(s)${o.quick ? ' (--quick)' : ''}`);
  if (!timestamps && ctx.hasTimestamps) console.log('note: tfjs device lacks timestamp-query; both engines use wall time');

  const rows: KernelRow[] = [];
  console.log(`\n${pad('layer', 11)} ${pad('shape', 30)} ${pad('GFLOP', 7)} ${pad('ours ms', 9)} ${pad('ours GFLOP/s', 13)} ${pad('tfjs ms', 9)} ${pad('tfjs GFLOP/s', 13)} ratio  rel.err`);
  for (const [i, layer] of o.layers.entries()) {
    const flops = conv2dFlops(layer.input, layer.weight, layer.p);
    const x = randomData(numel(layer.input), 1 + i);
    const w = randomData(numel(layer.weight), 101 + i);
    const ours = await benchOurs(ctx, layer, x, w, timestamps, o);
    const theirs = tfjs ? await benchTfjs(tfjs, layer, x, w, timestamps, o) : null;
    const ratio = theirs ? ours.m.gflops / theirs.m.gflops : null;
    const err = theirs ? relativeError(ours.out, theirs.out) : null;
    console.log(
      `${pad(layer.name, 11)} ${pad(layer.what, 30)} ${pad((flops / 1e9).toFixed(2), 7)} ${pad(ours.m.medianMs.toFixed(1), 9)} ${pad(ours.m.gflops.toFixed(2), 13)} ` +
        `${pad(theirs ? theirs.m.medianMs.toFixed(1) : '-', 9)} ${pad(theirs ? theirs.m.gflops.toFixed(2) : '-', 13)} ${pad(ratio ? ratio.toFixed(2) : '-', 6)} ${err !== null ? err.toExponential(1) : '-'}`,
    );
    rows.push({
      layer: layer.name,
      description: layer.what,
      input: layer.input,
      weight: layer.weight,
      params: layer.p,
      gflop: flops / 1e9,
      ours: ours.m,
      tfjs: theirs?.m ?? null,
      ratio,
      relativeErrorVsTfjs: err,
    });
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
      warmup: o.warmup,
      quick: o.quick,
      tfjsVersion: r.tfjsVersion,
      layers: r.rows,
    });
  } finally {
    ctx.destroy();
  }
}

runIfMain(import.meta.url, main);
