// The benchmark runner: kernels (bench/kernels.ts), whole models (bench/model.ts) and training
// steps (bench/train.ts) on one GPU context, one table per part, one JSON report. Its options
// and rows are in bench/run-options.ts, its cases in bench/cases.ts, the forward-pass parts in
// bench/run-forward.ts, the training parts and tune in bench/run-train.ts; the browser and
// ort-node parts and the report here.
//
// Part precision: each model in f16 storage against f32 (bench/precision.ts).
// Part quantize: the MobileNetV2 models as int8 and f16 checkpoints against f32 (bench/quantize.ts).
// Part recovery: the training step with surviveDeviceLoss (the state read back after every step)
// against without, steps alternating (bench/train-recovery.ts).
// Part tune: each model untuned, the time tuning it takes, and tuned (src/graph/tune.ts); for
// the training models (mobilenetv2-257, resnet50) the same on a training step, whose tuning
// covers the backward kernels too. The choices stay stored, so parts after it in the same run
// (put model after tune) run tuned.
// Part teach: fineTune's recipe for teaching from strokes judged by mIoU before and after, on the
// taught images and the others (bench/teach.ts, --teach-cases, --teach-options JSON over the
// recipe's settings, --teach-images, --teach-val).
// Part ort-node: the model cases (our ONNX export), smp's DeepLabV3+ and the ONNX cases in ours
// and in onnxruntime-node, on its CPU provider or the first of --ort-providers that runs the file
// (bench/ort-node.ts).
// Part browser: ours, ONNX Runtime Web and TF.js (WebGPU and WebAssembly), LiteRT.js (WebGPU and
// WebAssembly, on the official .tflite) and, from the photo to its class map, MediaPipe Tasks (CPU
// and GPU delegates) and ours in one headless Chromium page (bench/browser.ts), at
// --browser-size or each case's own size, on SwiftShader or lavapipe (--browser-adapter), with
// our pass profiled layer by layer (--browser-profile).
//
//   npm run bench -- [--quick] [--parts tune,kernels,model,train,recovery,profile,precision,quantize,browser,ort-node,teach] [--teach-cases NAME,...] [--teach-options JSON] [--teach-images N] [--teach-val N] [--models NAME,...] [--repeats N] [--warmup N] [--warmup-budget SECONDS] [--batch N] [--crop N] [--tune-budget SECONDS] [--peak-tflops N] [--ort-providers cpu,webgpu,cuda] [--cpu-only | --gpu-only]
//     [--browser-size N] [--browser-adapter swiftshader|lavapipe] [--browser-engines ours,ort,ort-wasm,tfjs,tfjs-wasm,litert-webgpu,litert-wasm,ours-segment,mediapipe-cpu,mediapipe-gpu,...] [--browser-warmup N] [--browser-profile] [--browser-profile-timing timestamps|host] [--out FILE]
import { cpus, loadavg } from 'node:os';
import { verifySubgroupMatrices } from '../src/kernels/conv2d/gemm/matrix-check.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserRun, benchBrowser } from './browser.js';
import { printBrowserColdStart, printBrowserProfile, printPhotoTable, printTjsFolderTable } from './browser-report.js';
import { pad, runIfMain, writeReport } from './common.js';
import { MAX_RELATIVE_ERROR, useSharedWeightsIfPresent } from './model.js';
import { type OrtNodeSource, benchOrtNode } from './ort-node.js';
import { ONNX_BENCH_CASES, writeOnnxBenchFile } from './onnx-cases.js';
import { TJS_FOLDER_CASES, writeTjsFolder } from './tjs-folders.js';
import { GpuContext } from '../src/gpu/context.js';
import { matrixConfigName } from '../src/gpu/kernel-limits.js';
import { ensureRuntimeDir } from '../src/gpu/runtime-dir.js';
import { type Options, type Part, type Result, parseArgs } from './run-options.js';
import { BROWSER_CASES, MODEL_CASES, SMP_CASES, caseWeights } from './cases.js';
import { kernelsPart, modelPart, precisionPart, profilePart, quantizePart } from './run-forward.js';
import { recoveryPart, trainPart, tunePart } from './run-train.js';
import { teachPart } from './run-teach.js';

/**
 * Browser part: each case in one headless Chromium page, our engine, ONNX Runtime Web, TF.js
 * and LiteRT.js on the page's adapter and on WebAssembly (bench/browser.ts); logits compared with
 * ours; MediaPipe Tasks and ours from the photo to its class map, compared with ours and TF Lite's. Peers that
 * fail are recorded with their error; our engine failing, or a peer's logits off by 1e-4 or
 * more, makes the run exit 1. With --browser-profile, our pass layer by layer (one row per case,
 * engine 'ours', part 'browser-profile' in the report's `browserProfiles`).
 */
async function browserPart(_ctx: GpuContext, o: Options): Promise<Result[]> {
  // A transformers.js folder's size is its processor's (its case names it): --browser-size leaves it.
  const cases = BROWSER_CASES.filter((c) => o.models.includes(c.name)).map((c) => (o.browserSize && !c.tjsFolder ? { ...c, size: o.browserSize } : c));
  const run = await benchBrowser(cases, {
    repeats: o.browserRepeats,
    warmup: o.browserWarmup,
    image: o.image,
    photo: o.photo,
    engines: o.browserEngines,
    adapter: o.browserAdapter,
    profile: o.browserProfile ? { repeats: o.heavyRepeats, timing: o.browserProfileTiming } : undefined,
  });
  lastBrowserRun = run;
  const seen = new Set<string>();
  for (const m of run.pageMessages) if (!seen.has(m) && seen.add(m)) console.log(`browser page: ${m}`);
  const browser = {
    chromium: run.chromium, flags: run.flags, pageAdapter: run.adapter, versions: run.versions, ortStartMs: run.start.ortStartMs,
    litertStartMs: run.start.litertStartMs, litert: run.start.litert, runtimeStartMs: run.start.runtimeStartMs, crossOriginIsolated: run.start.crossOriginIsolated,
    threads: run.start.threads, warmup: o.browserWarmup, bytes: run.bytes,
  };
  return run.rows.map(({ engine, ...r }) => {
    const bad = engine === 'ours' ? r.error !== undefined : r.relativeErrorVsOurs !== null && !(r.relativeErrorVsOurs < MAX_RELATIVE_ERROR);
    if (bad) process.exitCode = 1;
    return { part: 'browser', engine, batch: 1, peakBytes: null, ...r, adapter: r.adapter ?? run.start.adapters[engine], browser };
  });
}

/**
 * Part ort-node: the model cases (MobileNetV2 257 and 513, ResNet-50 OS 16 at 513) and the smp
 * cases in our engine and in onnxruntime-node on the ONNX export of the same weights (what
 * `deeplab export --format onnx` writes), and the ONNX cases (bench/onnx-cases.ts) in both on the
 * exporter's own file (bench/ort-node.ts), at each case's size (--browser-size sets another); ORT
 * on the first of --ort-providers that runs the file.
 */
async function ortNodePart(ctx: GpuContext, o: Options): Promise<Result[]> {
  const results: Result[] = [];
  const cases: { name: string; size: number; folder?: boolean; weightsNote: string; source: (dir: string) => Promise<OrtNodeSource> }[] = [
    ...MODEL_CASES.filter((c) => c.tfjs).map((c) => ({
      name: c.name, size: c.mobilenet?.key === '257' ? 257 : 513, weightsNote: c.mobilenet ? c.mobilenet.registryName : 'random', source: async () => ({ weights: await caseWeights(c) }),
    })),
    ...SMP_CASES.map((c) => ({ ...c, source: async () => ({ weights: await c.weights() }) })),
    ...ONNX_BENCH_CASES.map((c) => ({ name: c.name, size: c.size, weightsNote: `test/fixtures/onnx/${c.fixture}`, source: async (dir: string) => ({ file: writeOnnxBenchFile(c, dir) }) })),
    // A folder's size is its processor's (--browser-size leaves it), its input the photo's.
    ...TJS_FOLDER_CASES.map((c) => ({ name: c.name, size: c.size, folder: true, weightsNote: `test/fixtures/hub-onnx/${c.fixture}`, source: async (dir: string) => ({ folder: writeTjsFolder(c, dir) }) })),
  ];
  for (const c of cases.filter((m) => o.models.includes(m.name))) {
    const dir = mkdtempSync(join(tmpdir(), 'deeplab-ort-node-'));
    let r: Awaited<ReturnType<typeof benchOrtNode>>;
    try {
      const size = c.folder ? c.size : (o.browserSize ?? c.size);
      r = await benchOrtNode(ctx, await c.source(dir), { size, repeats: o.heavyRepeats, settle: o.settle, image: o.image, photo: o.photo, providers: o.ortProviders });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const ratio = r.ort ? ` (${(r.ort.medianMs / r.ours.medianMs).toFixed(2)}x ours)` : '';
    const cpu = r.oursCpu && r.ort ? `, ours on the CPU device ${r.oursCpu.medianMs.toFixed(0)} ms (${(r.oursCpu.medianMs / r.ort.medianMs).toFixed(2)}x ORT alone, ${(r.ours.medianMs / r.oursCpu.medianMs).toFixed(1)}x faster than ours on WebGPU)` : '';
    console.log(`ort-node ${c.name}: ours ${r.ours.medianMs.toFixed(0)} ms, onnxruntime-node ${r.ort ? `(${r.ortProvider}) ${r.ort.medianMs.toFixed(0)} ms${ratio}` : `not timed: ${r.error}`}${cpu}`);
    if (r.relativeError === null || !(r.relativeError < MAX_RELATIVE_ERROR)) process.exitCode = 1;
    const common = { part: 'ort-node' as const, model: c.name, batch: 1, peakBytes: null, input: r.input, weights: c.weightsNote, relativeErrorVsOurs: r.relativeError };
    results.push({ ...common, engine: 'ours', ...r.ours });
    if (r.oursCpu && r.ort) {
      results.push({ ...common, engine: 'ours-cpu', ...r.oursCpu, relativeErrorVsOurs: r.oursCpuRelativeError, overOrtAlone: r.oursCpu.medianMs / r.ort.medianMs, speedupOverWebgpu: r.ours.medianMs / r.oursCpu.medianMs });
    }
    results.push({
      ...common, engine: 'ort-node', medianMs: null, firstRunMs: null, samplesMs: [], ...r.ort, ortProvider: r.ortProvider, ortProviderErrors: r.ortProviderErrors,
      ...(r.error ? { error: r.error } : {}), ...(r.ort ? { overOurs: r.ort.medianMs / r.ours.medianMs } : {}),
    });
  }
  return results;
}

/** The browser part's run, for its extra tables and the report's profiles. */
let lastBrowserRun: BrowserRun | null = null;

const PART_RUNNERS: Record<Part, (ctx: GpuContext, o: Options) => Promise<Result[]>> = {
  tune: tunePart,
  kernels: kernelsPart,
  model: modelPart,
  train: trainPart,
  recovery: recoveryPart,
  profile: profilePart,
  precision: precisionPart,
  quantize: quantizePart,
  browser: browserPart,
  'ort-node': ortNodePart,
  teach: teachPart,
};

function printTable(adapter: string, part: Part, rows: Result[]): void {
  const ms = (x: number | null): string => (x === null ? '-' : x.toFixed(1));
  // The browser part's adapter is the page's, not Node's.
  console.log(`\n${part} (adapter: ${typeof rows[0]?.adapter === 'string' ? rows[0].adapter : adapter})`);
  console.log(`${pad('model', 18)} ${pad('engine', 14)} ${pad('batch', 6)} ${pad('median ms', 10)} ${pad('first run ms', 13)} ${pad('first pass ms', 14)} peak MiB`);
  for (const r of rows) {
    const mib = r.peakBytes === null ? '-' : (r.peakBytes / 2 ** 20).toFixed(1);
    const firstPass = typeof r.firstPassMs === 'number' ? r.firstPassMs : null;
    const engine = typeof r.precision === 'string' ? `${r.engine} ${r.precision}` : typeof r.quantization === 'string' ? `${r.engine} ${r.quantization}` : typeof r.tuning === 'string' ? `${r.engine} ${r.tuning}` : typeof r.deviceLoss === 'string' ? `${r.engine} ${r.deviceLoss}` : r.engine;
    console.log(
      `${pad(r.model, 18)} ${pad(engine, 14)} ${pad(String(r.batch), 6)} ${pad(ms(r.medianMs), 10)} ${pad(ms(r.firstRunMs), 13)} ${pad(ms(firstPass), 14)} ${mib}`,
    );
  }
}

/** The adapter's subgroup-matrix shapes: which the convolutions use, which failed their check. */
function describeSubgroupMatrices(ctx: GpuContext): string {
  const { used, rejected } = ctx.subgroupMatrices;
  if (!used.length && !rejected.length) return 'none offered';
  const parts = [used.length ? `used ${used.map(matrixConfigName).join(', ')}` : 'none used'];
  for (const r of rejected) parts.push(`rejected ${matrixConfigName(r.config)} (${r.reason})`);
  return parts.join('; ');
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  useSharedWeightsIfPresent();
  ensureRuntimeDir();
  const ctx = await GpuContext.create({ timestamps: o.parts.includes('kernels') || o.parts.includes('profile') });
  await verifySubgroupMatrices(ctx);
  try {
    const adapter = ctx.adapterInfo.name;
    console.log(`adapter: ${adapter}${o.quick ? ' (--quick)' : ''}`);
    console.log(`subgroup matrices: ${describeSubgroupMatrices(ctx)}`);
    const byPart: [Part, Result[]][] = [];
    for (const part of o.parts) {
      console.log(`\n== ${part}`);
      byPart.push([part, await PART_RUNNERS[part](ctx, o)]);
    }
    // Part teach prints its own figures (bench/run-teach.ts): it times nothing.
    for (const [part, rows] of byPart) if (part !== 'teach') printTable(adapter, part, rows);
    const browserRun = lastBrowserRun as BrowserRun | null;
    if (browserRun) {
      printBrowserColdStart(browserRun);
      printPhotoTable(browserRun);
      printTjsFolderTable(browserRun);
      for (const p of browserRun.profiles) printBrowserProfile(p, browserRun.rows.filter((r) => r.model === p.model));
    }
    writeReport(o.out, {
      adapter, subgroupMatrices: ctx.subgroupMatrices, date: new Date().toISOString(), quick: o.quick, settle: o.settle, peakTflopsF32: o.peakTflops,
      // The host: CPU figures are this machine's, under the load it had.
      host: { cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, loadAverage: loadavg(), threads: o.threads },
      results: byPart.flatMap(([, rows]) => rows),
      ...(browserRun?.profiles.length ? { browserProfiles: browserRun.profiles } : {}),
    });
  } finally {
    ctx.destroy();
  }
}

runIfMain(import.meta.url, main);
