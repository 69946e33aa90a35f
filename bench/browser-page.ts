// The browser benchmark's page script (bundled to dist/bench-page/bench-page.js by
// scripts/build-browser.mjs; bench/browser.ts serves and drives it). In one page, on the
// page's WebGPU adapter, three engines run one model case each in turn:
//  - ours: the checkpoint loaded with loadModel, DeepLabModel.forwardToHost;
//  - ort: ONNX Runtime Web's WebGPU execution provider on the ONNX file we exported;
//  - tfjs: TensorFlow.js' WebGPU backend running the graph our model compiles (bench/tfjs-graph.ts,
//    the Node bench's interpreter) on the parameters our model holds.
// Every time is wall time from the normalised input in host memory to the logits in host memory.
// ONNX Runtime and TF.js are the page's script files (window.tf; ORT imported from /ort/).
import { argmaxAgreement } from './agreement.js';
import { TfjsGraph, type Tfjs, freshTfjsBackend } from './tfjs-graph.js';
import { loadModel } from '../src/browser/load.js';
import { GpuContext } from '../src/gpu/context.js';
import { deriveStateCpu } from '../src/graph/cpu-reference.js';
import type { DeepLabModel } from '../src/model/model.js';
import { relativeError } from '../src/util/relative-error.js';

type Ort = typeof import('onnxruntime-web');

export const ENGINES = ['ours', 'ort', 'tfjs'] as const;
export type EngineName = (typeof ENGINES)[number];

/** One model case, as the Node side prepared it: URLs of its files and its input size. */
export interface CaseSpec {
  name: string;
  /** Our checkpoint (.safetensors) of the weights the ONNX file holds. */
  checkpoint: string;
  onnx: string;
  /** The normalised input, float32 NHWC [1,H,W,3]. */
  input: string;
  height: number;
  width: number;
  classes: number;
  /** Untimed runs of each engine after its first run. */
  warmup: number;
  repeats: number;
  engines: EngineName[];
}

export interface EngineResult {
  engine: EngineName;
  /** Making the engine's model from the file's bytes (or our graph), compiling, and its first pass. */
  firstRunMs: number | null;
  /** The first pass alone. */
  firstPassMs: number | null;
  samplesMs: number[];
  /** ‖theirs − ours‖ / ‖ours‖ of the first pass's logits (null for ours). */
  relativeErrorVsOurs: number | null;
  /** Share of pixels whose argmax class is ours (null for ours). */
  argmaxAgreementVsOurs: number | null;
  /** Why the engine did not run this case. */
  error?: string;
}

export interface StartInfo {
  adapters: Record<EngineName, string>;
  versions: { ort: string; tfjs: string };
  crossOriginIsolated: boolean;
  /** ORT's WebAssembly runtime and WebGPU device started (a session created and released), ms. */
  ortStartMs: number;
}

interface HostRun {
  ms: number;
  out: Float32Array;
}

/** One engine opened on a case: a timed run, and how to let go of it. */
interface OpenEngine {
  name: EngineName;
  run(): Promise<HostRun>;
  dispose(): Promise<void> | void;
  firstRunMs: number;
  firstPassMs: number;
  /** Logits of the first pass, NHWC. */
  firstOut: Float32Array;
}

let ctx: GpuContext | null = null;
let ort: Ort | null = null;

const tfjs = (): Tfjs => {
  const tf = (globalThis as unknown as { tf?: Tfjs }).tf;
  if (!tf) throw new Error('bench page: TensorFlow.js is not loaded (window.tf is missing)');
  return tf;
};

async function fetchBytes(url: string): Promise<ArrayBuffer> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`bench page: ${url}: HTTP ${response.status}`);
  return response.arrayBuffer();
}

const describe = (info: GPUAdapterInfo | undefined): string =>
  info ? [info.vendor, info.architecture, info.device, info.description].filter(Boolean).join(' / ') || '(no adapter info)' : '(no adapter info)';

/**
 * Starts the three runtimes: our GPU context, ORT's (its WebAssembly module and WebGPU device,
 * by creating and releasing a session on `warmOnnx`: ORT starts them with its first session) and
 * TF.js' WebGPU backend; returns the adapter each one got.
 */
export async function start(warmOnnx: string): Promise<StartInfo> {
  ctx = await GpuContext.create();
  const ortUrl = '/ort/ort.webgpu.min.mjs'; // a variable: the compiler is not to resolve it
  ort = (await import(ortUrl)) as Ort;
  ort.env.wasm.wasmPaths = '/ort/';
  const t0 = performance.now();
  const warm = await ort.InferenceSession.create(await fetchBytes(warmOnnx), { executionProviders: ['webgpu'] });
  await warm.release();
  const ortStartMs = performance.now() - t0;
  const ortDevice = await ort.env.webgpu.device;
  const tf = tfjs();
  await freshTfjsBackend(tf);
  const tfDevice = (tf.backend() as unknown as { device?: GPUDevice }).device;
  return {
    adapters: { ours: describe(ctx.adapter.info), ort: describe(ortDevice.adapterInfo), tfjs: describe(tfDevice?.adapterInfo) },
    versions: { ort: ort.env.versions.web ?? ort.env.versions.common, tfjs: tf.version_core },
    crossOriginIsolated: globalThis.crossOriginIsolated === true,
    ortStartMs,
  };
}

/** NHWC [1,H,W,C] <-> NCHW [1,C,H,W]. */
function transpose(x: Float32Array, height: number, width: number, channels: number, toNchw: boolean): Float32Array {
  const y = new Float32Array(x.length);
  const hw = height * width;
  for (let p = 0; p < hw; p++) {
    for (let c = 0; c < channels; c++) {
      if (toNchw) y[c * hw + p] = x[p * channels + c];
      else y[p * channels + c] = x[c * hw + p];
    }
  }
  return y;
}

/** Times `open` (making the engine) and its first run; a failure to open is the caller's. */
async function opened(name: EngineName, open: () => Promise<{ run: () => Promise<HostRun>; dispose: () => Promise<void> | void }>): Promise<OpenEngine> {
  const t0 = performance.now();
  const e = await open();
  try {
    const first = await e.run();
    return { name, run: e.run, dispose: e.dispose, firstRunMs: performance.now() - t0, firstPassMs: first.ms, firstOut: first.out };
  } catch (err) {
    await e.dispose();
    throw err;
  }
}

function openOurs(spec: CaseSpec, bytes: ArrayBuffer, input: Float32Array): Promise<OpenEngine & { model: DeepLabModel }> {
  let model: DeepLabModel | undefined;
  return opened('ours', async () => {
    const m = await loadModel(bytes, { ctx: ctx!, name: spec.name });
    model = m;
    return {
      run: async () => {
        const t = performance.now();
        const out = await m.forwardToHost(input, spec.height, spec.width);
        return { ms: performance.now() - t, out };
      },
      dispose: () => m.dispose(),
    };
  }).then((e) => ({ ...e, model: model! }));
}

function openOrt(spec: CaseSpec, bytes: ArrayBuffer, input: Float32Array): Promise<OpenEngine> {
  const o = ort!;
  const nchw = transpose(input, spec.height, spec.width, 3, true); // the ONNX file's layout, made once
  return opened('ort', async () => {
    const session = await o.InferenceSession.create(bytes, { executionProviders: ['webgpu'] });
    return {
      run: async () => {
        const t = performance.now();
        const result = await session.run({ image: new o.Tensor('float32', nchw, [1, 3, spec.height, spec.width]) });
        const logits = (await result.logits.getData()) as Float32Array;
        const ms = performance.now() - t;
        return { ms, out: transpose(logits, spec.height, spec.width, spec.classes, false) };
      },
      dispose: () => session.release(),
    };
  });
}

/** TF.js on the graph `model` compiles and the parameters it holds (folded on the CPU, untimed, as in the Node bench). */
async function openTfjs(spec: CaseSpec, model: DeepLabModel, input: Float32Array): Promise<OpenEngine> {
  const tf = tfjs();
  const compiled = model.compiledGraph({ height: spec.height, width: spec.width });
  const params = deriveStateCpu(compiled, await model.parameters());
  await freshTfjsBackend(tf);
  return opened('tfjs', async () => {
    const net = new TfjsGraph(tf, compiled.graph, params);
    return {
      run: async () => {
        const t = performance.now();
        const x = tf.tensor4d(input, [1, spec.height, spec.width, 3]);
        try {
          const y = net.run(x);
          try {
            const out = (await y.data()) as Float32Array;
            return { ms: performance.now() - t, out };
          } finally {
            y.dispose();
          }
        } finally {
          x.dispose();
        }
      },
      dispose: () => net.dispose(),
    };
  });
}

const message = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/** A progress line for the Node side, which prints the page's console.info lines starting with 'bench: '. */
const progress = (line: string): void => console.info(`bench: ${line}`);

/**
 * One model case: each engine made and run once (first run), the logits compared with ours,
 * `warmup` untimed rounds, then `repeats` timed rounds with the engines taking turns to lead.
 * An engine that fails is reported with its error and left out of the rounds.
 */
export async function runCase(spec: CaseSpec): Promise<EngineResult[]> {
  if (!ctx || !ort) throw new Error('bench page: start() first');
  const input = new Float32Array(await fetchBytes(spec.input));
  if (input.length !== spec.height * spec.width * 3) throw new Error(`bench page: ${spec.input} holds ${input.length} floats, not 1x${spec.height}x${spec.width}x3`);
  const results = new Map<EngineName, EngineResult>();
  const open: OpenEngine[] = [];
  const failed = (engine: EngineName, error: string) =>
    results.set(engine, { engine, firstRunMs: null, firstPassMs: null, samplesMs: [], relativeErrorVsOurs: null, argmaxAgreementVsOurs: null, error });
  try {
    let ours: (OpenEngine & { model: DeepLabModel }) | null = null;
    if (spec.engines.includes('ours') || spec.engines.includes('tfjs')) {
      try {
        ours = await openOurs(spec, await fetchBytes(spec.checkpoint), input);
        open.push(ours);
      } catch (e) {
        failed('ours', message(e));
      }
    }
    if (spec.engines.includes('ort')) {
      try {
        open.push(await openOrt(spec, await fetchBytes(spec.onnx), input));
      } catch (e) {
        failed('ort', message(e));
      }
    }
    if (spec.engines.includes('tfjs')) {
      try {
        if (!ours) throw new Error('TF.js runs the graph our model compiles, and ours did not load');
        open.push(await openTfjs(spec, ours.model, input));
      } catch (e) {
        failed('tfjs', message(e));
      }
    }
    const reference = ours?.firstOut ?? null;
    for (const e of open) progress(`${spec.name}: ${e.name} first run ${e.firstRunMs.toFixed(0)} ms`);
    for (const e of open) {
      const vsOurs = e.name !== 'ours' && reference !== null;
      results.set(e.name, {
        engine: e.name,
        firstRunMs: e.firstRunMs,
        firstPassMs: e.firstPassMs,
        samplesMs: [],
        relativeErrorVsOurs: vsOurs ? relativeError(e.firstOut, reference) : null,
        argmaxAgreementVsOurs: vsOurs ? argmaxAgreement(e.firstOut, reference, spec.classes) : null,
      });
    }
    const timed = open.filter((e) => spec.engines.includes(e.name));
    for (let i = 0; i < spec.warmup; i++) for (const e of timed) await e.run();
    for (let i = 0; i < spec.repeats; i++) {
      progress(`${spec.name}: round ${i + 1} of ${spec.repeats}`);
      // Round i starts with engine i mod n: drift on a shared machine falls on all alike.
      for (let k = 0; k < timed.length; k++) {
        const e = timed[(i + k) % timed.length];
        results.get(e.name)!.samplesMs.push((await e.run()).ms);
      }
    }
  } finally {
    for (const e of open.reverse()) await e.dispose();
  }
  return spec.engines.map((e) => results.get(e)!);
}

/** Lets go of our GPU context (the page is closed after this). */
export function stop(): void {
  ctx?.destroy();
  ctx = null;
}

(globalThis as unknown as { browserBench: unknown }).browserBench = { start, runCase, stop };
