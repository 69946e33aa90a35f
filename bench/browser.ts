// Part browser of the runner (`npm run bench -- --parts browser`): our engine, ONNX Runtime Web's
// WebGPU execution provider and TF.js' WebGPU backend in one headless Chromium page, on the
// page's adapter (SwiftShader unless DEEPLAB_CHROMIUM_FLAGS says otherwise).
//
// For each model case the Node side writes, into a temporary folder, the network at the case's
// input size as our checkpoint (.safetensors) and as ONNX (exportOnnx: what `deeplab export
// --format onnx` writes), and the normalised VOC image (float32 NHWC); a small server
// (bench/browser-server.ts) gives the page those files, its script (bench/browser-page.ts,
// bundled) and the peers' own script and WebAssembly files from node_modules. Nothing is
// fetched from outside. The page does the timing (bench/browser-page.ts says how).
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { type Page, chromium } from 'playwright-core';
import type { CaseSpec, EngineName, EngineResult, StartInfo } from './browser-page.js';
import { startBenchServer } from './browser-server.js';
import { median } from './common.js';
import { ROOT } from './model.js';
import { readFlag } from '../src/util/flags.js';
import { compile } from '../src/graph/compile.js';
import { readImage } from '../src/io/image.js';
import { normalizeImagenet, normalizeToMinusOneOne, resizeRgbPil } from '../src/io/resize-cpu.js';
import { graphCost } from '../src/model/analysis/flops.js';
import { type LoadedWeights, saveCheckpoint } from '../src/model/loading/load-weights.js';
import { exportOnnx } from '../src/model/onnx-export.js';

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
/** Headless, as root, on a machine with no network. */
const BASE_FLAGS = ['--enable-unsafe-webgpu', '--no-sandbox', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-quic'];
/** Which adapter WebGPU gets: Chromium's software one unless DEEPLAB_CHROMIUM_FLAGS (space-separated) says otherwise. */
const SWIFTSHADER_FLAGS = ['--use-webgpu-adapter=swiftshader'];

export function chromiumFlags(): string[] {
  return [...BASE_FLAGS, ...(readFlag('DEEPLAB_CHROMIUM_FLAGS') ?? SWIFTSHADER_FLAGS)];
}

export interface BrowserCase {
  name: string;
  /** Square input size (the ONNX graph is fixed at it). */
  size: number;
  /** Where the weights come from, for the report. */
  weightsNote: string;
  weights: () => Promise<LoadedWeights>;
}

export interface BrowserOptions {
  repeats: number;
  warmup: number;
  image: string;
  engines?: EngineName[];
  /** Progress lines (default console.log). */
  log?: (line: string) => void;
}

export interface BrowserRow extends EngineResult {
  model: string;
  input: number[];
  gflop: number;
  weights: string;
  medianMs: number | null;
}

export interface BrowserRun {
  chromium: string;
  flags: string[];
  start: StartInfo;
  rows: BrowserRow[];
  /** Warnings and errors the page logged (ONNX Runtime says here which nodes it left to the CPU). */
  pageMessages: string[];
}

/** The page's HTML: TF.js' two script bundles (window.tf), then our bench script. */
const PAGE = `<!doctype html>
<meta charset="utf-8">
<title>deeplab browser benchmark</title>
<script src="/tfjs/tf-core.min.js"></script>
<script src="/tfjs/tf-backend-webgpu.min.js"></script>
<script type="module" src="/bench-page.js"></script>
<p>deeplab browser benchmark: driven by bench/browser.ts</p>
`;

/** URL path -> file for everything the page loads besides the model files. */
function staticFiles(): Map<string, string> {
  const require = createRequire(import.meta.url);
  const ortDist = dirname(require.resolve('onnxruntime-web')); // its main is in dist/
  const tfjsCore = dirname(require.resolve('@tensorflow/tfjs-core/package.json'));
  const tfjsWebgpu = dirname(require.resolve('@tensorflow/tfjs-backend-webgpu/package.json'));
  const page = join(ROOT, 'dist', 'bench-page', 'bench-page.js');
  try {
    statSync(page);
  } catch {
    throw new Error(`bench browser: ${page} is missing: run npm run build first`);
  }
  return new Map([
    ['/bench-page.js', page],
    ['/bench-page.js.map', `${page}.map`],
    ['/tfjs/tf-core.min.js', join(tfjsCore, 'dist', 'tf-core.min.js')],
    ['/tfjs/tf-backend-webgpu.min.js', join(tfjsWebgpu, 'dist', 'tf-backend-webgpu.min.js')],
    // ORT's WebGPU build (the package's 'onnxruntime-web/webgpu') and the WebAssembly it loads.
    ...['ort.webgpu.min.mjs', 'ort-wasm-simd-threaded.asyncify.mjs', 'ort-wasm-simd-threaded.asyncify.wasm'].map((f) => [`/ort/${f}`, join(ortDist, f)] as [string, string]),
  ]);
}

/** The normalised network input for `image` at size x size, as the model's own preprocessing makes it (NHWC). */
async function caseInput(w: LoadedWeights, image: string, size: number): Promise<Float32Array> {
  const img = await readImage(image);
  const resized = img.width === size && img.height === size ? img : resizeRgbPil(img, size, size);
  return w.config.normalization === 'imagenet' ? normalizeImagenet(resized) : normalizeToMinusOneOne(resized);
}

const mib = (path: string): string => `${(statSync(path).size / 2 ** 20).toFixed(1)} MiB`;

/**
 * Writes each case's files into `dir` and returns the page's spec for it (the URLs under
 * /models/ added to `files`) and its GFLOP.
 */
async function prepareCase(c: BrowserCase, dir: string, files: Map<string, string>, o: BrowserOptions): Promise<{ spec: CaseSpec; gflop: number }> {
  const loaded = await c.weights();
  // Fixed at the case's size: our model compiles at it when it loads, as the ONNX graph is fixed at it.
  const w: LoadedWeights = { ...loaded, inputPolicy: { kind: 'fixed', height: c.size, width: c.size }, probeSize: [c.size, c.size] };
  const paths = { checkpoint: join(dir, `${c.name}.safetensors`), onnx: join(dir, `${c.name}.onnx`), input: join(dir, `${c.name}.input.f32`) };
  exportOnnx(paths.onnx, w, { height: c.size, width: c.size, source: c.weightsNote });
  saveCheckpoint(paths.checkpoint, w);
  const input = await caseInput(w, o.image, c.size);
  writeFileSync(paths.input, new Uint8Array(input.buffer, input.byteOffset, input.byteLength));
  const urls = Object.fromEntries(Object.entries(paths).map(([k, p]) => [k, `/models/${p.slice(dir.length + 1)}`])) as typeof paths;
  for (const k of Object.keys(paths) as (keyof typeof paths)[]) files.set(urls[k], paths[k]);
  (o.log ?? console.log)(`browser: ${c.name} at ${c.size}x${c.size}: checkpoint ${mib(paths.checkpoint)}, ONNX ${mib(paths.onnx)}`);
  const gflop = graphCost(compile(w.buildGraph({ height: c.size, width: c.size }), { mode: 'inference' }).graph).flops / 1e9;
  return {
    spec: { name: c.name, ...urls, height: c.size, width: c.size, classes: w.config.numClasses, warmup: o.warmup, repeats: o.repeats, engines: o.engines ?? ['ours', 'ort', 'tfjs'] },
    gflop,
  };
}

type BenchWindow = { browserBench: { start(onnx: string): Promise<StartInfo>; runCase(spec: CaseSpec): Promise<EngineResult[]>; stop(): void } };

const fmt = (x: number | null, digits = 0): string => (x === null ? '-' : x.toFixed(digits));

/** Runs the cases in one page; the temporary folder, server and browser are gone when it returns. */
export async function benchBrowser(cases: BrowserCase[], o: BrowserOptions): Promise<BrowserRun> {
  if (!cases.length) throw new Error('bench browser: no model cases');
  requireChromium('bench browser');
  const log = o.log ?? console.log;
  const files = staticFiles();
  const dir = mkdtempSync(join(tmpdir(), 'deeplab-browser-bench-'));
  const flags = chromiumFlags();
  const pageMessages: string[] = [];
  let closeServer = () => {};
  let closeBrowser = async () => {};
  try {
    const prepared: { c: BrowserCase; spec: CaseSpec; gflop: number }[] = [];
    for (const c of cases) prepared.push({ c, ...(await prepareCase(c, dir, files, o)) });
    const { server, url } = await startBenchServer(PAGE, files);
    closeServer = () => server.close();
    const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: flags });
    closeBrowser = () => browser.close();
    const page: Page = await browser.newPage();
    page.on('console', (m) => {
      if (m.type() === 'warning' || m.type() === 'error') pageMessages.push(`${m.type()}: ${m.text()}`);
      else if (m.type() === 'info' && m.text().startsWith('bench: ')) log(`browser: ${m.text().slice('bench: '.length)}`);
    });
    page.on('pageerror', (e) => pageMessages.push(`uncaught: ${e.message}`));
    await page.goto(url);
    await page.waitForFunction(() => 'browserBench' in window);
    const start = await page.evaluate((onnx) => (window as unknown as BenchWindow).browserBench.start(onnx), prepared[0].spec.onnx);
    log(`browser: Chromium ${browser.version()}, flags ${flags.join(' ')}`);
    log(`browser: adapters: ours ${start.adapters.ours}; ort ${start.adapters.ort}; tfjs ${start.adapters.tfjs}`);
    log(`browser: onnxruntime-web ${start.versions.ort} (WebGPU EP; runtime started in ${start.ortStartMs.toFixed(0)} ms), tfjs ${start.versions.tfjs}; cross-origin isolated: ${start.crossOriginIsolated}`);
    const rows: BrowserRow[] = [];
    for (const { c, spec, gflop } of prepared) {
      const t0 = performance.now();
      const results = await page.evaluate((s) => (window as unknown as BenchWindow).browserBench.runCase(s), spec);
      log(`browser: ${c.name} (${gflop.toFixed(2)} GFLOP at ${c.size}x${c.size}) done in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
      for (const r of results) {
        const row: BrowserRow = { ...r, model: c.name, input: [1, c.size, c.size, 3], gflop, weights: c.weightsNote, medianMs: r.samplesMs.length ? median(r.samplesMs) : null };
        rows.push(row);
        log(
          r.error
            ? `  ${r.engine}: did not run: ${r.error}`
            : `  ${r.engine}: median ${fmt(row.medianMs)} ms of ${r.samplesMs.length}, first run ${fmt(r.firstRunMs)} ms (first pass ${fmt(r.firstPassMs)} ms)` +
                (r.relativeErrorVsOurs === null ? '' : `, vs ours: relative error ${r.relativeErrorVsOurs.toExponential(2)}, argmax ${(100 * r.argmaxAgreementVsOurs!).toFixed(3)} %`),
        );
      }
    }
    await page.evaluate(() => (window as unknown as BenchWindow).browserBench.stop());
    return { chromium: browser.version(), flags, start, rows, pageMessages };
  } finally {
    await closeBrowser();
    closeServer();
    rmSync(dir, { recursive: true, force: true });
  }
}
