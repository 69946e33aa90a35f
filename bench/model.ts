// End-to-end model benchmark: the whole DeepLabv3 forward pass in our engine against the same
// network written with TensorFlow.js ops on its WebGPU backend, both on one Dawn instance and
// adapter, from the same host params, measured side by side in one run.
//
//   npm run bench:model -- [--quick] [--models 257,513] [--repeats N] [--warmup N] [--warmup-budget SECONDS] [--image FILE] [--out FILE]
//
// The tfjs network is not written by hand: a small interpreter (bench/tfjs-graph.ts) walks our
// graph IR (the graph DeepLabModel executes, after BN folding and epilogue fusion) and emits one
// tfjs op per node, so the two cannot drift. Both engines are first checked to give the same
// logits on a VOC image.
//
// Timing (one method for both engines): wall time from the normalised input in host memory to
// the logits in host memory. Ours: DeepLabModel.forwardToHost (write input, one command buffer
// holding the pass and the logits' copy to a mappable buffer, submit, sleep through the expected
// GPU time, map). tfjs: tf.tensor4d(input) + the ops + `await logits.data()` (its wait polls:
// see src/gpu/work-timer.ts). Reported: median and quartiles of the timed rounds after warm-up
// rounds until both engines' times settle (bench/settle.ts); the two engines alternate run by run
// so that load from elsewhere on the machine, and the GPU's clock ramp, hit both alike.
import { argmaxAgreement } from './agreement.js';
import { benchArgs, pad, pickByName, runIfMain, writeReport } from './common.js';
import { type HostRun, type ModelOptions, type Timing, openOurs } from './ours.js';
import { describeSpread, describeWarmup, measureSettled, settleDefaults } from './settle.js';
import { type Tfjs, type TfTensor, TfjsGraph, freshTfjsBackend } from './tfjs-graph.js';
import { relativeError } from '../src/util/relative-error.js';
import { sharedDirPresent, sharedPath, useSharedWeights } from '../test/shared.js';
import { existsSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GpuContext } from '../src/gpu/context.js';
import { ensureRuntimeDir } from '../src/gpu/runtime-dir.js';
import type { Graph, Value } from '../src/graph/ir.js';
import { nodeOutput } from '../src/graph/ir.js';
import { nodeInputs } from '../src/graph/ops/registry.js';
import { deriveStateCpu } from '../src/graph/cpu-reference.js';
import { planMemory } from '../src/graph/memory-plan.js';
import { readImage } from '../src/io/image.js';
import { graphCost } from '../src/model/analysis/flops.js';
import { type LoadedWeights, loadWeights } from '../src/model/loading/load-weights.js';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..'); // dist/bench -> root
export const MAX_RELATIVE_ERROR = 1e-4;

export interface ModelCase {
  key: string;
  registryName: string;
}

export const MODELS: ModelCase[] = [
  { key: '257', registryName: 'mobilenetv2-pascal-257' },
  { key: '513', registryName: 'mobilenetv2-pascal-513' },
];

interface Options extends ModelOptions {
  models: ModelCase[];
  out: string;
}

function parseArgs(argv: string[]): Options {
  const args = benchArgs('bench:model', argv, ['--quick'], ['--models', '--repeats', '--warmup', '--warmup-budget', '--image', '--out']);
  const value = args.value;
  const quick = args.has('--quick');
  const count = args.count;
  const models = pickByName('bench:model', 'model(s)', value('--models'), MODELS, (m) => m.key);
  return {
    quick,
    repeats: Math.max(1, count('--repeats', quick ? 2 : 5)),
    settle: settleDefaults({ quick, warmup: count('--warmup', 1), budgetSeconds: args.positive('--warmup-budget') }),
    models,
    image: resolve(value('--image') ?? sharedPath('data', 'voc-sample', 'JPEGImages', 'voc12val_0001.png')),
    out: resolve(value('--out') ?? join(ROOT, 'bench', 'results', 'model.json')),
  };
}

// ------------------------------------------------------------------ TensorFlow.js side

/** Imports TensorFlow.js' WebGPU backend on our Dawn instance (it looks for navigator.gpu at import). */
export async function importTfjs(ctx: GpuContext): Promise<Tfjs> {
  // Node 21+ defines a read-only navigator; defineProperty works on every version.
  Object.defineProperty(globalThis, 'navigator', { value: { gpu: ctx.gpu }, configurable: true, writable: true });
  const tf = await import('@tensorflow/tfjs-core');
  await import('@tensorflow/tfjs-backend-webgpu');
  return tf;
}

// ------------------------------------------------------------------ one model, both engines

interface Memory {
  /** Ours: the executor's planned activation buffers (Program.plan.peakBytes). */
  oursActivationBytes: number;
  /** Ours: what one buffer per activation would take (Program.plan.unplannedBytes). */
  oursUnplannedBytes: number;
  /** The graph's live-set peak: the least any plan could use (tfjs' figure counts the same thing). */
  liveSetPeakBytes: number;
  /** Both engines hold the same params (BN-folded weights and biases). */
  paramBytes: number;
  /** tfjs: most bytes of live tensors at any kernel of one run, less params and input (tf.profile peakBytes). */
  tfjsActivationPeakBytes: number;
  /** tfjs: tf.memory().numBytes after a run, logits still held (params + input + logits). */
  tfjsNumBytesAfterRun: number;
  /** tfjs: every GPU buffer its backend has allocated and pools (params, activations, staging, uniforms). */
  tfjsAllocatedBytes: number | null;
}

export interface Row {
  key: string;
  model: string;
  description: string;
  input: number[];
  logits: number[];
  widthMultiplier: number;
  outputStride: number;
  gflop: number;
  nodes: number;
  ours: Timing;
  tfjs: Timing;
  /** tfjs ms / ours ms: above 1, ours is faster. */
  ratio: number;
  relativeErrorVsTfjs: number;
  argmaxAgreement: number;
  memory: Memory;
}

/**
 * The lower bound any planner can reach on this graph: the most activation bytes alive at once,
 * counted right after each node runs (its inputs still alive), as tf.profile counts tfjs' tensors.
 */
function liveSetPeakBytes(graph: Graph): number {
  const bytes = (v: Value): number => v.shape.reduce((a, b) => a * b, 1) * 4;
  const lastUse = new Map<number, number>();
  graph.nodes.forEach((n, i) => {
    for (const v of nodeInputs(n)) if (v.kind === 'activation') lastUse.set(v.id, i);
  });
  const outputs = new Set([...graph.outputs.values()].map((v) => v.id));
  let live = 0;
  let peak = 0;
  graph.nodes.forEach((n, i) => {
    const output = nodeOutput(n);
    live += bytes(output);
    peak = Math.max(peak, live);
    for (const v of nodeInputs(n)) if (v.kind === 'activation' && lastUse.get(v.id) === i && !outputs.has(v.id)) live -= bytes(v);
    if (!lastUse.has(output.id) && !outputs.has(output.id)) live -= bytes(output);
  });
  return peak;
}

/** Stem conv filters / 32: MobileNetV2's width multiplier (1 for other backbones). */
function widthMultiplier(graph: Graph): number {
  const stem = graph.nodes.find((n) => n.op.type === 'conv2d');
  return stem?.op.type === 'conv2d' && stem.name.startsWith('MobilenetV2/') ? stem.op.weight.shape[3] / 32 : 1;
}

/** Both engines on one model: a registry case, or (`given`) weights of a case named `mc.key`. */
export async function benchModel(ctx: GpuContext, tf: Tfjs, mc: ModelCase, o: ModelOptions, given?: LoadedWeights): Promise<Row> {
  const weights = given ?? (await loadWeights(mc.registryName, { download: false }));
  const eng = await openOurs(ctx, weights, await readImage(o.image));
  const { model, input, height, width } = eng;
  let net: TfjsGraph | undefined;
  try {
    const inputShape: [number, number, number, number] = [1, height, width, 3];
    // The very graph the model executes (folded, fused; its program plans this graph), with the
    // folded weights it reads derived on the CPU from the same parameters.
    const compiled = model.compiledGraph({ height, width });
    const graph = compiled.graph;
    const params = deriveStateCpu(compiled, await model.parameters());
    const plan = planMemory(graph);
    const logitsValue = graph.outputs.get('logits')!;

    await freshTfjsBackend(tf);
    net = new TfjsGraph(tf, graph, params);
    const tfjsNet = net;

    const ours = eng.run;
    const theirs: HostRun = async () => {
      const t0 = performance.now();
      const x = tf.tensor4d(input, inputShape);
      try {
        const y = tfjsNet.run(x);
        try {
          const out = (await y.data()) as Float32Array;
          return { ms: performance.now() - t0, out };
        } finally {
          y.dispose();
        }
      } finally {
        x.dispose();
      }
    };

    // Same logits first (this run is TF.js' first, its firstRunMs).
    const b = await theirs();
    const err = relativeError(eng.firstOut, b.out);
    const agree = argmaxAgreement(eng.firstOut, b.out, logitsValue.shape[3]);
    console.log(
      `${mc.key}: logits ours vs tfjs: relative error ${err.toExponential(2)} (limit ${MAX_RELATIVE_ERROR}), ` +
        `argmax agreement ${(agree * 100).toFixed(3)}% ${err < MAX_RELATIVE_ERROR ? 'OK' : 'MISMATCH'}`,
    );

    // Warm-up until both engines' times settle, then the timed rounds, the engines alternating
    // with the leading one swapped each round, so drift hits both alike.
    const [ourT, tfT] = await measureSettled([ours, theirs].map((run) => async () => (await run()).ms), o.repeats, o.settle);

    // tfjs memory: a profiled run (not timed; profiling records every kernel).
    const x = tf.tensor4d(input, inputShape);
    let memory: Memory;
    try {
      const before = tf.memory().numBytes;
      let y: TfTensor | undefined;
      const profile = await tf.profile(() => {
        y = tfjsNet.run(x);
        return y;
      });
      await y!.data();
      const info = tf.memory() as ReturnType<Tfjs['memory']> & { numBytesAllocatedInGPU?: number };
      memory = {
        oursActivationBytes: plan.peakBytes,
        oursUnplannedBytes: plan.unplannedBytes,
        liveSetPeakBytes: liveSetPeakBytes(graph),
        paramBytes: tfjsNet.paramBytes,
        tfjsActivationPeakBytes: profile.peakBytes - before,
        tfjsNumBytesAfterRun: info.numBytes,
        tfjsAllocatedBytes: info.numBytesAllocatedInGPU ?? null,
      };
      y!.dispose();
    } finally {
      x.dispose();
    }

    return {
      key: mc.key,
      model: mc.registryName,
      description: `DeepLabv3 MobileNetV2 x${widthMultiplier(graph)}, ${height}x${width}, OS ${model.config.outputStride}`,
      input: [...inputShape],
      logits: [...logitsValue.shape],
      widthMultiplier: widthMultiplier(graph),
      outputStride: model.config.outputStride,
      gflop: graphCost(graph).flops / 1e9,
      nodes: graph.nodes.length,
      ours: { ...ourT, firstRunMs: eng.firstRunMs, firstPassMs: eng.firstPassMs },
      tfjs: { ...tfT, firstRunMs: b.ms },
      ratio: tfT.medianMs / ourT.medianMs,
      relativeErrorVsTfjs: err,
      argmaxAgreement: agree,
      memory,
    };
  } finally {
    net?.dispose();
    model.dispose();
  }
}

// ------------------------------------------------------------------ report

const mib = (bytes: number | null): string => (bytes === null ? '-' : (bytes / 2 ** 20).toFixed(1));

export function printTables(rows: Row[]): void {
  console.log(`\n${pad('model', 46)} ${pad('GFLOP', 6)} ${pad('ours ms', 13)} ${pad('tfjs ms', 13)} ${pad('ratio', 6)} ${pad('rel.err', 8)} warm-up`);
  const ms = (t: Timing) => `${t.medianMs.toFixed(0)} ${describeSpread(t)}`;
  for (const r of rows) {
    console.log(
      `${pad(`${r.key}: ${r.description}`, 46)} ${pad(r.gflop.toFixed(2), 6)} ${pad(ms(r.ours), 13)} ${pad(ms(r.tfjs), 13)} ` +
        `${pad(r.ratio.toFixed(2), 6)} ${pad(r.relativeErrorVsTfjs.toExponential(1), 8)} ${describeWarmup(r.ours)}`,
    );
  }
  console.log('ratio = tfjs ms / ours ms (above 1: ours is faster)');
  console.log(
    `\n${pad('memory (MiB)', 13)} ${pad('params', 7)} ${pad('ours act. (plan)', 17)} ${pad('ours unplanned', 15)} ${pad('live-set peak', 14)} ` +
      `${pad('tfjs act. peak', 15)} ${pad('tfjs numBytes', 14)} tfjs allocated`,
  );
  for (const r of rows) {
    const m = r.memory;
    console.log(
      `${pad(r.key, 13)} ${pad(mib(m.paramBytes), 7)} ${pad(mib(m.oursActivationBytes), 17)} ${pad(mib(m.oursUnplannedBytes), 15)} ${pad(mib(m.liveSetPeakBytes), 14)} ` +
        `${pad(mib(m.tfjsActivationPeakBytes), 15)} ${pad(mib(m.tfjsNumBytesAfterRun), 14)} ${mib(m.tfjsAllocatedBytes)}`,
    );
  }
  console.log(
    'ours act. = program.plan.peakBytes; live-set peak = most activation bytes alive at once in the graph (the least any plan needs);\n' +
      'tfjs act. peak = tf.profile peakBytes less params and input; tfjs numBytes = tf.memory().numBytes after a run\n' +
      '(params + input + logits); tfjs allocated = every GPU buffer its backend holds (params, pooled activations, staging, uniforms)',
  );
}

/** Offline copies of the weights (the shared folder, where there is one) unless the caller points elsewhere. */
export function useSharedWeightsIfPresent(): void {
  if (sharedDirPresent()) useSharedWeights();
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  if (!existsSync(o.image)) throw new Error(`bench:model: image not found: ${o.image}`);
  useSharedWeightsIfPresent();
  ensureRuntimeDir();
  const ctx = await GpuContext.create();
  try {
    const tf = await importTfjs(ctx);
    const method = 'wall time, normalised input in host memory -> logits in host memory (ours: forward + readback; tfjs: tensor4d + ops + await data())';
    console.log(`adapter: ${ctx.adapterInfo.name}`);
    console.log(`tfjs: ${tf.version_core} (webgpu backend)`);
    console.log(`image: ${relative(ROOT, o.image)}`);
    console.log(`timing: ${method}; median of ${o.repeats} after warm-up rounds until the times settle (at least ${o.settle.minRounds}, at most ${o.settle.budgetMs / 1000} s), engines alternating${o.quick ? ' (--quick)' : ''}\n`);
    const rows: Row[] = [];
    for (const mc of o.models) rows.push(await benchModel(ctx, tf, mc, o));
    printTables(rows);
    writeReport(o.out, {
      date: new Date().toISOString(),
      adapter: ctx.adapterInfo.name,
      timing: method,
      repeats: o.repeats,
      settle: o.settle,
      quick: o.quick,
      image: relative(ROOT, o.image),
      tfjsVersion: tf.version_core,
      maxRelativeError: MAX_RELATIVE_ERROR,
      models: rows,
    });
    const bad = rows.filter((r) => !(r.relativeErrorVsTfjs < MAX_RELATIVE_ERROR));
    if (bad.length) {
      console.error(`bench:model: logits differ from tfjs beyond ${MAX_RELATIVE_ERROR} for ${bad.map((r) => r.key).join(', ')}`);
      process.exitCode = 1;
    }
  } finally {
    ctx.destroy();
  }
}

runIfMain(import.meta.url, main);
