// The runner's parts, its rows and its options (bench/run.ts): one place for what every part
// module reads.
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { BROWSER_ADAPTERS } from './browser.js';
import { ENGINES, type EngineName } from './page-protocol.js';
import { benchArgs, pickByName } from './common.js';
import { ROOT } from './model.js';
import { ORT_PROVIDERS } from './ort-node.js';
import { ONNX_BENCH_CASES } from './onnx-cases.js';
import { settleDefaults } from './settle.js';
import { sharedPath } from '../test/shared.js';
import { BROWSER_CASES, MODEL_CASES, SMP_CASES, TRAIN_CASES } from './cases.js';
import { TEACH_CASES } from './teach.js';
import type { FineTuneOptions } from '../src/train/fine-tune.js';

const BENCH = 'bench';
const PARTS = ['tune', 'kernels', 'model', 'train', 'recovery', 'profile', 'precision', 'quantize', 'browser', 'ort-node', 'teach'] as const;
export type Part = (typeof PARTS)[number];

/** One measurement: `model` is the layer's name in part kernels. Null where a part does not measure it. */
export interface Result {
  part: Part;
  model: string;
  /** A browser engine (bench/browser-page.ts' ENGINES), PyTorch, onnxruntime-node, or ours on the CPU device in Node. */
  engine: EngineName | 'pytorch' | 'ort-node' | 'ours-cpu';
  batch: number;
  /** Null where the part times nothing (quantize). */
  medianMs: number | null;
  firstRunMs: number | null;
  peakBytes: number | null;
  [more: string]: unknown;
}

export function parseArgs(argv: string[]) {
  const args = benchArgs(BENCH, argv, ['--quick', '--browser-profile', '--cpu-only', '--gpu-only'], [
    '--parts', '--models', '--repeats', '--warmup', '--warmup-budget', '--batch', '--crop', '--tune-budget', '--peak-tflops', '--ort-providers',
    '--browser-size', '--browser-adapter', '--browser-engines', '--browser-warmup', '--browser-profile-timing', '--threads', '--out',
    '--teach-cases', '--teach-options', '--teach-images', '--teach-ids', '--teach-val', '--teach-radius',
  ]);
  const quick = args.has('--quick');
  if (args.has('--cpu-only') && args.has('--gpu-only')) throw new Error(`${BENCH}: --cpu-only and --gpu-only leave part train nothing to time: give one`);
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
    /** The photo part browser's transformers.js-folder cases segment whole (the one test/fixtures/hub-onnx's photos are cut from). */
    photo: sharedPath('data', 'voc-sample', 'JPEGImages', '2007_000033.jpg'),
    /** Threads of part train's CPU engines (ours on the CPU, PyTorch on the CPU), the same for both (default: the host's). */
    threads: positive('--threads', availableParallelism()),
    /** Part train: only the CPU engines (ours on the CPU device, PyTorch on the CPU), not WebGPU's. */
    cpuOnly: args.has('--cpu-only'),
    /** Part train: only the GPU engines (ours on WebGPU, TF.js, PyTorch on CUDA): a lent GPU's minutes go to them. */
    gpuOnly: args.has('--gpu-only'),
    /** Part teach's cases (bench/teach.ts), fineTune options over the recipe's (JSON), images a case, the VOC images by id (null: the first), CamVid val images the new class is scored on, the brush radius of scribbles and clicks (null: the patterns' own). */
    teachCases: pickByName(BENCH, 'teach case(s)', args.value('--teach-cases'), TEACH_CASES, (c) => c.name),
    teachOverrides: teachOverrides(args.value('--teach-options')),
    teachImages: args.count('--teach-images', quick ? 3 : 10),
    teachIds: args.value('--teach-ids')?.split(',') ?? null,
    teachVal: args.value('--teach-val') === undefined ? (quick ? 10 : null) : positive('--teach-val', 0),
    teachRadius: args.value('--teach-radius') === undefined ? null : positive('--teach-radius', 0),
    out: resolve(args.value('--out') ?? join(ROOT, 'bench', 'results', 'bench.json')),
  };
}

/** --teach-options: fineTune's options as a JSON object. */
function teachOverrides(text: string | undefined): Partial<FineTuneOptions> {
  if (text === undefined) return {};
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new Error(`${BENCH}: --teach-options must be a JSON object of fineTune options: ${(e as Error).message}`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error(`${BENCH}: --teach-options must be a JSON object of fineTune options, got ${text}`);
  return v as Partial<FineTuneOptions>;
}

export type Options = ReturnType<typeof parseArgs>;
