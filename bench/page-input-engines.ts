// The browser benchmark's engines on the network's input, in the page: each opened on a model case
// (its load and first run timed), then run in turns by the page (bench/browser-page.ts). Ours
// through DeepLabModel.forwardToHost, untuned and tuned; ONNX Runtime Web on WebGPU and on
// WebAssembly; TF.js on WebGPU and WebAssembly running the graph ours compiles; transformers.js;
// LiteRT.js on WebGPU and WebAssembly.
import { TfjsGraph, freshTfjsBackend } from './tfjs-graph.js';
import { openTransformersModel } from './transformers-peer.js';
import type { CaseSpec, EngineName, InputEngine } from './page-protocol.js';
import { ctx, fetchBytes, litert, ort, ortWasm, tfjs } from './page-runtimes.js';
import { loadModel } from '../src/browser/load.js';
import { GpuContext } from '../src/gpu/context.js';
import { deriveStateCpu } from '../src/graph/cpu-reference.js';
import type { DeepLabModel } from '../src/model/model.js';

/** LiteRT.js' two accelerators, as its engines name them. */
const LITERT_ACCELERATOR = { 'litert-webgpu': 'webgpu', 'litert-wasm': 'wasm' } as const;
type LiteRtEngine = keyof typeof LITERT_ACCELERATOR;

interface HostRun {
  ms: number;
  out: Float32Array;
}

/** One engine opened on a case: a timed run, and how to let go of it. */
export interface OpenEngine {
  name: EngineName;
  run(): Promise<HostRun>;
  dispose(): Promise<void> | void;
  firstRunMs: number;
  loadMs: number;
  firstPassMs: number;
  /** Logits of the first pass, NHWC. */
  firstOut: Float32Array;
  fullyAccelerated?: boolean;
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

interface MadeEngine {
  run: () => Promise<HostRun>;
  dispose: () => Promise<void> | void;
  fullyAccelerated?: boolean;
}

/** Times `open` (making the engine) and its first run; a failure to open is the caller's. */
async function opened(name: EngineName, open: () => Promise<MadeEngine>): Promise<OpenEngine> {
  const t0 = performance.now();
  const e = await open();
  const loadMs = performance.now() - t0;
  try {
    const first = await e.run();
    return { name, run: e.run, dispose: e.dispose, firstRunMs: performance.now() - t0, loadMs, firstPassMs: first.ms, firstOut: first.out, fullyAccelerated: e.fullyAccelerated };
  } catch (err) {
    await e.dispose();
    throw err;
  }
}

export function openOurs(spec: CaseSpec, bytes: ArrayBuffer, input: Float32Array): Promise<OpenEngine & { model: DeepLabModel }> {
  let model: DeepLabModel | undefined;
  return opened('ours', async () => {
    const m = await loadModel(bytes, { ctx: ctx!, name: spec.name, tune: 'off' });
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

/**
 * Ours tuned in the page as a user would: loadModel with tune 'full' on a context of its own (its
 * default budget; its load includes the tuning, whose choices go to this page's IndexedDB).
 */
async function openOursTuned(spec: CaseSpec, bytes: ArrayBuffer, input: Float32Array): Promise<OpenEngine> {
  const tunedCtx = await GpuContext.create({ tune: 'full' });
  try {
    return await opened('ours-tuned', async () => {
      const m = await loadModel(bytes, { ctx: tunedCtx, name: spec.name, tune: 'full' });
      return {
        run: async () => {
          const t = performance.now();
          const out = await m.forwardToHost(input, spec.height, spec.width);
          return { ms: performance.now() - t, out };
        },
        dispose: () => {
          m.dispose();
          tunedCtx.destroy();
        },
      };
    });
  } catch (e) {
    tunedCtx.destroy();
    throw e;
  }
}

/** ONNX Runtime Web on the ONNX file: `ort` on its WebGPU build's WebGPU EP, `ort-wasm` on its WebAssembly build's wasm EP. */
function openOrt(engine: 'ort' | 'ort-wasm', spec: CaseSpec, bytes: ArrayBuffer, input: Float32Array): Promise<OpenEngine> {
  const o = engine === 'ort' ? ort : ortWasm;
  if (!o) throw new Error(`${engine === 'ort' ? 'ORT' : "ORT's WebAssembly build"} was not started`);
  const nchw = transpose(input, spec.height, spec.width, 3, true); // the ONNX file's layout, made once
  return opened(engine, async () => {
    const session = await o.InferenceSession.create(bytes, { executionProviders: [engine === 'ort' ? 'webgpu' : 'wasm'] });
    return {
      run: async () => {
        const t = performance.now();
        const result = await session.run({ [spec.onnxNames.input]: new o.Tensor('float32', nchw, [1, 3, spec.height, spec.width]) });
        const logits = (await result[spec.onnxNames.output].getData()) as Float32Array;
        const ms = performance.now() - t;
        return { ms, out: transpose(logits, spec.height, spec.width, spec.classes, false) };
      },
      dispose: () => session.release(),
    };
  });
}

function openTransformers(spec: CaseSpec, input: Float32Array): Promise<OpenEngine> {
  const nchw = transpose(input, spec.height, spec.width, 3, true);
  return opened('transformers', async () => {
    const model = await openTransformersModel(spec.name);
    return {
      run: async () => {
        const t = performance.now();
        const logits = await model.run(nchw, spec.height, spec.width);
        const ms = performance.now() - t;
        return { ms, out: transpose(logits, spec.height, spec.width, spec.classes, false) };
      },
      dispose: () => model.dispose(),
    };
  });
}

/**
 * TF.js on the graph `model` compiles and the parameters it holds (folded on the CPU, untimed, as
 * in the Node bench), on its WebGPU backend (`tfjs`) or its WebAssembly backend (`tfjs-wasm`). TF.js
 * has one backend at a time and keeps a tensor on the backend it was made on: each engine's
 * parameters are made on its own backend, and each run switches to it before its clock starts. A
 * fresh WebGPU backend resets TF.js' engine (every backend, and every tensor on them), so `tfjs`
 * opens before `tfjs-wasm` (INPUT_ENGINES' order).
 */
async function openTfjs(engine: 'tfjs' | 'tfjs-wasm', spec: CaseSpec, model: DeepLabModel, input: Float32Array): Promise<OpenEngine> {
  const tf = tfjs();
  const backend = engine === 'tfjs' ? 'webgpu' : 'wasm';
  const compiled = model.compiledGraph({ height: spec.height, width: spec.width });
  const params = deriveStateCpu(compiled, await model.parameters());
  if (engine === 'tfjs') await freshTfjsBackend(tf);
  else if (!(await tf.setBackend('wasm'))) throw new Error('TensorFlow.js could not start its WebAssembly backend');
  return opened(engine, async () => {
    const net = new TfjsGraph(tf, compiled.graph, params);
    return {
      run: async () => {
        if (tf.getBackend() !== backend) await tf.setBackend(backend);
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

/** LiteRT.js on the .tflite's bytes, on `engine`'s accelerator; its input and output must be the case's NHWC shapes. */
function openLiteRt(engine: LiteRtEngine, spec: CaseSpec, bytes: ArrayBuffer, input: Float32Array): Promise<OpenEngine> {
  const lr = litert!;
  return opened(engine, async () => {
    const compiled = await lr.loadAndCompile(new Uint8Array(bytes), { accelerator: LITERT_ACCELERATOR[engine] });
    try {
      const shape = (d: readonly { shape: Int32Array }[]) => (d.length === 1 ? [...d[0].shape].join('x') : `${d.length} tensors`);
      const [ins, outs] = [shape(compiled.getInputDetails()), shape(compiled.getOutputDetails())];
      const [wantIn, wantOut] = [`1x${spec.height}x${spec.width}x3`, `1x${spec.height}x${spec.width}x${spec.classes}`];
      if (ins !== wantIn || outs !== wantOut) throw new Error(`the .tflite takes ${ins} and gives ${outs}; the case is ${wantIn} -> ${wantOut}`);
    } catch (e) {
      compiled.delete();
      throw e;
    }
    return {
      fullyAccelerated: compiled.isFullyAccelerated,
      run: async () => {
        const t = performance.now();
        const x = new lr.Tensor(input, [1, spec.height, spec.width, 3]);
        try {
          const outputs = await compiled.run(x);
          try {
            const out = (await outputs[0].data()) as Float32Array;
            return { ms: performance.now() - t, out };
          } finally {
            for (const o of outputs) o.delete();
          }
        } finally {
          x.delete();
        }
      },
      dispose: () => compiled.delete(),
    };
  });
}

/** What an input engine is opened with: the case, its input, and ours (opened first: TF.js runs the graph our model compiles). */
export interface InputCase {
  spec: CaseSpec;
  input: Float32Array;
  ours: (OpenEngine & { model: DeepLabModel }) | null;
}

/** How each input engine but ours opens on a case; one that cannot run the case throws why. */
export const INPUT_OPENERS: Record<Exclude<InputEngine, 'ours'>, (c: InputCase) => Promise<OpenEngine>> = {
  'ours-tuned': async ({ spec, input }) => openOursTuned(spec, await fetchBytes(spec.checkpoint), input),
  ort: async ({ spec, input }) => openOrt('ort', spec, await fetchBytes(spec.onnx), input),
  'ort-wasm': async ({ spec, input }) => openOrt('ort-wasm', spec, await fetchBytes(spec.onnx), input),
  tfjs: ({ spec, input, ours }) => openTfjs('tfjs', spec, oursModel(ours, 'TF.js'), input),
  'tfjs-wasm': ({ spec, input, ours }) => openTfjs('tfjs-wasm', spec, oursModel(ours, 'TF.js'), input),
  transformers: async ({ spec, input }) => {
    if (!spec.hub) throw new Error('not a Hugging Face hub model');
    return openTransformers(spec, input);
  },
  'transformers-steps': async () => {
    throw new Error('only for the transformers.js folder cases');
  },
  'litert-webgpu': (c) => openLiteRtOnCase('litert-webgpu', c),
  'litert-wasm': (c) => openLiteRtOnCase('litert-wasm', c),
};

function oursModel(ours: InputCase['ours'], who: string): DeepLabModel {
  if (!ours) throw new Error(`${who} runs the graph our model compiles, and ours did not load`);
  return ours.model;
}

async function openLiteRtOnCase(engine: LiteRtEngine, { spec, input }: InputCase): Promise<OpenEngine> {
  if (!litert) throw new Error('LiteRT.js was not started');
  if (!('url' in spec.tflite)) throw new Error(spec.tflite.unavailable);
  return openLiteRt(engine, spec, await fetchBytes(spec.tflite.url), input);
}
