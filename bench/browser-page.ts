// The browser benchmark's page script (bundled to dist/bench-page/bench-page.js by
// scripts/build-browser.mjs; bench/browser.ts serves and drives it). In one page, on the
// page's WebGPU adapter, the engines run one model case each in turn:
//  - ours: the checkpoint loaded with loadModel, untuned (the adapter class's defaults), DeepLabModel.forwardToHost;
//  - ours-tuned: the same, loaded with tune 'full' (its load includes tuning in the page);
//  - ort: ONNX Runtime Web's WebGPU execution provider on the ONNX file we exported;
//  - ort-wasm: ONNX Runtime Web's WebAssembly build (ort.wasm.min.mjs: SIMD, threads where the page
//    is cross-origin isolated, as many as navigator.hardwareConcurrency) on the same file;
//  - tfjs: TensorFlow.js' WebGPU backend running the graph our model compiles (bench/tfjs-graph.ts,
//    the Node bench's interpreter) on the parameters our model holds;
//  - tfjs-wasm: the same graph on TF.js' WebAssembly backend (XNNPACK; SIMD, threads as ort-wasm);
//  - transformers: transformers.js' AutoModel on WebGPU, on a local hub folder holding the ONNX
//    file we exported (bench/transformers-peer.ts), where the case is a Hugging Face hub model;
//  - transformers-steps: on the transformers.js-folder cases only (bench/tjs-folder-page.ts, which
//    runs those cases: ours and transformers.js' image-segmentation pipeline, photo to class map);
//  - litert-webgpu, litert-wasm: LiteRT.js (@litertjs/core) on the official .tflite file, on
//    WebGPU and on WebAssembly (XNNPACK, one thread), where the case has one at its size;
//  - the photo engines (bench/photo-engines.ts: ours through segment(), MediaPipe Tasks'
//    ImageSegmenter on its CPU and GPU delegates), timed from the decoded photo to its class map.
// Every other time is wall time from the normalised input in host memory to the logits in host
// memory. ONNX Runtime, TF.js, LiteRT.js and MediaPipe are the page's script files (window.tf and
// window.tf.wasm; ORT imported from /ort/, LiteRT.js from /litert/ through the page's import map,
// MediaPipe from /mediapipe/).
import { argmaxAgreement, labelAgreement } from './agreement.js';
import { type OpenPhotoEngine, PHOTO_ENGINES, PHOTO_ENGINE_NAMES, type PhotoCase, type PhotoEngineName, isPhotoEngine, openPhotoEngine } from './photo-engines.js';
import { type FolderCaseSpec, runFolderCase } from './tjs-folder-page.js';
import { progress, timeInTurns } from './page-rounds.js';
import { type CaseProfile, type CaseSpec, type EngineName, type EngineResult, INPUT_ENGINES } from './page-protocol.js';
import { ctx, fetchBytes, start, startedRuntimes, startedThreads, stop } from './page-runtimes.js';
import { INPUT_OPENERS, type OpenEngine, openOurs } from './page-input-engines.js';
import type { DeepLabModel } from '../src/model/model.js';
import { relativeError } from '../src/util/relative-error.js';

const message = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/** The photo engines' case: the photo decoded, the files they open on, and the class maps they are compared with. */
async function photoCase(spec: CaseSpec): Promise<{ photo: ImageBitmap; files: PhotoCase; tfliteClasses: Uint8Array | null }> {
  const p = spec.photo;
  if (!p) throw new Error('bench page: a photo engine asked for, and the case has no photo');
  // Decoded once, before any timing: what a page has once an <img> has loaded.
  const photo = await createImageBitmap(new Blob([await fetchBytes(p.url)]));
  if (photo.width !== p.width || photo.height !== p.height) throw new Error(`bench page: ${p.url} decodes to ${photo.width}x${photo.height}, not ${p.width}x${p.height}`);
  const tfliteClasses = p.tfliteClasses ? new Uint8Array(await fetchBytes(p.tfliteClasses)) : null;
  if (tfliteClasses && tfliteClasses.length !== p.width * p.height) throw new Error(`bench page: ${p.tfliteClasses} holds ${tfliteClasses.length} pixels, not ${p.width}x${p.height}`);
  const files: PhotoCase = {
    name: spec.name,
    checkpoint: await fetchBytes(spec.checkpoint),
    tfliteWithMetadata: 'url' in spec.tfliteWithMetadata ? await fetchBytes(spec.tfliteWithMetadata.url) : spec.tfliteWithMetadata,
  };
  return { photo, files, tfliteClasses };
}

/**
 * One model case: each engine made and run once (first run), the input engines' logits compared
 * with ours and the photo engines' class maps with ours (segment() of the same photo) and with
 * TF Lite's; `warmup` untimed rounds, then `repeats` timed rounds with the engines taking turns to
 * lead; then, if asked, our pass profiled layer by layer. An engine that fails is reported with
 * its error and left out of the rounds.
 */
export async function runCase(spec: CaseSpec | FolderCaseSpec): Promise<{ results: EngineResult[]; profile: CaseProfile | null }> {
  if (!ctx) throw new Error('bench page: start() first');
  if ('kind' in spec) return runFolderCase(spec, ctx);
  const input = new Float32Array(await fetchBytes(spec.input));
  if (input.length !== spec.height * spec.width * 3) throw new Error(`bench page: ${spec.input} holds ${input.length} floats, not 1x${spec.height}x${spec.width}x3`);
  const results = new Map<EngineName, EngineResult>();
  const open: OpenEngine[] = [];
  const openPhoto: OpenPhotoEngine[] = [];
  const failed = (engine: EngineName, error: string) =>
    results.set(engine, { engine, firstRunMs: null, loadMs: null, firstPassMs: null, samplesMs: [], relativeErrorVsOurs: null, argmaxAgreementVsOurs: null, error });
  const photoEngines = spec.engines.filter(isPhotoEngine);
  let profile: CaseProfile | null = null;
  let photo: ImageBitmap | null = null;
  try {
    let ours: (OpenEngine & { model: DeepLabModel }) | null = null;
    // Ours is the reference: opened when timed, for TF.js (which runs its graph), for the profile,
    // and for the photo engines' check unless ours-segment gives it (then ours-segment, which opens
    // after it and would find its shaders compiled, is cold: a run of the photo engines alone
    // times ours' cold start from the photo).
    const oursNeeded = ['ours', 'tfjs', 'tfjs-wasm'].some((e) => spec.engines.includes(e as EngineName)) || spec.profile;
    if (oursNeeded || (photoEngines.length && !photoEngines.includes('ours-segment'))) {
      try {
        ours = await openOurs(spec, await fetchBytes(spec.checkpoint), input);
        open.push(ours);
      } catch (e) {
        failed('ours', message(e));
      }
    }
    for (const engine of INPUT_ENGINES) {
      if (engine === 'ours' || !spec.engines.includes(engine)) continue;
      try {
        open.push(await INPUT_OPENERS[engine]({ spec, input, ours }));
      } catch (e) {
        failed(engine, message(e));
      }
    }
    let tfliteClasses: Uint8Array | null = null;
    if (photoEngines.length) {
      const p = await photoCase(spec);
      photo = p.photo;
      tfliteClasses = p.tfliteClasses;
      for (const engine of PHOTO_ENGINE_NAMES.filter((e) => photoEngines.includes(e))) {
        try {
          openPhoto.push(await openPhotoEngine(engine, PHOTO_ENGINES[engine], p.files, p.photo));
        } catch (e) {
          failed(engine, message(e));
        }
      }
    }
    const reference = ours?.firstOut ?? null;
    for (const e of open) progress(`${spec.name}: ${e.name} first run ${e.firstRunMs.toFixed(0)} ms (load ${e.loadMs.toFixed(0)} ms)`);
    for (const e of open) {
      const vsOurs = e.name !== 'ours' && reference !== null;
      results.set(e.name, {
        engine: e.name,
        firstRunMs: e.firstRunMs,
        loadMs: e.loadMs,
        firstPassMs: e.firstPassMs,
        samplesMs: [],
        relativeErrorVsOurs: vsOurs ? relativeError(e.firstOut, reference) : null,
        argmaxAgreementVsOurs: vsOurs ? argmaxAgreement(e.firstOut, reference, spec.classes) : null,
        ...(e.fullyAccelerated === undefined ? {} : { fullyAccelerated: e.fullyAccelerated }),
        ...(startedThreads[e.name] === undefined ? {} : { threads: startedThreads[e.name] }),
      });
    }
    // The photo engines against ours on the same photo (segment(), untimed unless ours-segment ran) and against TF Lite's class map.
    const oursClasses = openPhoto.find((e) => e.name === 'ours-segment')?.firstClasses ?? (ours && photo && openPhoto.length ? (await ours.model.segment(photo)).classes : null);
    for (const e of openPhoto) {
      const name = e.name as PhotoEngineName;
      progress(`${spec.name}: ${name} first run ${(e.loadMs + e.firstPassMs).toFixed(0)} ms (load ${e.loadMs.toFixed(0)} ms)`);
      results.set(name, {
        engine: name,
        firstRunMs: e.loadMs + e.firstPassMs,
        loadMs: e.loadMs,
        firstPassMs: e.firstPassMs,
        coldStartMs: (startedRuntimes[name] ?? 0) + e.loadMs + e.firstPassMs,
        samplesMs: [],
        relativeErrorVsOurs: null,
        argmaxAgreementVsOurs: null,
        photo: [photo!.height, photo!.width],
        labelAgreementVsOurs: name !== 'ours-segment' && oursClasses ? labelAgreement(e.firstClasses, oursClasses) : null,
        labelAgreementVsTflite: tfliteClasses ? labelAgreement(e.firstClasses, tfliteClasses) : null,
        adapter: e.adapter,
        ...(startedThreads[name] === undefined ? {} : { threads: startedThreads[name] }),
      });
    }
    const timed = [...open.filter((e) => spec.engines.includes(e.name)), ...openPhoto];
    await timeInTurns(timed, spec, (e, ms) => results.get(e.name as EngineName)!.samplesMs.push(ms));
    if (spec.profile && ours) {
      progress(`${spec.name}: profiling ours, ${spec.profile.repeats} times each layer`);
      const p = await ours.model.profile(input, spec.height, spec.width, spec.profile.repeats, spec.profile.timing);
      profile = { ...p, model: spec.name, input: [1, spec.height, spec.width, 3] };
    }
  } finally {
    for (const e of [...open, ...openPhoto].reverse()) await e.dispose();
    photo?.close();
  }
  return { results: spec.engines.map((e) => results.get(e)!), profile };
}

(globalThis as unknown as { browserBench: unknown }).browserBench = { start, runCase, stop };
