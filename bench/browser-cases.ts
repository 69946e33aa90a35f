// The browser benchmark's model cases, prepared on the Node side (bench/browser.ts): each case's
// checkpoint, ONNX export, network input, .tflite (with metadata for MediaPipe) and photo written
// to the run's folder, and the spec the page runs it by (bench/page-protocol.ts).
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import type { CaseProfile, CaseSpec, EngineName } from './page-protocol.js';
import { isPhotoEngine } from './photo-engines.js';
import { addTfliteMetadata, segmenterMetadata } from '../src/io/tflite-metadata.js';
import { type OnnxBenchCase, writeOnnxBenchFile } from './onnx-cases.js';
import type { TjsFolderCase } from './tjs-folders.js';
import { compile } from '../src/graph/compile.js';
import { readImage } from '../src/io/image.js';
import { inputNormalization } from '../src/io/input-normalization.js';
import { readIndexedPng } from '../src/io/png-indexed.js';
import { normalizeImagenet, normalizeToMinusOneOne, normalizeToUnit, resizeRgbPil } from '../src/io/resize-cpu.js';
import { graphCost } from '../src/model/analysis/flops.js';
import { type LoadedWeights, loadWeights, saveCheckpoint } from '../src/model/loading/load-weights.js';
import { exportOnnx } from '../src/model/onnx-export.js';

export interface BrowserCase {
  name: string;
  /** Square input size (the ONNX graph is fixed at it). */
  size: number;
  /** Where the weights come from, for the report. */
  weightsNote: string;
  /** Our weights, from which our checkpoint and the ONNX export are written (not for an `onnx` case). */
  weights?: () => Promise<LoadedWeights>;
  /**
   * An ONNX file a reference library's exporter wrote (bench/onnx-cases.ts): ours loads that file
   * and ORT runs the same file, instead of our checkpoint and our export.
   */
  onnx?: OnnxBenchCase;
  /**
   * The official .tflite of these weights (for LiteRT.js, and with metadata added for MediaPipe)
   * and the one input size it takes; `classes`, a folder of TF Lite's own class maps of photos
   * (`<photo>_pred_full.png`, indexed PNG at the photo's size: its interpreter's logits resized to
   * the photo, TF half-pixel bilinear, then argmax), against which the photo engines are checked.
   */
  tflite?: { path: string; size: number; classes?: string };
  /**
   * A .tflite that carries its own metadata (ours: `deeplab export --format tflite`), given to
   * MediaPipe as it is, in place of the official one with the bench's metadata added.
   */
  mediapipeTflite?: string;
  /**
   * The Hugging Face hub folder these weights were read from (config.json,
   * preprocessor_config.json): transformers.js runs them from a local hub folder made of those
   * two files and our ONNX export as onnx/model.onnx.
   */
  hubFolder?: string;
  /**
   * A transformers.js folder (bench/tjs-folders.ts): ours loads it by URL and transformers.js'
   * image-segmentation pipeline runs it, both from the photo to a class map (bench/tjs-folder-page.ts).
   */
  tjsFolder?: TjsFolderCase;
}

/** What preparing a case reads of the run's options (bench/browser.ts' BrowserOptions). */
export interface CaseOptions {
  repeats: number;
  warmup: number;
  image: string;
  /** The photo the transformers.js-folder cases and the photo engines segment whole (default `image`). */
  photo?: string;
  engines: EngineName[];
  /** Profile our pass layer by layer in each case, after its rounds. */
  profile?: { repeats: number; timing?: CaseProfile['timing'] };
  /** Progress lines (default console.log). */
  log?: (line: string) => void;
}

/** The normalised network input for `image` at size x size, as the model's own preprocessing makes it (NHWC). */
async function caseInput(w: LoadedWeights, image: string, size: number): Promise<Float32Array> {
  const img = await readImage(image);
  const resized = img.width === size && img.height === size ? img : resizeRgbPil(img, size, size);
  if (w.config.normalization === 'imagenet') return normalizeImagenet(resized);
  return w.config.normalization === 'unit' ? normalizeToUnit(resized) : normalizeToMinusOneOne(resized);
}

const mib = (path: string): string => `${(statSync(path).size / 2 ** 20).toFixed(1)} MiB`;

/**
 * The photo engines' photo: the file itself (the page decodes it) and its size, and TF Lite's class
 * map of it from `classes` (c.tflite.classes) where that folder has one, as raw bytes.
 */
async function preparePhoto(path: string, classes: string | undefined, dir: string, files: Map<string, string>): Promise<NonNullable<CaseSpec['photo']>> {
  const img = await readImage(path);
  const url = `/models/photo${extname(path).toLowerCase()}`;
  files.set(url, path);
  const png = classes ? join(classes, `${basename(path, extname(path))}_pred_full.png`) : null;
  if (!png || !existsSync(png)) return { url, width: img.width, height: img.height, tfliteClasses: null };
  const map = readIndexedPng(readFileSync(png), png);
  if (map.width !== img.width || map.height !== img.height) throw new Error(`bench browser: ${png} is ${map.width}x${map.height}, the photo ${img.width}x${img.height}`);
  const raw = join(dir, 'photo.tflite-classes.u8');
  writeFileSync(raw, map.indices);
  files.set('/models/photo.tflite-classes.u8', raw);
  return { url, width: img.width, height: img.height, tfliteClasses: '/models/photo.tflite-classes.u8' };
}

/**
 * Writes each case's files into `dir` and returns the page's spec for it (the URLs under
 * /models/ added to `files`) and its GFLOP.
 */
export async function prepareCase(c: BrowserCase, dir: string, files: Map<string, string>, o: CaseOptions): Promise<{ spec: CaseSpec; gflop: number }> {
  // An ONNX case: one file, the exporter's, for ours and ORT alike (its weights embedded).
  const file = c.onnx ? writeOnnxBenchFile(c.onnx, dir) : null;
  if (!file && !c.weights) throw new Error(`bench browser: case ${c.name} has neither weights nor an ONNX file`);
  const loaded = file ? await loadWeights(file.path, { download: false, mean: file.mean, std: file.std }) : await c.weights!();
  // Fixed at the case's size: our model compiles at it when it loads, as the ONNX graph is fixed at it.
  const w: LoadedWeights = { ...loaded, inputPolicy: { kind: 'fixed', height: c.size, width: c.size }, probeSize: [c.size, c.size] };
  const paths = file
    ? { checkpoint: file.path, onnx: file.path, input: join(dir, `${c.name}.input.f32`) }
    : { checkpoint: join(dir, `${c.name}.safetensors`), onnx: join(dir, `${c.name}.onnx`), input: join(dir, `${c.name}.input.f32`) };
  const { engines } = o;
  // Only ORT and transformers.js read the ONNX file (a few seconds to write at 257x257).
  const hub = engines.includes('transformers') && c.hubFolder !== undefined;
  const withOnnx = engines.includes('ort') || engines.includes('ort-wasm') || hub;
  if (!file) {
    if (withOnnx) exportOnnx(paths.onnx, w, { height: c.size, width: c.size, source: c.weightsNote });
    saveCheckpoint(paths.checkpoint, w);
  }
  const input = await caseInput(w, o.image, c.size);
  writeFileSync(paths.input, new Uint8Array(input.buffer, input.byteOffset, input.byteLength));
  const urls = file
    ? { checkpoint: `/models/${c.name}.onnx`, onnx: `/models/${c.name}.onnx`, input: `/models/${c.name}.input.f32` }
    : (Object.fromEntries(Object.entries(paths).map(([k, p]) => [k, `/models/${p.slice(dir.length + 1)}`])) as typeof paths);
  for (const k of Object.keys(paths) as (keyof typeof paths)[]) if (k !== 'onnx' || withOnnx) files.set(urls[k], paths[k]);
  // transformers.js reads /hub/<name>/ as a hub repository (its env.localModelPath is /hub/).
  if (hub) {
    for (const f of ['config.json', 'preprocessor_config.json']) files.set(`/hub/${c.name}/${f}`, join(c.hubFolder!, f));
    files.set(`/hub/${c.name}/onnx/model.onnx`, paths.onnx);
  }
  (o.log ?? console.log)(
    file
      ? `browser: ${c.name} at ${c.size}x${c.size}: ${file.note}, ${mib(file.path)}, for ours and ORT`
      : `browser: ${c.name} at ${c.size}x${c.size}: checkpoint ${mib(paths.checkpoint)}${withOnnx ? `, ONNX ${mib(paths.onnx)}` : ''}`,
  );
  const gflop = graphCost(compile(w.buildGraph({ height: c.size, width: c.size }), { mode: 'inference' }).graph).flops / 1e9;
  let tflite: CaseSpec['tflite'];
  let tfliteWithMetadata: CaseSpec['tfliteWithMetadata'];
  if (!c.tflite) tflite = { unavailable: 'no official .tflite of these weights' };
  else if (c.tflite.size !== c.size) tflite = { unavailable: `the .tflite is fixed at ${c.tflite.size}x${c.tflite.size}, the case is ${c.size}x${c.size}` };
  else {
    if (!existsSync(c.tflite.path)) throw new Error(`bench browser: ${c.tflite.path} is missing`);
    tflite = { url: `/models/${c.name}.tflite` };
    files.set(tflite.url, c.tflite.path);
  }
  if (!('url' in tflite)) tfliteWithMetadata = tflite;
  else if (!engines.some((e) => e.startsWith('mediapipe'))) tfliteWithMetadata = { unavailable: 'not written: no MediaPipe engine asked for' };
  else if (c.mediapipeTflite) {
    tfliteWithMetadata = { url: `/models/${c.name}.own-metadata.tflite` };
    files.set(tfliteWithMetadata.url, c.mediapipeTflite);
  } else {
    // MediaPipe's segmenter reads how to normalise the input from the file's metadata: the
    // weights' own normalisation (on pixels in [0,1]) on 0..255.
    const n = inputNormalization(w.config.normalization);
    const metadata = segmenterMetadata({
      name: `DeepLab-v3 (${c.weightsNote})`,
      description: `${basename(c.tflite!.path)} with TFLite metadata added by the bench (src/io/tflite-metadata.ts)`,
      mean: n.mean.map((m) => m * 255),
      std: n.std.map((x) => x * 255),
    });
    const path = join(dir, `${c.name}.metadata.tflite`);
    writeFileSync(path, addTfliteMetadata(new Uint8Array(readFileSync(c.tflite!.path)), metadata));
    tfliteWithMetadata = { url: `/models/${c.name}.metadata.tflite` };
    files.set(tfliteWithMetadata.url, path);
  }
  // TF Lite's class maps are of the .tflite at its own size: a reference only where the case is at it.
  const photo = engines.some(isPhotoEngine) ? await preparePhoto(o.photo ?? o.image, 'url' in tflite ? c.tflite!.classes : undefined, dir, files) : null;
  return {
    spec: {
      name: c.name, ...urls, tflite, tfliteWithMetadata, photo, hub, height: c.size, width: c.size, classes: w.config.numClasses, warmup: o.warmup, repeats: o.repeats, engines, profile: o.profile,
      onnxNames: file ? { input: file.inputName, output: file.outputName } : { input: 'image', output: 'logits' },
    },
    gflop,
  };
}
