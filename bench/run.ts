// The benchmark runner: kernels (bench/kernels.ts), whole models (bench/model.ts) and training
// steps (bench/train.ts) on one GPU context, one table per part, one JSON report.
//
// Part precision: each model in f16 storage against f32 (bench/precision.ts).
// Part quantize: the MobileNetV2 models as int8 and f16 checkpoints against f32 (bench/quantize.ts).
// Part recovery: the training step with surviveDeviceLoss (the state read back after every step)
// against without, steps alternating (bench/train-recovery.ts).
// Part tune: each model untuned, the time tuning it takes, and tuned (src/graph/tune.ts); for
// the training models (mobilenetv2-257, resnet50) the same on a training step, whose tuning
// covers the backward kernels too. The choices stay stored, so parts after it in the same run
// (put model after tune) run tuned.
// Part ort-node: the model cases (our ONNX export), smp's DeepLabV3+ and the ONNX cases in ours
// and in onnxruntime-node, on its CPU provider or the first of --ort-providers that runs the file
// (bench/ort-node.ts).
// Part browser: ours, ONNX Runtime Web (WebGPU), TF.js (WebGPU) and LiteRT.js (WebGPU and
// WebAssembly, on the official .tflite) in one headless Chromium page (bench/browser.ts), at
// --browser-size or each case's own size, on SwiftShader or lavapipe (--browser-adapter), with
// our pass profiled layer by layer (--browser-profile).
//
//   npm run bench -- [--quick] [--parts tune,kernels,model,train,recovery,profile,precision,quantize,browser,ort-node] [--models NAME,...] [--repeats N] [--warmup N] [--warmup-budget SECONDS] [--batch N] [--crop N] [--tune-budget SECONDS] [--peak-tflops N] [--ort-providers cpu,webgpu,cuda]
//     [--browser-size N] [--browser-adapter swiftshader|lavapipe] [--browser-engines ours,ort,tfjs,litert-webgpu,litert-wasm] [--browser-warmup N] [--browser-profile] [--browser-profile-timing timestamps|host] [--out FILE]
import { verifySubgroupMatrices } from '../src/kernels/conv2d/gemm/matrix-check.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { BROWSER_ADAPTERS, type BrowserCase, type BrowserRun, benchBrowser } from './browser.js';
import { ENGINES } from './browser-page.js';
import { printBrowserColdStart, printBrowserProfile } from './browser-report.js';
import { benchArgs, pad, pickByName, runIfMain, writeReport } from './common.js';
import { LAYERS } from './kernel-layers.js';
import { OurTimer, benchKernels } from './kernels.js';
import { benchMemoryKernels } from './memory.js';
import { MAX_RELATIVE_ERROR, MODELS, ROOT, benchModel, importTfjs, useSharedWeightsIfPresent } from './model.js';
import { benchOursOnly, benchOursSideBySide } from './ours.js';
import { ORT_PROVIDERS, type OrtNodeSource, benchOrtNode } from './ort-node.js';
import { ONNX_BENCH_CASES, writeOnnxBenchFile } from './onnx-cases.js';
import { benchPrecision } from './precision.js';
import { benchQuantize } from './quantize.js';
import { bestGemmRate, printProfile, profileModel, rateLayer } from './profile.js';
import { describeWarmup, settleDefaults } from './settle.js';
import { benchTrainPeers, benchTrainTuned, printTrainProfile, profileTrainStep } from './train.js';
import { benchTrainRecovery } from './train-recovery.js';
import { torchTrainStep } from './torch-train.js';
import { compile } from '../src/graph/compile.js';
import { type TuneReport, tuneGraph } from '../src/graph/tune.js';
import { GpuContext } from '../src/gpu/context.js';
import { matrixConfigName } from '../src/gpu/kernel-limits.js';
import { ensureRuntimeDir } from '../src/gpu/runtime-dir.js';
import { readImage } from '../src/io/image.js';
import { type LoadedWeights, loadWeights } from '../src/model/loading/load-weights.js';
import { loadedNetwork } from '../src/model/loading/loaded-weights.js';
import { paperAsppRates } from '../src/model/networks/config.js';
import { defaultConfig } from '../src/model/backbones/config.js';
import { defaultClassSet } from '../src/model/voc.js';
import { adaptWeights, freshParams } from '../src/train/adapt.js';
import { writeSmpFolder } from '../test/model/smp-fixture.js';
import { sharedPath } from '../test/shared.js';

const BENCH = 'bench';
const PARTS = ['tune', 'kernels', 'model', 'train', 'recovery', 'profile', 'precision', 'quantize', 'browser', 'ort-node'] as const;
type Part = (typeof PARTS)[number];

/** One measurement: `model` is the layer's name in part kernels. Null where a part does not measure it. */
interface Result {
  part: Part;
  model: string;
  engine: 'ours' | 'ours-tuned' | 'tfjs' | 'pytorch' | 'ort' | 'ort-node' | 'transformers' | 'litert-webgpu' | 'litert-wasm';
  batch: number;
  /** Null where the part times nothing (quantize). */
  medianMs: number | null;
  firstRunMs: number | null;
  peakBytes: number | null;
  [more: string]: unknown;
}

/** torchvision's DeepLabv3-ResNet-50 with fresh (PyTorch-style) random weights, at `outputStride`, for `size` x `size` inputs. */
function randomResnet50(outputStride: number, size: number): LoadedWeights {
  const config = defaultConfig('resnet50', { outputStride, asppRates: paperAsppRates(outputStride) });
  const network = loadedNetwork(config);
  return {
    name: `deeplabv3-resnet50-os${outputStride}-random`,
    config,
    ...network,
    inputPolicy: { kind: 'fixed', height: size, width: size },
    params: freshParams(network.buildGraph({ height: 65, width: 65 }), 1),
    probeSize: [size, size],
    classes: defaultClassSet(config.numClasses),
  };
}

/**
 * Model part: the MobileNetV2 models and ResNet-50 at OS 16 against tfjs; ResNet-50 at OS 8 in
 * our engine alone (3.3x the multiply-adds: tfjs would take minutes a pass on lavapipe).
 */
const MODEL_CASES = [
  ...MODELS.map((mc) => ({ name: `mobilenetv2-${mc.key}`, mobilenet: mc, outputStride: 0, tfjs: true })),
  ...[16, 8].map((os) => ({ name: `resnet50-os${os}`, mobilenet: null, outputStride: os, tfjs: os === 16 })),
];

/** Train part, at output stride 16. */
const TRAIN_CASES: { name: string; weights: () => Promise<LoadedWeights> }[] = [
  {
    name: 'mobilenetv2-257',
    weights: async () => adaptWeights(await loadWeights('mobilenetv2-pascal-257', { download: false }), { outputStride: 16, seed: 1 }).weights,
  },
  { name: 'resnet50', weights: async () => randomResnet50(16, 513) },
];


/**
 * segmentation_models_pytorch's DeepLabV3+ (ResNet-34 and EfficientNet-B0 encoders) from the
 * PRNG folders of ../shared/fixtures/smp, at 512x512: what such a user runs today is ONNX Runtime
 * (Web in the page, onnxruntime-node in Node) on the ONNX export of the same weights.
 */
const SMP_CASES = [
  { name: 'smp-v3plus-resnet34', folder: 'deeplabv3plus-resnet34' },
  { name: 'smp-v3plus-efficientnet-b0', folder: 'deeplabv3plus-efficientnet-b0' },
].map((c) => ({ ...c, size: 512, weightsNote: `random (smp fixture ${c.folder})`, weights: () => smpFolderWeights(c.folder) }));

/** An smp fixture's weights, loaded from the folder its PRNG writes (removed once read). */
async function smpFolderWeights(folder: string): Promise<LoadedWeights> {
  const { dir } = writeSmpFolder(folder);
  try {
    return await loadWeights(dir, { download: false });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Browser part: the sizes are what SwiftShader (Chromium's CPU adapter) gets through in a few
 * minutes per model on 2 cores; on a GPU, --browser-size 513 runs them all at 513x513.
 */
const BROWSER_CASES: BrowserCase[] = [
  {
    name: 'mobilenetv2-257',
    size: 257,
    weightsNote: 'mobilenetv2-pascal-257',
    weights: () => loadWeights('mobilenetv2-pascal-257', { download: false }),
    // The file mobilenetv2-pascal-257 is read from, for LiteRT.js (its input is fixed at 257x257).
    tflite: { path: sharedPath('weights', 'deeplabv3_257_mv_gpu.tflite'), size: 257 },
  },
  { name: 'mobilenetv3-large', size: 97, weightsNote: 'random (torchvision fixture)', weights: () => loadWeights(sharedPath('fixtures', 'torchvision', 'deeplabv3_mobilenet_v3_large_random.pth'), { download: false }) },
  { name: 'resnet50-os16', size: 65, weightsNote: 'random', weights: async () => randomResnet50(16, 65) },
  // Hugging Face hub folders (random weights in the hub's layout, ../shared/fixtures/hf) at the
  // size their image processor crops to: transformers.js runs these beside ours.
  ...[
    { name: 'mobilevit-xx-small-hf', size: 512, folder: 'deeplabv3-mobilevit-xx-small' },
    { name: 'mobilenetv2-hf', size: 513, folder: 'deeplabv3_mobilenet_v2_1.0_513' },
  ].map(({ name, size, folder }): BrowserCase => {
    const hubFolder = sharedPath('fixtures', 'hf', folder);
    return { name, size, weightsNote: `random (hub fixture ${folder})`, hubFolder, weights: () => loadWeights(hubFolder, { download: false }) };
  }),
  ...SMP_CASES.map(({ name, size, weightsNote, weights }): BrowserCase => ({ name, size, weightsNote, weights })),
  // ONNX files the reference libraries' exporters wrote: ours and ORT on the same file.
  ...ONNX_BENCH_CASES.map((c): BrowserCase => ({ name: c.name, size: c.size, weightsNote: `test/fixtures/onnx/${c.fixture}`, onnx: c })),
];

function parseArgs(argv: string[]) {
  const args = benchArgs(BENCH, argv, ['--quick', '--browser-profile'], [
    '--parts', '--models', '--repeats', '--warmup', '--warmup-budget', '--batch', '--crop', '--tune-budget', '--peak-tflops', '--ort-providers',
    '--browser-size', '--browser-adapter', '--browser-engines', '--browser-warmup', '--browser-profile-timing', '--out',
  ]);
  const quick = args.has('--quick');
  const parts = pickByName(BENCH, 'part(s)', args.value('--parts'), PARTS, (p) => p);
  const names = [...new Set([...MODEL_CASES, ...TRAIN_CASES, ...BROWSER_CASES, ...SMP_CASES, ...ONNX_BENCH_CASES].map((c) => c.name))];
  const models = pickByName(BENCH, 'model(s)', args.value('--models'), names, (n) => n);
  const positive = (flag: string, dflt: number): number => {
    const v = args.count(flag, dflt);
    if (v < 1) throw new Error(`${BENCH}: ${flag} must be at least 1`);
    return v;
  };
  return {
    quick,
    parts,
    models,
    /** Kernels and MobileNetV2 models. */
    repeats: positive('--repeats', quick ? 2 : 5),
    /** ResNet-50 forward passes and training steps (slow on a software adapter). */
    heavyRepeats: positive('--repeats', quick ? 1 : 3),
    batch: positive('--batch', quick ? 2 : 8),
    crop: positive('--crop', quick ? 129 : 321),
    /** Timed rounds per model in part browser (every engine once a round). */
    browserRepeats: positive('--repeats', quick ? 1 : 3),
    /** Part browser's input size for every case (default: each case's own). */
    browserSize: args.value('--browser-size') === undefined ? null : positive('--browser-size', 0),
    /** Part browser's adapter. */
    browserAdapter: pickByName(BENCH, 'browser adapter', args.value('--browser-adapter') ?? 'swiftshader', BROWSER_ADAPTERS, (a) => a)[0],
    browserEngines: pickByName(BENCH, 'browser engine(s)', args.value('--browser-engines'), ENGINES, (e) => e),
    /** Untimed rounds before part browser's timed ones. */
    browserWarmup: args.count('--browser-warmup', 0),
    /** Our pass profiled layer by layer in part browser (each layer timed --repeats times). */
    browserProfile: args.has('--browser-profile') || args.value('--browser-profile-timing') !== undefined,
    browserProfileTiming: args.value('--browser-profile-timing') === undefined ? undefined : pickByName(BENCH, 'profile timing', args.value('--browser-profile-timing'), ['timestamps', 'host'] as const, (t) => t)[0],
    /** Warm-up before every timed measurement in Node (bench/settle.ts). */
    settle: settleDefaults({ quick, warmup: args.count('--warmup', 1), budgetSeconds: args.positive('--warmup-budget') }),
    /** Seconds of tuning per model (part tune) and per model and precision (part precision; 0: none, the class defaults). */
    tuneBudgetMs: args.count('--tune-budget', quick ? 20 : 60) * 1000,
    /** The GPU's f32 peak, TFLOP/s (--peak-tflops): never guessed, null where not given. */
    peakTflops: args.positive('--peak-tflops') ?? null,
    /** Part ort-node's execution providers, tried in turn: the first that takes the file is timed. */
    ortProviders: pickByName(BENCH, 'ORT execution provider(s)', args.value('--ort-providers') ?? 'cpu', ORT_PROVIDERS, (p) => p, true),
    image: sharedPath('data', 'voc-sample', 'JPEGImages', 'voc12val_0001.png'),
    out: resolve(args.value('--out') ?? join(ROOT, 'bench', 'results', 'bench.json')),
  };
}

type Options = ReturnType<typeof parseArgs>;

async function kernelsPart(ctx: GpuContext, o: Options): Promise<Result[]> {
  const r = await benchKernels(ctx, { quick: o.quick, repeats: o.repeats, settle: o.settle, layers: LAYERS, tfjs: true, peakTflops: o.peakTflops });
  const conv = r.rows.flatMap((row) =>
    (['ours', 'tfjs'] as const).flatMap((engine) => {
      const m = row[engine];
      const base = { part: 'kernels' as const, model: row.layer, engine, batch: 1, firstRunMs: null, peakBytes: null };
      return m ? [{ ...base, ...m, description: row.description, timing: r.method }] : [];
    }),
  );
  // Memory-bound kernels in GB/s, timed as the convolutions were.
  const timer = new OurTimer(ctx, ctx.hasTimestamps);
  try {
    const m = await benchMemoryKernels(ctx, (d) => timer.time(d), { repeats: o.repeats, settle: o.settle });
    const memory = m.rows.map(({ kernel, ...row }) => ({
      part: 'kernels' as const, model: kernel, engine: 'ours' as const, batch: 1, firstRunMs: null, peakBytes: null, ...row, copyGbps: m.copyGbps, timing: r.method,
    }));
    return [...conv, ...memory];
  } finally {
    timer.dispose();
  }
}

async function modelPart(ctx: GpuContext, o: Options): Promise<Result[]> {
  const results: Result[] = [];
  const withTfjs = MODEL_CASES.filter((c) => c.tfjs && o.models.includes(c.name));
  const tf = withTfjs.length ? await importTfjs(ctx) : null;
  for (const c of MODEL_CASES.filter((m) => o.models.includes(m.name))) {
    const base = { part: 'model' as const, model: c.name, batch: 1 };
    if (c.tfjs && tf) {
      const r = c.mobilenet
        ? await benchModel(ctx, tf, c.mobilenet, { quick: o.quick, repeats: o.repeats, settle: o.settle, image: o.image })
        : await benchModel(ctx, tf, { key: c.name, registryName: c.name }, { quick: o.quick, repeats: o.heavyRepeats, settle: o.settle, image: o.image }, randomResnet50(c.outputStride, 513));
      if (!(r.relativeErrorVsTfjs < MAX_RELATIVE_ERROR)) process.exitCode = 1;
      const common = { input: r.input, gflop: r.gflop, relativeErrorVsTfjs: r.relativeErrorVsTfjs, ...(c.mobilenet ? {} : { weights: 'random' }) };
      results.push(
        { ...base, engine: 'ours', ...r.ours, peakBytes: r.memory.oursActivationBytes, ...common },
        { ...base, engine: 'tfjs', ...r.tfjs, peakBytes: r.memory.tfjsActivationPeakBytes, ...common },
      );
    } else {
      const r = await benchOursOnly(ctx, randomResnet50(c.outputStride, 513), { quick: o.quick, repeats: o.heavyRepeats, settle: o.settle, image: o.image });
      results.push({ ...base, engine: 'ours', ...r.ours, peakBytes: r.activationBytes, input: r.input, gflop: r.gflop, weights: 'random' });
    }
  }
  return results;
}

/**
 * Train part: each training case's step, ours beside TF.js' WebGPU backend (their loss and
 * gradients compared first; a peer that disagrees is not timed) and PyTorch (bench/torch_peer.py,
 * where torch is importable, on the device a user would pick: CUDA on a GPU host, else the CPU).
 */
async function trainPart(ctx: GpuContext, o: Options): Promise<Result[]> {
  const results: Result[] = [];
  const tf = await importTfjs(ctx);
  for (const c of TRAIN_CASES.filter((t) => o.models.includes(t.name))) {
    const r = await benchTrainPeers(ctx, tf, await c.weights(), { batch: o.batch, crop: o.crop, repeats: o.heavyRepeats, settle: o.settle });
    const a = r.agreement;
    const agreed = a ? `TF.js vs ours: loss ${a.lossRelativeError.toExponential(1)}, gradients ${a.gradRelativeError.toExponential(1)} (worst ${a.worstGrad.name} ${a.worstGrad.relativeError.toExponential(1)})` : '';
    console.log(`train ${c.name}: ours ${r.ours.medianMs.toFixed(0)} ms` + (r.tfjs ? `, TF.js ${r.tfjs.medianMs.toFixed(0)} ms (${(r.tfjs.medianMs / r.ours.medianMs).toFixed(2)}x ours)` : `, TF.js not timed: ${r.tfjsError}`) + (agreed ? `; ${agreed}` : ''));
    const { activationBytes, model, ...rest } = r.ours;
    const common = { part: 'train' as const, model: c.name, batch: o.batch, crop: o.crop, outputStride: r.ours.outputStride, weights: model, dropout: false };
    results.push({ ...common, engine: 'ours', ...rest, peakBytes: activationBytes });
    results.push({
      ...common, engine: 'tfjs', medianMs: null, firstRunMs: null, samplesMs: [], ...r.tfjs, peakBytes: null,
      agreement: r.agreement, ...(r.tfjsError ? { error: r.tfjsError } : {}), ...(r.tfjs ? { overOurs: r.tfjs.medianMs / r.ours.medianMs } : {}),
    });
    const torch = torchTrainStep(c.name, { batch: o.batch, crop: o.crop, heavyRepeats: o.heavyRepeats, settle: o.settle });
    if ('error' in torch) console.log(`train ${c.name}: PyTorch not timed: ${torch.error}`);
    else console.log(`train ${c.name}: PyTorch (${torch.version}, ${torch.device}) ${torch.medianMs.toFixed(0)} ms`);
    results.push({ ...common, engine: 'pytorch', firstRunMs: null, peakBytes: null, medianMs: null, ...torch });
  }
  return results;
}

/**
 * Recovery part: what surviving a lost device costs each training case's step (Trainer's
 * surviveDeviceLoss, on by default in fineTune and `deeplab train`): the step without and with
 * the state's read-back, steps alternating, and the bytes read back per step.
 */
async function recoveryPart(ctx: GpuContext, o: Options): Promise<Result[]> {
  const results: Result[] = [];
  for (const c of TRAIN_CASES.filter((t) => o.models.includes(t.name))) {
    const r = await benchTrainRecovery(ctx, await c.weights(), { batch: o.batch, crop: o.crop, repeats: o.heavyRepeats, settle: o.settle });
    const ratio = r.on.medianMs / r.off.medianMs;
    console.log(
      `recovery ${c.name}: step ${r.off.medianMs.toFixed(0)} ms without, ${r.on.medianMs.toFixed(0)} ms with the read-back ` +
        `(${ratio.toFixed(3)}x; per round ${r.pairedRatio.toFixed(3)}x; steps alternating); ${(r.readBackBytes / 2 ** 20).toFixed(1)} MiB read back per step in ${r.readBackMs.toFixed(0)} ms`,
    );
    const common = { part: 'recovery' as const, model: c.name, engine: 'ours' as const, batch: o.batch, crop: o.crop, firstRunMs: null, peakBytes: r.activationBytes, dropout: false };
    results.push(
      { ...common, ...r.off, deviceLoss: 'fail', readBackBytes: 0 },
      { ...common, ...r.on, deviceLoss: 'recover', readBackBytes: r.readBackBytes, readBackMs: r.readBackMs, readBackSamplesMs: r.readBackSamplesMs, overOff: ratio, pairedRatio: r.pairedRatio },
    );
  }
  return results;
}

/** Profile part: per-layer GPU times of each model's forward pass (bench/profile.ts), printed as it goes. */
async function profilePart(ctx: GpuContext, o: Options): Promise<Result[]> {
  if (!ctx.hasTimestamps) {
    console.log('profile: skipped, the adapter has no timestamp queries');
    return [];
  }
  const best = await bestGemmRate(ctx, o.repeats, o.settle);
  console.log(`best GEMM rate: ${best.gflops.toFixed(0)} GFLOP/s (our conv on ${best.layer})`);
  const img = await readImage(o.image);
  const results: Result[] = [];
  for (const c of MODEL_CASES.filter((m) => o.models.includes(m.name))) {
    const weights = c.mobilenet ? await loadWeights(c.mobilenet.registryName, { download: false }) : randomResnet50(c.outputStride, 513);
    const p = await profileModel(ctx, weights, img, { repeats: c.mobilenet ? o.repeats : o.heavyRepeats, settle: o.settle, bestGflops: best.gflops, peakTflops: o.peakTflops });
    printProfile(p, best.gflops);
    results.push({
      part: 'profile', model: c.name, engine: 'ours', batch: 1, ...p.run, firstRunMs: null, peakBytes: null,
      passMs: p.passMs, layersMs: p.layersMs, gflop: p.gflop, bestGemmGflops: best.gflops, fractionOfBest: p.fractionOfBest, peakTflopsF32: o.peakTflops,
      byOp: p.byOp, layers: p.layers, image: p.image, segmentMs: p.segmentMs, segmentP25Ms: p.segment.p25Ms, segmentP75Ms: p.segment.p75Ms, preprocessMs: p.preprocessMs, hostMs: p.hostMs,
    });
  }
  // Training steps, layer by layer: forward, loss, backward and accumulation (bench/train.ts).
  for (const c of TRAIN_CASES.filter((t) => o.models.includes(t.name))) {
    const p = await profileTrainStep(ctx, await c.weights(), { batch: o.batch, crop: o.crop, repeats: o.heavyRepeats, settle: o.settle });
    printTrainProfile(c.name, p);
    results.push({
      part: 'profile', model: `train-${c.name}`, engine: 'ours', batch: o.batch, crop: o.crop, medianMs: null, firstRunMs: null, peakBytes: null,
      passMs: p.passMs, layersMs: p.layersMs, byPhase: p.byPhase, backwardByOp: p.backwardByOp, slowestBackward: p.slowestBackward, layers: p.layers.map((l) => rateLayer(l, o.peakTflops)),
    });
  }
  return results;
}

/**
 * Precision part: each model in f16 and f32 storage (adapters with shader-f16), each tuned before
 * it is timed (part tune tunes f32 programs only); the MobileNetV2
 * models (real weights) also on the VOC sample: agreement with f32 and mIoU.
 */
async function precisionPart(ctx: GpuContext, o: Options): Promise<Result[]> {
  if (!ctx.hasHalf) {
    console.log('precision: skipped, the adapter has no shader-f16');
    return [];
  }
  const vocDir = sharedPath('data', 'voc-sample');
  const results: Result[] = [];
  for (const c of MODEL_CASES.filter((m) => o.models.includes(m.name))) {
    const weights = c.mobilenet ? await loadWeights(c.mobilenet.registryName, { download: false }) : randomResnet50(c.outputStride, 513);
    const repeats = c.mobilenet ? o.repeats : o.heavyRepeats;
    const rows = await benchPrecision(ctx, weights, { quick: o.quick, repeats, settle: o.settle, image: o.image, vocDir: c.mobilenet ? vocDir : undefined, tuneBudgetMs: o.tuneBudgetMs });
    const [single, half] = rows;
    const pct = (x: number | null) => (x === null ? '-' : (100 * x).toFixed(3) + ' %');
    console.log(
      `${c.name}: f16 ${half.speed.ours.medianMs.toFixed(1)} ms vs f32 ${single.speed.ours.medianMs.toFixed(1)} ms ` +
        `(${(single.speed.ours.medianMs / half.speed.ours.medianMs).toFixed(2)}x); activations ${(half.speed.activationBytes / 2 ** 20).toFixed(1)} vs ` +
        `${(single.speed.activationBytes / 2 ** 20).toFixed(1)} MiB` +
        (half.mIoU === null ? '' : `; VOC sample: ${pct(half.agreementWithF32)} of pixels as f32, mIoU ${half.mIoU.toFixed(2)} vs ${single.mIoU!.toFixed(2)}`) +
        `; warm-up ${describeWarmup(half.speed.ours)} rounds; ` +
        (o.tuneBudgetMs === 0 ? 'both untuned (the class defaults)' : `both tuned first (${rows.map((r) => `${r.precision}: ${r.tuning!.tuned.length} shapes timed, ${r.tuning!.cached} stored${r.tuning!.skipped ? `, ${r.tuning!.skipped} left by the budget` : ''}`).join('; ')})`),
    );
    for (const r of rows) {
      results.push({
        part: 'precision', model: c.name, engine: 'ours', batch: 1, ...r.speed.ours, peakBytes: r.speed.activationBytes,
        precision: r.precision, mIoU: r.mIoU, agreementWithF32: r.agreementWithF32, tuningMs: r.tuning?.ms ?? null, shapesTuned: r.tuning?.tuned.length ?? 0, shapesCached: r.tuning?.cached ?? 0, shapesLeft: r.tuning?.skipped ?? null, weights: c.mobilenet ? c.mobilenet.registryName : 'random',
      });
    }
  }
  return results;
}

/**
 * Quantize part: the MobileNetV2 models (real weights) saved as f32, int8 and f16 checkpoints and
 * loaded back: file sizes, and on the VOC sample agreement with f32 and mIoU. Nothing is timed.
 */
async function quantizePart(ctx: GpuContext, o: Options): Promise<Result[]> {
  const vocDir = sharedPath('data', 'voc-sample');
  const results: Result[] = [];
  for (const c of MODEL_CASES.filter((m) => m.mobilenet && o.models.includes(m.name))) {
    const rows = await benchQuantize(ctx, await caseWeights(c), vocDir);
    for (const r of rows) {
      const pct = r.agreementWithF32 === null ? '' : `, ${(100 * r.agreementWithF32).toFixed(3)} % of pixels as f32`;
      console.log(`${c.name} ${r.quantization}: ${(r.fileBytes / 2 ** 20).toFixed(2)} MiB, VOC-sample mIoU ${r.mIoU.toFixed(2)}${pct}`);
      results.push({ part: 'quantize', model: c.name, engine: 'ours', batch: 1, medianMs: null, firstRunMs: null, peakBytes: null, ...r });
    }
  }
  return results;
}

/** A model case's weights: the registry's MobileNetV2, or ResNet-50 with random weights. */
async function caseWeights(c: (typeof MODEL_CASES)[number]): Promise<LoadedWeights> {
  return c.mobilenet ? loadWeights(c.mobilenet.registryName, { download: false }) : randomResnet50(c.outputStride, 513);
}

/**
 * Tune part: each model compiled with the adapter class's defaults (tuning off), then every
 * layer shape timed again on this adapter (what `deeplab tune` does, within --tune-budget
 * seconds), then compiled with the choices just made; the two programs' runs alternate. The
 * choices stay stored for the rest of the run.
 */
async function tunePart(ctx: GpuContext, o: Options): Promise<Result[]> {
  const results: Result[] = [];
  const mode = ctx.tuning.mode;
  try {
    for (const c of MODEL_CASES.filter((m) => o.models.includes(m.name))) {
      const weights = await caseWeights(c);
      const bench = { quick: o.quick, repeats: c.mobilenet ? o.repeats : o.heavyRepeats, settle: o.settle, image: o.image };
      await ctx.tuning.setMode('off');
      let report: TuneReport | null = null;
      const r = await benchOursSideBySide(ctx, weights, bench, async ({ height, width }) => {
        await ctx.tuning.setMode('cached');
        report = await tuneGraph(ctx, compile(weights.buildGraph({ batch: 1, height, width }), { mode: 'inference' }).graph, { budgetMs: o.tuneBudgetMs, retune: true });
      });
      const t = report as TuneReport | null;
      if (!t) throw new Error(`${c.name}: tuning did not run`);
      const [a, b] = [r.a.ours, r.b.ours];
      console.log(
        `${c.name}: untuned ${a.medianMs.toFixed(1)} ms, tuned ${b.medianMs.toFixed(1)} ms ` +
          `(${(a.medianMs / b.medianMs).toFixed(2)}x, runs alternating, warm-up ${describeWarmup(a)}); tuning ${(t.ms / 1000).toFixed(1)} s for ${t.tuned.length} layer shapes` +
          (t.skipped ? `, ${t.skipped} left untuned by the budget` : ''),
      );
      results.push(
        { part: 'tune', model: c.name, engine: 'ours', batch: 1, ...a, peakBytes: null, tuning: 'off' },
        { part: 'tune', model: c.name, engine: 'ours', batch: 1, ...b, peakBytes: null, tuning: 'tuned', tuningMs: t.ms, shapesTuned: t.tuned.length, shapesLeft: t.skipped },
      );
    }
    // Training steps: the same on the step's graph (forward, loss, backward kernels).
    for (const c of TRAIN_CASES.filter((t) => o.models.includes(t.name))) {
      const r = await benchTrainTuned(ctx, await c.weights(), { batch: o.batch, crop: o.crop, repeats: o.heavyRepeats, settle: o.settle }, (graph) =>
        tuneGraph(ctx, graph, { budgetMs: o.tuneBudgetMs, retune: true }),
      );
      const t = r.report;
      const backward = t.tuned.filter((l) => l.kernel === 'conv2d_input_grad' || l.kernel === 'conv2d_weight_grad').length;
      console.log(
        `train ${c.name}: step untuned ${r.untuned.medianMs.toFixed(0)} ms, tuned ${r.tuned.medianMs.toFixed(0)} ms (${(r.untuned.medianMs / r.tuned.medianMs).toFixed(2)}x, steps alternating); ` +
          `tuning ${(t.ms / 1000).toFixed(1)} s for ${t.tuned.length} layer shapes (${backward} backward)` + (t.skipped ? `, ${t.skipped} left untuned by the budget` : ''),
      );
      const common = { part: 'tune' as const, model: `train-${c.name}`, engine: 'ours' as const, batch: o.batch, crop: o.crop, firstRunMs: null, peakBytes: null };
      results.push(
        { ...common, ...r.untuned, tuning: 'off' },
        { ...common, ...r.tuned, tuning: 'tuned', tuningMs: t.ms, shapesTuned: t.tuned.length, backwardShapesTuned: backward, shapesLeft: t.skipped },
      );
    }
  } finally {
    await ctx.tuning.setMode(mode);
  }
  return results;
}

/**
 * Browser part: each case in one headless Chromium page, our engine, ONNX Runtime Web, TF.js
 * and LiteRT.js on the page's adapter (bench/browser.ts); logits compared with ours. Peers that
 * fail are recorded with their error; our engine failing, or a peer's logits off by 1e-4 or
 * more, makes the run exit 1. With --browser-profile, our pass layer by layer (one row per case,
 * engine 'ours', part 'browser-profile' in the report's `browserProfiles`).
 */
async function browserPart(_ctx: GpuContext, o: Options): Promise<Result[]> {
  const cases = BROWSER_CASES.filter((c) => o.models.includes(c.name)).map((c) => (o.browserSize ? { ...c, size: o.browserSize } : c));
  const run = await benchBrowser(cases, {
    repeats: o.browserRepeats,
    warmup: o.browserWarmup,
    image: o.image,
    engines: o.browserEngines,
    adapter: o.browserAdapter,
    profile: o.browserProfile ? { repeats: o.heavyRepeats, timing: o.browserProfileTiming } : undefined,
  });
  lastBrowserRun = run;
  const seen = new Set<string>();
  for (const m of run.pageMessages) if (!seen.has(m) && seen.add(m)) console.log(`browser page: ${m}`);
  const browser = {
    chromium: run.chromium, flags: run.flags, pageAdapter: run.adapter, versions: run.versions, ortStartMs: run.start.ortStartMs,
    litertStartMs: run.start.litertStartMs, litert: run.start.litert, warmup: o.browserWarmup,
  };
  return run.rows.map(({ engine, ...r }) => {
    const bad = engine === 'ours' ? r.error !== undefined : r.relativeErrorVsOurs !== null && !(r.relativeErrorVsOurs < MAX_RELATIVE_ERROR);
    if (bad) process.exitCode = 1;
    return { part: 'browser', engine, batch: 1, peakBytes: null, ...r, adapter: run.start.adapters[engine], browser };
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
  const cases: { name: string; size: number; weightsNote: string; source: (dir: string) => Promise<OrtNodeSource> }[] = [
    ...MODEL_CASES.filter((c) => c.tfjs).map((c) => ({
      name: c.name, size: c.mobilenet?.key === '257' ? 257 : 513, weightsNote: c.mobilenet ? c.mobilenet.registryName : 'random', source: async () => ({ weights: await caseWeights(c) }),
    })),
    ...SMP_CASES.map((c) => ({ ...c, source: async () => ({ weights: await c.weights() }) })),
    ...ONNX_BENCH_CASES.map((c) => ({ name: c.name, size: c.size, weightsNote: `test/fixtures/onnx/${c.fixture}`, source: async (dir: string) => ({ file: writeOnnxBenchFile(c, dir) }) })),
  ];
  for (const c of cases.filter((m) => o.models.includes(m.name))) {
    const dir = mkdtempSync(join(tmpdir(), 'deeplab-ort-node-'));
    let r: Awaited<ReturnType<typeof benchOrtNode>>;
    try {
      r = await benchOrtNode(ctx, await c.source(dir), { size: o.browserSize ?? c.size, repeats: o.heavyRepeats, settle: o.settle, image: o.image, providers: o.ortProviders });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const ratio = r.ort ? ` (${(r.ort.medianMs / r.ours.medianMs).toFixed(2)}x ours)` : '';
    console.log(`ort-node ${c.name}: ours ${r.ours.medianMs.toFixed(0)} ms, onnxruntime-node ${r.ort ? `(${r.ortProvider}) ${r.ort.medianMs.toFixed(0)} ms${ratio}` : `not timed: ${r.error}`}`);
    if (r.relativeError === null || !(r.relativeError < MAX_RELATIVE_ERROR)) process.exitCode = 1;
    const common = { part: 'ort-node' as const, model: c.name, batch: 1, peakBytes: null, input: r.input, weights: c.weightsNote, relativeErrorVsOurs: r.relativeError };
    results.push({ ...common, engine: 'ours', ...r.ours });
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
    for (const [part, rows] of byPart) printTable(adapter, part, rows);
    const browserRun = lastBrowserRun as BrowserRun | null;
    if (browserRun) {
      printBrowserColdStart(browserRun);
      for (const p of browserRun.profiles) printBrowserProfile(p, browserRun.rows.filter((r) => r.model === p.model));
    }
    writeReport(o.out, {
      adapter, subgroupMatrices: ctx.subgroupMatrices, date: new Date().toISOString(), quick: o.quick, settle: o.settle, peakTflopsF32: o.peakTflops,
      results: byPart.flatMap(([, rows]) => rows),
      ...(browserRun?.profiles.length ? { browserProfiles: browserRun.profiles } : {}),
    });
  } finally {
    ctx.destroy();
  }
}

runIfMain(import.meta.url, main);
