// Part browser of the runner (`npm run bench -- --parts browser`): our engine, ONNX Runtime Web
// (its WebGPU execution provider, and its WebAssembly build), TF.js (its WebGPU and WebAssembly
// backends), LiteRT.js (WebGPU and WebAssembly) and, from the photo to its class map, MediaPipe
// Tasks' ImageSegmenter (CPU and GPU delegates) and ours, in one headless Chromium page, on the
// page's adapter: SwiftShader, or Mesa's lavapipe through Chromium's OpenGL ES backend on ANGLE's
// Vulkan (`adapter`), unless DEEPLAB_CHROMIUM_FLAGS says otherwise.
//
// For each model case the Node side writes, into a temporary folder, the network at the case's
// input size as our checkpoint (.safetensors) and as ONNX (exportOnnx: what `deeplab export
// --format onnx` writes), the normalised VOC image (float32 NHWC) and, for MediaPipe, the case's
// official .tflite with TFLite metadata added (src/io/tflite-metadata.ts); a small server
// (bench/browser-server.ts) gives the page those files, the official .tflite (LiteRT.js), the
// photo and TF Lite's class map of it, its script (bench/browser-page.ts, bundled) and the peers'
// own script and WebAssembly files from node_modules. Nothing is fetched from outside (only
// localhost resolves in the page). The page does the timing (bench/browser-page.ts says how).
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { basename, dirname, extname, join } from 'node:path';
import { type Page, chromium } from 'playwright-core';
import { type CaseProfile, type CaseSpec, ENGINES, type EngineName, type EngineResult, type StartInfo, type StartOptions } from './browser-page.js';
import { staticFiles } from './browser-files.js';
import { ROOT } from './model.js';
import { startBenchServer } from './browser-server.js';
import { median } from './common.js';
import { isPhotoEngine } from './photo-engines.js';
import { addTfliteMetadata, segmenterMetadata } from '../src/io/tflite-metadata.js';
import { readFlag } from '../src/util/flags.js';
import { compile } from '../src/graph/compile.js';
import { readImage } from '../src/io/image.js';
import { inputNormalization } from '../src/io/input-normalization.js';
import { readIndexedPng } from '../src/io/png-indexed.js';
import { normalizeImagenet, normalizeToMinusOneOne, normalizeToUnit, resizeRgbPil } from '../src/io/resize-cpu.js';
import { graphCost } from '../src/model/analysis/flops.js';
import { type LoadedWeights, loadWeights, saveCheckpoint } from '../src/model/loading/load-weights.js';
import { exportOnnx } from '../src/model/onnx-export.js';
import { type OnnxBenchCase, writeOnnxBenchFile } from './onnx-cases.js';
import type { FolderCaseSpec } from './tjs-folder-page.js';
import { type TjsFolderCase, prepareFolderCase } from './tjs-folders.js';

/** Debian's Chromium unless DEEPLAB_CHROMIUM names another. */
export const CHROMIUM = readFlag('DEEPLAB_CHROMIUM');

/** Throws an error saying how to get a Chromium unless CHROMIUM is there; `what` names the caller. */
export function requireChromium(what: string): void {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `${what}: no Chromium at ${CHROMIUM}: set DEEPLAB_CHROMIUM to a Chromium or Chrome executable ` +
        "(e.g. DEEPLAB_CHROMIUM=\"$(which google-chrome)\"), or on Debian run npm run setup, which installs /usr/bin/chromium",
    );
  }
}
/**
 * Headless, as root, on a machine with no network; no host name but localhost resolves, so the
 * page reaches only the bench's server (MediaPipe Tasks posts usage logs to
 * odml.pa.googleapis.com, and its API has no switch for that).
 */
const BASE_FLAGS = [
  '--enable-unsafe-webgpu', '--no-sandbox', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-quic',
  '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost',
];

/** The software adapters the page can be put on. */
export const BROWSER_ADAPTERS = ['swiftshader', 'lavapipe'] as const;
export type BrowserAdapter = (typeof BROWSER_ADAPTERS)[number];

/**
 * Which adapter WebGPU gets, and what its description must contain (checked before any case).
 * - swiftshader: Chromium's own CPU Vulkan driver, on Dawn's Vulkan backend.
 * - lavapipe: Mesa's CPU Vulkan driver. Chromium takes a Vulkan adapter only if it can import
 *   external images (or it is SwiftShader), which lavapipe cannot, so its Vulkan adapter is
 *   never offered; the path that works is Dawn's OpenGL ES backend on ANGLE, with ANGLE on
 *   Vulkan (lavapipe, the system's only Vulkan driver without a GPU). That backend exists in
 *   compatibility mode only, so every engine's adapter request is made a compatibility one;
 *   developer features make the adapter describe itself (else its info is blank). No timestamp
 *   queries there: the profile is timed on the host.
 */
const ADAPTER_FLAGS: Record<BrowserAdapter, { flags: string[]; expect: string }> = {
  swiftshader: { flags: ['--use-webgpu-adapter=swiftshader'], expect: 'swiftshader' },
  lavapipe: {
    flags: ['--use-webgpu-adapter=opengles', '--force-webgpu-compat', '--use-angle=vulkan', '--ignore-gpu-blocklist', '--enable-webgpu-developer-features'],
    expect: 'llvmpipe',
  },
};

/** The flags for `adapter`, or DEEPLAB_CHROMIUM_FLAGS (space-separated) in their place. */
export function chromiumFlags(adapter: BrowserAdapter = 'swiftshader'): string[] {
  return [...BASE_FLAGS, ...(readFlag('DEEPLAB_CHROMIUM_FLAGS') ?? ADAPTER_FLAGS[adapter].flags)];
}

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

export interface BrowserOptions {
  repeats: number;
  warmup: number;
  image: string;
  /** The photo the transformers.js-folder cases and the photo engines segment whole (default `image`). */
  photo?: string;
  /** Default: every engine (ENGINES). */
  engines?: EngineName[];
  /** Default swiftshader. */
  adapter?: BrowserAdapter;
  /** Profile our pass layer by layer in each case, after its rounds. */
  profile?: { repeats: number; timing?: CaseProfile['timing'] };
  /** Progress lines (default console.log). */
  log?: (line: string) => void;
}

export interface BrowserRow extends EngineResult {
  model: string;
  input: number[];
  /** A transformers.js-folder case: the photo's [height, width], segmented whole. */
  photo?: number[];
  gflop: number;
  weights: string;
  medianMs: number | null;
}

export interface BrowserRun {
  chromium: string;
  flags: string[];
  adapter: BrowserAdapter;
  start: StartInfo;
  /** The peers' package versions (LiteRT.js', TF.js' WebAssembly backend's and MediaPipe's from their package.json: the page cannot say). */
  versions: { ort?: string; tfjs?: string; tfjsWasm?: string; transformers?: string; litert?: string; mediapipe?: string };
  rows: BrowserRow[];
  profiles: CaseProfile[];
  /** Warnings and errors the page logged (ONNX Runtime says here which nodes it left to the CPU). */
  pageMessages: string[];
  /** What a page loads of ours, bytes: the bundle (the CPU device included, its runtime not) and the runtime it loads only on device 'cpu'. */
  bytes: PageBytes;
}

export interface PageBytes {
  /** dist/browser/deeplab.js and the worker's bundle, dist/browser/deeplab-worker.js. */
  bundle: number;
  worker: number;
  /** onnxruntime-web's wasm build (ort.wasm.min.mjs, its loader and its WebAssembly): the CPU device's runtime, fetched only where a model runs on the CPU. */
  cpuRuntime: number;
}

/** The bytes of what a page loads of ours (PageBytes). */
export function pageBytes(): PageBytes {
  const dist = join(ROOT, 'dist', 'browser');
  const ortDist = dirname(createRequire(import.meta.url).resolve('onnxruntime-web'));
  const size = (f: string): number => statSync(f).size;
  return {
    bundle: size(join(dist, 'deeplab.js')),
    worker: size(join(dist, 'deeplab-worker.js')),
    cpuRuntime: ['ort.wasm.min.mjs', 'ort-wasm-simd-threaded.mjs', 'ort-wasm-simd-threaded.wasm'].reduce((sum, f) => sum + size(join(ortDist, f)), 0),
  };
}

/**
 * The page's HTML: the import map LiteRT.js' module needs (it imports its WebAssembly loader by
 * package name), TF.js' script bundles (window.tf; its WebAssembly backend's as window.tf.wasm),
 * then our bench script.
 */
const PAGE = `<!doctype html>
<meta charset="utf-8">
<title>deeplab browser benchmark</title>
<script type="importmap">{"imports": {"@litertjs/wasm-utils": "/litert/wasm-utils.js"}}</script>
<script src="/tfjs/tf-core.min.js"></script>
<script src="/tfjs/tf-backend-webgpu.min.js"></script>
<script src="/tfjs/tf-backend-wasm.min.js"></script>
<script type="module" src="/bench-page.js"></script>
<p>deeplab browser benchmark: driven by bench/browser.ts</p>
`;

/** An installed package's version (from its package.json; found from its main file where its exports leave package.json out). */
function packageVersion(name: string): string {
  const require = createRequire(import.meta.url);
  let path: string;
  try {
    path = require.resolve(`${name}/package.json`);
  } catch {
    path = join(dirname(require.resolve(name)), 'package.json');
  }
  const json = JSON.parse(readFileSync(path, 'utf8')) as { name: string; version: string };
  if (json.name !== name) throw new Error(`bench browser: ${path} is ${json.name}'s, not ${name}'s`);
  return json.version;
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
async function prepareCase(c: BrowserCase, dir: string, files: Map<string, string>, o: BrowserOptions): Promise<{ spec: CaseSpec; gflop: number }> {
  // An ONNX case: one file, the exporter's, for ours and ORT alike (its weights embedded).
  const file = c.onnx ? writeOnnxBenchFile(c.onnx, dir) : null;
  if (!file && !c.weights) throw new Error(`bench browser: case ${c.name} has neither weights nor an ONNX file`);
  const loaded = file ? await loadWeights(file.path, { download: false, mean: file.mean, std: file.std }) : await c.weights!();
  // Fixed at the case's size: our model compiles at it when it loads, as the ONNX graph is fixed at it.
  const w: LoadedWeights = { ...loaded, inputPolicy: { kind: 'fixed', height: c.size, width: c.size }, probeSize: [c.size, c.size] };
  const paths = file
    ? { checkpoint: file.path, onnx: file.path, input: join(dir, `${c.name}.input.f32`) }
    : { checkpoint: join(dir, `${c.name}.safetensors`), onnx: join(dir, `${c.name}.onnx`), input: join(dir, `${c.name}.input.f32`) };
  const engines = o.engines ?? [...ENGINES];
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

type BenchWindow = {
  browserBench: { start(o: StartOptions): Promise<StartInfo>; runCase(spec: CaseSpec | FolderCaseSpec): Promise<{ results: EngineResult[]; profile: CaseProfile | null }>; stop(): void };
};

const fmt = (x: number | null, digits = 0): string => (x === null ? '-' : x.toFixed(digits));

/** The CPU engines' WebAssembly threads, and the cores the page sees. */
export function threadsLine(start: StartInfo): string {
  const t = Object.entries(start.threads.engines).map(([e, n]) => `${e} ${n}`);
  return `navigator.hardwareConcurrency ${start.threads.hardwareConcurrency}${t.length ? `; WebAssembly threads: ${t.join(', ')}` : ''}`;
}

/** Runs the cases in one page; the temporary folder, server and browser are gone when it returns. */
export async function benchBrowser(cases: BrowserCase[], o: BrowserOptions): Promise<BrowserRun> {
  if (!cases.length) throw new Error('bench browser: no model cases');
  requireChromium('bench browser');
  const log = o.log ?? console.log;
  const engines = o.engines ?? [...ENGINES];
  const adapter = o.adapter ?? 'swiftshader';
  const files = staticFiles();
  const dir = mkdtempSync(join(tmpdir(), 'deeplab-browser-bench-'));
  const flags = chromiumFlags(adapter);
  const pageMessages: string[] = [];
  let closeServer = () => {};
  let closeBrowser = async () => {};
  try {
    const prepared: { c: BrowserCase; spec: CaseSpec | FolderCaseSpec; gflop: number }[] = [];
    for (const c of cases) {
      if (!c.tjsFolder) {
        prepared.push({ c, ...(await prepareCase(c, dir, files, { ...o, engines })) });
        continue;
      }
      const f = await prepareFolderCase(c.tjsFolder, dir, files, { ...o, image: o.photo ?? o.image, engines });
      log(`browser: ${c.name}: ${f.note}, photo ${f.spec.photo.width}x${f.spec.photo.height}`);
      prepared.push({ c, spec: f.spec, gflop: f.gflop });
    }
    const { server, url } = await startBenchServer(PAGE, files);
    closeServer = () => server.close();
    // Each launch has a fresh profile, so Chromium's own shader caches start empty; Mesa keeps
    // lavapipe's compiled shaders in the user's cache folder across runs, so it gets one in the
    // temporary folder too: first runs are cold on either adapter.
    const env = { ...process.env, MESA_SHADER_CACHE_DIR: join(dir, 'mesa-shader-cache') };
    const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: flags, env });
    closeBrowser = () => browser.close();
    const page: Page = await browser.newPage();
    page.on('console', (m) => {
      // LiteRT.js logs its start-up steps on the console's error channel as "INFO: [file:line] ...".
      if (m.type() === 'error' && m.text().startsWith('INFO: [')) return;
      if (m.type() === 'warning' || m.type() === 'error') pageMessages.push(`${m.type()}: ${m.text()}`);
      else if (m.type() === 'info' && m.text().startsWith('bench: ')) log(`browser: ${m.text().slice('bench: '.length)}`);
    });
    page.on('pageerror', (e) => pageMessages.push(`uncaught: ${e.message}`));
    // Anything the page asks of another host fails (BASE_FLAGS resolve only localhost): say what.
    page.on('requestfailed', (r) => {
      if (!/^(blob|data):/.test(r.url()) && new URL(r.url()).host !== new URL(url).host) pageMessages.push(`refused: ${r.method()} ${r.url()} (the page reaches only the bench's server)`);
    });
    await page.goto(url);
    await page.waitForFunction(() => 'browserBench' in window);
    const warmOnnx = prepared.map((p) => p.spec).find((s): s is CaseSpec => !('kind' in s))?.onnx ?? null;
    const startOptions: StartOptions = { engines, warmOnnx, timestamps: o.profile !== undefined };
    const start = await page.evaluate((so) => (window as unknown as BenchWindow).browserBench.start(so), startOptions);
    const versions = {
      ...start.versions,
      ...(start.litert ? { litert: packageVersion('@litertjs/core') } : {}),
      ...(engines.includes('tfjs-wasm') ? { tfjsWasm: packageVersion('@tensorflow/tfjs-backend-wasm') } : {}),
      ...(engines.some((e) => e.startsWith('mediapipe')) ? { mediapipe: packageVersion('@mediapipe/tasks-vision') } : {}),
    };
    log(`browser: Chromium ${browser.version()}, flags ${flags.join(' ')}`);
    log(`browser: adapters: ${Object.entries(start.adapters).map(([e, a]) => `${e} ${a}`).join('; ')}`);
    // Flags the browser does not honour fall back to another adapter without a word: check.
    const expected = readFlag('DEEPLAB_CHROMIUM_FLAGS') ? null : ADAPTER_FLAGS[adapter].expect;
    if (expected && !start.adapters.ours!.includes(expected)) {
      throw new Error(`bench browser: asked for ${adapter}, but the page's adapter is ${start.adapters.ours}`);
    }
    if (start.ortStartMs !== null) log(`browser: onnxruntime-web ${versions.ort} (WebGPU EP; runtime started in ${start.ortStartMs.toFixed(0)} ms)`);
    const rt = start.runtimeStartMs;
    if (rt['ort-wasm'] !== undefined) log(`browser: onnxruntime-web ${versions.ort} (WebAssembly build, wasm EP; runtime started in ${rt['ort-wasm'].toFixed(0)} ms)`);
    if (versions.tfjs) log(`browser: tfjs ${versions.tfjs}${rt['tfjs-wasm'] === undefined ? '' : ` (WebAssembly backend ${versions.tfjsWasm} started in ${rt['tfjs-wasm'].toFixed(0)} ms)`}`);
    const mediapipeStart = rt['mediapipe-cpu'] ?? rt['mediapipe-gpu'];
    if (versions.mediapipe) log(`browser: MediaPipe Tasks Vision ${versions.mediapipe} (module imported in ${mediapipeStart?.toFixed(0) ?? '-'} ms)`);
    if (versions.transformers) log(`browser: transformers.js ${versions.transformers} (WebGPU: AutoModel on our ONNX export of a hub case; the image-segmentation pipeline on a transformers.js folder)`);
    if (start.litert) {
      const l = start.litert;
      log(`browser: LiteRT.js ${versions.litert} (${l.build}: JSPI ${l.jspi ? 'on' : 'off'}, relaxed SIMD ${l.relaxedSimd ? 'on' : 'off'}, ${l.threads} thread(s); started in ${start.litertStartMs!.toFixed(0)} ms)`);
    }
    log(`browser: cross-origin isolated: ${start.crossOriginIsolated}; ${threadsLine(start)}; our timestamps: ${start.timestamps}`);
    const bytes = pageBytes();
    log(`browser: our bundle ${bytes.bundle} bytes (worker ${bytes.worker}), without the CPU runtime; onnxruntime-web's wasm build ${bytes.cpuRuntime} bytes, fetched only for device 'cpu'`);
    const rows: BrowserRow[] = [];
    const profiles: CaseProfile[] = [];
    for (const { c, spec, gflop } of prepared) {
      const t0 = performance.now();
      const { results, profile } = await page.evaluate((s) => (window as unknown as BenchWindow).browserBench.runCase(s), spec);
      const photo = 'kind' in spec ? { photo: [spec.photo.height, spec.photo.width] } : {};
      log(`browser: ${c.name} (${gflop.toFixed(2)} GFLOP at ${c.size}x${c.size}) done in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
      if (profile) profiles.push(profile);
      for (const r of results) {
        const row: BrowserRow = { ...r, model: c.name, input: [1, c.size, c.size, 3], ...photo, gflop, weights: c.weightsNote, medianMs: r.samplesMs.length ? median(r.samplesMs) : null };
        rows.push(row);
        log(
          r.error
            ? `  ${r.engine}: did not run: ${r.error}`
            : `  ${r.engine}: median ${fmt(row.medianMs)} ms of ${r.samplesMs.length}, first run ${fmt(r.firstRunMs)} ms (load ${fmt(r.loadMs)} ms, first pass ${fmt(r.firstPassMs)} ms)` +
                (r.fullyAccelerated === undefined ? '' : `, fully accelerated: ${r.fullyAccelerated}`) +
                (r.relativeErrorVsOurs === null ? '' : `, vs ours: relative error ${r.relativeErrorVsOurs.toExponential(2)}, argmax ${(100 * r.argmaxAgreementVsOurs!).toFixed(3)} %`) +
                (r.labelAgreementVsOurs == null || isPhotoEngine(r.engine) ? '' : `, the photo's classes ${(100 * r.labelAgreementVsOurs).toFixed(3)} % ours (input ${r.inputRelativeErrorVsOurs?.toExponential(2)} from ours)`) +
                (!isPhotoEngine(r.engine) ? '' : `; photo to class map, from nothing ${fmt(r.coldStartMs ?? null)} ms`) +
                (r.labelAgreementVsOurs == null || !isPhotoEngine(r.engine) ? '' : `, the photo's classes ${(100 * r.labelAgreementVsOurs).toFixed(2)} % ours`) +
                (r.labelAgreementVsTflite == null ? '' : `, ${(100 * r.labelAgreementVsTflite).toFixed(2)} % TF Lite's`),
        );
      }
    }
    await page.evaluate(() => (window as unknown as BenchWindow).browserBench.stop());
    return { chromium: browser.version(), flags, adapter, start, versions, rows, profiles, pageMessages, bytes };
  } finally {
    await closeBrowser();
    closeServer();
    rmSync(dir, { recursive: true, force: true });
  }
}
