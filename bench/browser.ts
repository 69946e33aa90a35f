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
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { type Page, chromium } from 'playwright-core';
import { type CaseProfile, type CaseSpec, ENGINES, type EngineName, type EngineResult, type StartInfo, type StartOptions } from './page-protocol.js';
import { type BrowserCase, type CaseOptions, prepareCase } from './browser-cases.js';
import { staticFiles } from './browser-files.js';
import { ROOT } from './model.js';
import { startBenchServer } from './browser-server.js';
import { median } from './common.js';
import { isPhotoEngine } from './photo-engines.js';
import { readFlag } from '../src/util/flags.js';
import type { FolderCaseSpec } from './tjs-folder-page.js';
import { prepareFolderCase } from './tjs-folders.js';

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

export interface BrowserOptions extends Omit<CaseOptions, 'engines'> {
  /** Default: every engine (ENGINES). */
  engines?: EngineName[];
  /** Default swiftshader. */
  adapter?: BrowserAdapter;
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

type BenchWindow = {
  browserBench: { start(o: StartOptions): Promise<StartInfo>; runCase(spec: CaseSpec | FolderCaseSpec): Promise<{ results: EngineResult[]; profile: CaseProfile | null }>; stop(): void };
};

const fmt = (x: number | null, digits = 0): string => (x === null ? '-' : x.toFixed(digits));

/** The CPU engines' WebAssembly threads, and the cores the page sees. */
export function threadsLine(start: StartInfo): string {
  const t = Object.entries(start.threads.engines).map(([e, n]) => `${e} ${n}`);
  return `navigator.hardwareConcurrency ${start.threads.hardwareConcurrency}${t.length ? `; WebAssembly threads: ${t.join(', ')}` : ''}`;
}

export type { BrowserCase } from './browser-cases.js';

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
