// The browser benchmark's transformers.js-folder cases, in the page (bench/browser-page.ts calls
// runFolderCase; bench/tjs-folders.ts has the cases): one transformers.js folder served at
// /hub/<case>/, segmented from the same photo (decoded RGB in host memory) to a class map in host
// memory, by
//  - ours: loadModel('/hub/<case>/') (the folder's URL, as a page points at it), segment(photo);
//  - transformers: transformers.js' pipeline('image-segmentation', <case>, { device: 'webgpu',
//    dtype: 'fp32' }) from the local folder (env.localModelPath '/hub/', remote models off), on
//    a RawImage of the photo: its processor, the ONNX session, post_process_semantic_segmentation
//    and a mask per class found (turned into one class map, untimed);
//  - transformers-steps: the same steps by hand, where the pipeline maps no class for the model
//    type: AutoImageProcessor (which takes a processor type it does not know, BEiT's
//    BeitImageProcessor, as its base ImageProcessor, where the pipeline's AutoProcessor throws),
//    AutoModel (WebGPU, fp32) and transformers.js' one post_process_semantic_segmentation
//    (SegformerImageProcessor's), photo to class map.
// Before timing, each peer's network is checked against ours on the same input: transformers.js'
// own processor's pixel_values fed to its model and to our forwardToHost (in RGB order where the
// processor flips to BGR: our graph reverses them), the outputs compared (1e-4), and the class
// maps of the photo compared pixel by pixel.
import { argmaxAgreement, labelAgreement } from './agreement.js';
import { type PageEngineTimes, progress, timeInTurns } from './page-rounds.js';
import { transformersLibrary } from './transformers-peer.js';
import { loadModel } from '../src/browser/load.js';
import type { GpuContext } from '../src/gpu/context.js';
import type { ProgramProfile } from '../src/graph/profile.js';
import type { DeepLabModel } from '../src/model/model.js';
import { relativeError } from '../src/util/relative-error.js';

type Transformers = typeof import('@huggingface/transformers');
type TjsTensor = { data: unknown; dims: number[] };

/** The engines a folder case runs. */
export const FOLDER_ENGINES = ['ours', 'transformers', 'transformers-steps'] as const;
export type FolderEngine = (typeof FOLDER_ENGINES)[number];

export interface FolderCaseSpec {
  kind: 'tjs-folder';
  name: string;
  /** The folder's URL (ours); transformers.js reads the same files as model `name` under /hub/. */
  folder: string;
  /** The photo, RGB bytes, and its size. */
  photo: { url: string; width: number; height: number };
  /** The network's input size (the processor's). */
  size: number;
  /** The processor flips the channels to BGR. */
  bgr: boolean;
  warmup: number;
  repeats: number;
  engines: readonly string[];
  profile?: { repeats: number; timing?: ProgramProfile['timing'] };
}

/** Each engine's result (the output compared on the same pixel_values). */
export interface FolderEngineResult extends PageEngineTimes {
  engine: FolderEngine;
  /** Share of the photo's pixels given our class, each engine from the photo (null for ours). */
  labelAgreementVsOurs: number | null;
  /** ‖theirs − ours‖ / ‖ours‖ of the network input each makes of the photo (transformers.js' processor's pixel_values against our preprocessing; null for ours). */
  inputRelativeErrorVsOurs: number | null;
  /** The adapter the engine's device is on. */
  adapter?: string;
}

interface Opened {
  name: FolderEngine;
  /** Photo to class map; `labels` reads the class map (untimed). */
  run(): Promise<{ ms: number; labels: () => Uint8Array }>;
  /** The file's output [1,h,w,C] (NHWC) on transformers.js' pixel_values of the photo. */
  network(pv: TjsTensor): Promise<Float32Array>;
  dispose(): Promise<void> | void;
  loadMs: number;
  firstPassMs: number;
  firstLabels: Uint8Array;
  adapter: string;
}

const message = (e: unknown): string => (e instanceof Error ? e.message : String(e));
const describe = (info: GPUAdapterInfo | undefined): string =>
  info ? [info.vendor, info.architecture, info.device, info.description].filter(Boolean).join(' / ') || '(no adapter info)' : '(no adapter info)';

/** NCHW [1,C,h,w] as NHWC. */
function toNhwc(t: TjsTensor): Float32Array {
  const [, c, h, w] = t.dims;
  const x = t.data as Float32Array;
  const y = new Float32Array(x.length);
  for (let k = 0; k < c; k++) for (let p = 0; p < h * w; p++) y[p * c + k] = x[k * h * w + p];
  return y;
}

/** pixel_values as our NHWC input: in RGB order where the processor made BGR. */
function ourInput(pv: TjsTensor, bgr: boolean): Float32Array {
  const x = toNhwc(pv);
  return bgr ? Float32Array.from(x, (_, i) => x[i - (i % 3) + (2 - (i % 3))]) : x;
}

async function timedOpen(name: FolderEngine, open: () => Promise<Omit<Opened, 'name' | 'loadMs' | 'firstPassMs' | 'firstLabels'>>): Promise<Opened> {
  const t0 = performance.now();
  const e = await open();
  const loadMs = performance.now() - t0;
  try {
    const first = await e.run();
    return { ...e, name, loadMs, firstPassMs: first.ms, firstLabels: first.labels() };
  } catch (err) {
    await e.dispose();
    throw err;
  }
}

function openOurs(spec: FolderCaseSpec, ctx: GpuContext, photo: { width: number; height: number; data: Uint8Array }): Promise<Opened & { model: DeepLabModel }> {
  let model: DeepLabModel | undefined;
  return timedOpen('ours', async () => {
    const m = await loadModel(spec.folder, { ctx, name: spec.name, tune: 'off' });
    model = m;
    return {
      run: async () => {
        const t = performance.now();
        const r = await m.segment(photo);
        return { ms: performance.now() - t, labels: () => r.classes };
      },
      network: (pv) => m.forwardToHost(ourInput(pv, spec.bgr), spec.size, spec.size),
      dispose: () => m.dispose(),
      adapter: describe(ctx.adapter.info),
    };
  }).then((e) => ({ ...e, model: model! }));
}

/** The adapter of transformers.js' ONNX Runtime device (made with its first WebGPU session). */
async function tjsAdapter(t: Transformers): Promise<string> {
  const device = (await (t.env.backends.onnx as { webgpu?: { device?: Promise<GPUDevice> } }).webgpu?.device) as GPUDevice | undefined;
  return describe(device?.adapterInfo);
}

type Segmenter = ((image: unknown) => Promise<{ label: string | null; mask: { data: Uint8ClampedArray } }[]>) & {
  model: ((inputs: Record<string, unknown>) => Promise<Record<string, TjsTensor>>) & { config: { id2label: Record<string, string> } };
  dispose(): Promise<unknown>;
};

function openPipeline(spec: FolderCaseSpec, t: Transformers, raw: unknown): Promise<Opened> {
  return timedOpen('transformers', async () => {
    const seg = (await t.pipeline('image-segmentation', spec.name, { device: 'webgpu', dtype: 'fp32' })) as unknown as Segmenter;
    const ids = new Map(Object.entries(seg.model.config.id2label).map(([id, label]) => [label, Number(id)]));
    const { width, height } = spec.photo;
    return {
      run: async () => {
        const t0 = performance.now();
        const masks = await seg(raw);
        const ms = performance.now() - t0;
        // One mask per class found, 255 where the pixel is that class: one class map.
        const labels = () => {
          const out = new Uint8Array(width * height).fill(255);
          for (const { label, mask } of masks) {
            const id = ids.get(label ?? '');
            if (id === undefined) throw new Error(`transformers.js: a mask of label ${String(label)}, not one of config.json's`);
            for (let i = 0; i < out.length; i++) if (mask.data[i] === 255) out[i] = id;
          }
          return out;
        };
        return { ms, labels };
      },
      network: async (pv) => toNhwc((await seg.model({ pixel_values: pv })).logits),
      dispose: () => seg.dispose().then(() => undefined),
      adapter: await tjsAdapter(t),
    };
  });
}

function openSteps(spec: FolderCaseSpec, t: Transformers, raw: unknown): Promise<Opened> {
  return timedOpen('transformers-steps', async () => {
    const [processor, model] = await Promise.all([
      t.AutoImageProcessor.from_pretrained(spec.name),
      t.AutoModel.from_pretrained(spec.name, { device: 'webgpu', dtype: 'fp32' }),
    ]);
    const run = model as unknown as (inputs: Record<string, unknown>) => Promise<Record<string, TjsTensor>>;
    // transformers.js' only post_process_semantic_segmentation (its pipeline calls the same function).
    const post = t.SegformerImageProcessor.prototype.post_process_semantic_segmentation as unknown as (o: unknown, sizes: number[][]) => { segmentation: TjsTensor }[];
    const { width, height } = spec.photo;
    return {
      run: async () => {
        const t0 = performance.now();
        const inputs = await (processor as unknown as (image: unknown) => Promise<Record<string, unknown>>)(raw);
        const { segmentation } = post(await run(inputs), [[height, width]])[0];
        const ms = performance.now() - t0;
        return { ms, labels: () => Uint8Array.from(segmentation.data as Int32Array) };
      },
      network: async (pv) => toNhwc((await run({ pixel_values: pv })).logits),
      dispose: () => model.dispose().then(() => undefined),
      adapter: await tjsAdapter(t),
    };
  });
}

/**
 * One folder case: each engine made and run once on the photo (load, first pass), the peers'
 * networks and class maps checked against ours, `warmup` untimed rounds, `repeats` timed rounds
 * (round i led by engine i mod n); then our pass profiled if asked. An engine that fails is
 * reported with its error and left out of the rounds.
 */
export async function runFolderCase(spec: FolderCaseSpec, ctx: GpuContext): Promise<{ results: FolderEngineResult[]; profile: (ProgramProfile & { model: string; input: number[] }) | null }> {
  const rgb = new Uint8Array(await (await fetch(spec.photo.url)).arrayBuffer());
  const photo = { width: spec.photo.width, height: spec.photo.height, data: rgb };
  if (rgb.length !== photo.width * photo.height * 3) throw new Error(`bench page: ${spec.photo.url} holds ${rgb.length} bytes, not ${photo.width}x${photo.height} RGB`);
  const results = new Map<string, FolderEngineResult>();
  const failed = (engine: string, error: string) =>
    results.set(engine, {
      engine: engine as FolderEngine, firstRunMs: null, loadMs: null, firstPassMs: null, samplesMs: [], relativeErrorVsOurs: null, argmaxAgreementVsOurs: null, labelAgreementVsOurs: null,
      inputRelativeErrorVsOurs: null, error,
    });
  for (const e of spec.engines.filter((e) => !(FOLDER_ENGINES as readonly string[]).includes(e))) failed(e, `the transformers.js folder cases run ${FOLDER_ENGINES.join(', ')}`);
  const open: Opened[] = [];
  let ours: (Opened & { model: DeepLabModel }) | null = null;
  let profile = null;
  try {
    try {
      ours = await openOurs(spec, ctx, photo);
      open.push(ours);
    } catch (e) {
      failed('ours', message(e));
    }
    const t = spec.engines.some((e) => e.startsWith('transformers')) ? transformersLibrary() : null;
    const raw = t ? new t.RawImage(rgb, photo.width, photo.height, 3) : null;
    for (const [engine, opener] of [['transformers', openPipeline], ['transformers-steps', openSteps]] as const) {
      if (!spec.engines.includes(engine)) continue;
      try {
        open.push(await opener(spec, t!, raw));
      } catch (e) {
        failed(engine, message(e));
      }
    }
    // The networks on the same input: transformers.js' image processor's pixel_values of the photo.
    let pv: TjsTensor | null = null;
    if (t && ours && open.length > 1) {
      const processor = (await t.AutoImageProcessor.from_pretrained(spec.name)) as unknown as (image: unknown) => Promise<{ pixel_values: TjsTensor }>;
      pv = (await processor(raw)).pixel_values;
    }
    const oursOut = pv && ours ? await ours.network(pv) : null;
    // Where the class maps differ: the inputs each makes of the photo.
    const inputError = pv && ours ? relativeError(ourInput(pv, spec.bgr), ours.model.preprocess(photo).input) : null;
    for (const e of [...open]) {
      progress(`${spec.name}: ${e.name} first run ${(e.loadMs + e.firstPassMs).toFixed(0)} ms (load ${e.loadMs.toFixed(0)} ms)`);
      const theirs = e !== ours && oursOut ? await e.network(pv!) : null;
      if (theirs && oursOut && theirs.length !== oursOut.length) {
        failed(e.name, `its output holds ${theirs.length} values, ours ${oursOut.length}: not compared, not timed`);
        open.splice(open.indexOf(e), 1);
        await e.dispose();
        continue;
      }
      results.set(e.name, {
        engine: e.name,
        firstRunMs: e.loadMs + e.firstPassMs,
        loadMs: e.loadMs,
        firstPassMs: e.firstPassMs,
        samplesMs: [],
        relativeErrorVsOurs: theirs && oursOut ? relativeError(theirs, oursOut) : null,
        argmaxAgreementVsOurs: theirs && oursOut ? argmaxAgreement(theirs, oursOut, ours!.model.numClasses) : null,
        labelAgreementVsOurs: e !== ours && ours ? labelAgreement(e.firstLabels, ours.firstLabels) : null,
        inputRelativeErrorVsOurs: e !== ours ? inputError : null,
        adapter: e.adapter,
      });
    }
    // Ours is opened for the checks; it is timed where asked for.
    const timed = open.filter((e) => spec.engines.includes(e.name));
    await timeInTurns(timed, spec, (e, ms) => results.get(e.name)!.samplesMs.push(ms));
    if (spec.profile && ours) {
      progress(`${spec.name}: profiling ours, ${spec.profile.repeats} times each layer`);
      const { input, height, width } = ours.model.preprocess(photo);
      const p = await ours.model.profile(input, height, width, spec.profile.repeats, spec.profile.timing);
      profile = { ...p, model: spec.name, input: [1, height, width, 3] };
    }
  } finally {
    for (const e of open.reverse()) await e.dispose();
  }
  return { results: spec.engines.map((e) => results.get(e)!), profile };
}
