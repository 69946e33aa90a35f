// Ours on each WebGPU implementation, same adapter, same model and image: the median time of one
// segment of the default model on 2007_000033 (tuning off, two warm-ups) in Node (Dawn, with and
// without subgroups), Deno (wgpu), Firefox (wgpu) and Chromium (Dawn; on lavapipe through its
// OpenGL ES backend on ANGLE's Vulkan, the one way Chromium reaches lavapipe), with the submits
// and read-backs of one segment in each runtime but Node. Run: `npm run build && node
// dist/bench/wgpu.js [runs] [rounds]`; the engines take turns over `rounds` (default 3), so a
// change in the host's load falls on all; writes bench/results/wgpu-<adapter>.json. Absolute
// times only with the host named.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { CHROMIUM, chromiumFlags, requireChromium } from './browser.js';
import { startBenchServer } from './browser-server.js';
import { ROOT } from './model.js';
import type { PageCase, PageResult } from './wgpu-page.js';
import { launchFirefox } from '../test/browser/firefox.js';
import { GpuContext } from '../src/gpu/context.js';
import { decodeImageSource } from '../src/io/image-source.js';
import { loadModel } from '../src/model/model.js';
import { runDeno } from '../test/wgpu/deno.js';
import type { EngineCase, EngineResult } from '../test/wgpu/deno-engine.js';
import { sharedPath } from '../test/shared.js';
import { median } from './common.js';
import { timeSegments } from '../test/wgpu/segment-count.js';

const runs = Number(process.argv[2] ?? 9);
const rounds = Number(process.argv[3] ?? 3);
const IMAGE = sharedPath('data', 'voc-sample', 'JPEGImages', '2007_000033.jpg');
const WEIGHTS = sharedPath('weights', 'deeplabv3_257_mv_gpu.tflite');

async function nodeMs(image: Awaited<ReturnType<typeof decodeImageSource>>, subgroups: boolean): Promise<{ adapter: string; ms: number[]; classes: Uint8Array }> {
  const ctx = await GpuContext.create({ tune: 'off', subgroups });
  const model = await loadModel(WEIGHTS, { ctx });
  try {
    const { classes } = await model.segment(image);
    return { adapter: ctx.adapterInfo.name, ms: await timeSegments(model, image, runs), classes };
  } finally {
    model.dispose();
    ctx.destroy();
  }
}

/** The page: bench/wgpu-page.ts, which imports the page bundle and the segment counter by URL. */
const PAGE = `<!doctype html>
<meta charset="utf-8">
<title>deeplab wgpu benchmark</title>
<script type="module">import '/bench/wgpu-page.js'; window.wgpuBenchReady = true;</script>
`;

type Browser = 'firefox' | 'chromium';
type PageWindow = { wgpuBench(c: PageCase): Promise<PageResult>; wgpuBenchReady?: boolean };

/** One run of the page in `browser`, headless, on a fresh profile: the counted and timed segments. */
async function pageRun(browser: Browser, url: string, c: PageCase): Promise<PageResult> {
  if (browser === 'firefox') {
    const b = await launchFirefox('bench wgpu');
    try {
      const page = await b.newPage();
      await page.goto(url);
      await page.waitForFunction(() => (window as unknown as PageWindow).wgpuBenchReady === true, { timeout: 60_000 });
      return await page.evaluate((pc) => (window as unknown as PageWindow).wgpuBench(pc), c);
    } finally {
      await b.close();
    }
  }
  requireChromium('bench wgpu');
  const b = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: chromiumFlags('lavapipe') });
  try {
    const page = await b.newPage();
    await page.goto(url);
    await page.waitForFunction(() => (window as unknown as PageWindow).wgpuBenchReady === true, undefined, { timeout: 60_000 });
    return await page.evaluate((pc) => (window as unknown as PageWindow).wgpuBench(pc), c);
  } finally {
    await b.close();
  }
}

/** Share of pixels where two base64 class maps agree. */
function agreement(a: Uint8Array, b64: string): number {
  const b = Uint8Array.from(atob(b64), (ch) => ch.charCodeAt(0));
  if (a.length !== b.length) return 0;
  let same = 0;
  for (let i = 0; i < a.length; i++) if (a[i] === b[i]) same++;
  return same / a.length;
}

const image = await decodeImageSource(IMAGE);
const dir = mkdtempSync(join(tmpdir(), 'deeplab-wgpu-bench-'));
try {
  writeFileSync(join(dir, 'image.rgb'), image.data);
  writeFileSync(join(dir, 'labels.u8'), new Uint8Array(image.width * image.height));
  const c: EngineCase = { weights: WEIGHTS, image: { width: image.width, height: image.height, rgb: join(dir, 'image.rgb') }, labels: join(dir, 'labels.u8'), fineTune: { steps: 1, crop: 33, lr: 0.001, seed: 1 }, timedRuns: runs };
  writeFileSync(join(dir, 'case.json'), JSON.stringify(c));
  const { server, url } = await startBenchServer(PAGE, new Map([
    ['/bench/wgpu-page.js', join(ROOT, 'dist', 'bench', 'wgpu-page.js')],
    ['/test/wgpu/segment-count.js', join(ROOT, 'dist', 'test', 'wgpu', 'segment-count.js')],
    ['/browser/deeplab.js', join(ROOT, 'dist', 'browser', 'deeplab.js')],
    ['/weights.tflite', WEIGHTS],
    ['/image.rgb', join(dir, 'image.rgb')],
  ]));
  const pageCase: PageCase = { weights: '/weights.tflite', bundle: '/browser/deeplab.js', rgb: '/image.rgb', width: image.width, height: image.height, runs };
  const dawnMs: number[] = [];
  const dawnNoSubgroupsMs: number[] = [];
  const wgpuMs: number[] = [];
  const pages: Record<Browser, { ms: number[]; last?: PageResult }> = { firefox: { ms: [] }, chromium: { ms: [] } };
  let adapter = '';
  let dawnClasses: Uint8Array = new Uint8Array();
  let wgpu: EngineResult | undefined;
  try {
    for (let round = 0; round < rounds; round++) {
      const dawn = await nodeMs(image, true);
      adapter = dawn.adapter;
      dawnClasses = dawn.classes;
      dawnMs.push(...dawn.ms);
      dawnNoSubgroupsMs.push(...(await nodeMs(image, false)).ms);
      const run = await runDeno(new URL('../test/wgpu/deno-engine.js', import.meta.url).pathname, [join(dir, 'case.json')], { timeoutMs: 600_000 });
      const line = run.stdout.split('\n').find((l) => l.startsWith('{"result"'));
      if (!line) throw new Error(`Deno gave no result: ${run.stderr}`);
      wgpu = (JSON.parse(line) as { result: EngineResult }).result;
      wgpuMs.push(...wgpu.segmentMs);
      for (const browser of ['firefox', 'chromium'] as const) {
        const r = await pageRun(browser, url, pageCase);
        pages[browser].ms.push(...r.segmentMs);
        pages[browser].last = r;
      }
    }
  } finally {
    server.close();
  }
  const dawn = { adapter, ms: dawnMs };
  const dawnNoSubgroups = { ms: dawnNoSubgroupsMs };
  const pageRow = (engine: string, p: { ms: number[]; last?: PageResult }) => ({
    engine,
    ms: median(p.ms),
    submits: p.last!.submits,
    readbacks: p.last!.readbacks,
    adapter: p.last!.adapter,
    software: p.last!.isSoftware,
    agreementWithNode: agreement(dawnClasses, p.last!.classes),
  });
  const rows = [
    { engine: 'Node (Dawn)', ms: median(dawn.ms) },
    { engine: 'Node (Dawn), subgroups off', ms: median(dawnNoSubgroups.ms) },
    { engine: 'Deno (wgpu)', ms: median(wgpuMs), submits: wgpu!.submits, readbacks: wgpu!.readbacks, agreementWithNode: agreement(dawnClasses, wgpu!.f32) },
    pageRow('Firefox (wgpu)', pages.firefox),
    pageRow('Chromium (Dawn, OpenGL ES)', pages.chromium),
  ];
  const host = `${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} cores`;
  console.log(`${dawn.adapter} on ${host}; median of ${rounds} x ${runs} segments of the default model on 2007_000033 (tune off)`);
  for (const r of rows) {
    const counts = 'submits' in r ? `   ${r.submits} submit(s), ${r.readbacks} read-back(s)` : '';
    const same = 'agreementWithNode' in r ? `, ${(100 * r.agreementWithNode!).toFixed(3)} % of pixels as Node` : '';
    console.log(`  ${r.engine.padEnd(28)} ${r.ms.toFixed(1).padStart(8)} ms   this / Dawn speed: ${(rows[0].ms / r.ms).toFixed(2)}x${counts}${same}`);
  }
  mkdirSync(join('bench', 'results'), { recursive: true });
  const out = join('bench', 'results', `wgpu-${dawn.adapter.split(' ')[0].toLowerCase().replace(/[^a-z0-9]+/g, '')}.json`);
  writeFileSync(out, JSON.stringify({ host, adapter: dawn.adapter, wgpuAdapter: wgpu!.adapter, runs, rounds, rows, samples: { dawn: dawn.ms, dawnNoSubgroups: dawnNoSubgroups.ms, wgpu: wgpuMs, firefox: pages.firefox.ms, chromium: pages.chromium.ms } }) + '\n');
  console.log(`wrote ${out}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
