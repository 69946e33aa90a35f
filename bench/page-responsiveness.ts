// How long the demo page's main thread is held while its worker works, in headless Chromium on
// SwiftShader: the page teaches a window of a VOC photo from strokes (the demo's teach mode), and
// segments the photo in a SegmentationWorker. Per run, as the page measures it: its longest task
// (Chromium's Long Tasks API, which reports tasks of 50 ms and more) and the longest gap of its own
// 10 ms timer while the worker worked, beside the longest gap the same timer showed just before
// with nothing to do (the host's own delays: another process on the cores stretches them). Wall
// time on a shared host varies from run to run, so it reports the median and the range over the
// runs, with the host named. The tests hold what is structural (test/browser/main-thread-watch.ts:
// no WebGPU call on the main thread, small messages); the times are this benchmark's.
//
//   npm run bench:responsiveness -- [--runs N] [--steps N] [--crop N] [--out FILE]
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { startDemoServer } from '../demo/server.js';
import { CHROMIUM, chromiumFlags, requireChromium } from './browser.js';
import { benchArgs, median, runIfMain, writeReport } from './common.js';
import { sharedPath } from '../test/shared.js';
import { readImage } from '../src/io/image.js';
import { readIndexedPng } from '../src/io/png-indexed.js';
import { encodeRgbPng } from '../src/io/png-rgb.js';
import type { RgbImage } from '../src/io/rgb-image.js';

const BENCH = 'bench responsiveness';
const VOC = sharedPath('data', 'voc-sample');
const PHOTO = '2007_000033';
/** The page's timer with nothing to do, before each measurement (ms). */
const IDLE_MS = 2000;

interface Stroke {
  class: number;
  radius: number;
  points: [number, number][];
}

/** One run's figures, ms. */
interface RunFigures {
  idleGapMs: number;
  teach: { seconds: number; longestTaskMs: number; longestGapMs: number };
  segment: { ms: number; longestTaskMs: number; longestGapMs: number };
}

/** The size x size window of the photo (on an 8-pixel grid) most evenly split between background and aeroplane, and strokes along every 4th row of it from the ground truth. */
async function teachingWindow(size: number): Promise<{ png: string; strokes: Stroke[] }> {
  const photo = await readImage(join(VOC, 'JPEGImages', `${PHOTO}.jpg`));
  const truth = readIndexedPng(readFileSync(join(VOC, 'SegmentationClass', `${PHOTO}.png`)));
  const label = (x: number, y: number): number => truth.indices[y * truth.width + x];
  let best = { x: 0, y: 0, minority: -1 };
  for (let y = 0; y + size <= truth.height; y += 8)
    for (let x = 0; x + size <= truth.width; x += 8) {
      const counts = [0, 0];
      for (let j = 0; j < size; j++) for (let i = 0; i < size; i++) if (label(x + i, y + j) < 2) counts[label(x + i, y + j)]++;
      if (Math.min(...counts) > best.minority) best = { x, y, minority: Math.min(...counts) };
    }
  const window: RgbImage = { width: size, height: size, data: new Uint8Array(size * size * 3) };
  for (let y = 0; y < size; y++) window.data.set(photo.data.subarray(3 * ((best.y + y) * photo.width + best.x), 3 * ((best.y + y) * photo.width + best.x + size)), 3 * y * size);
  const strokes: Stroke[] = [];
  const at = (x: number, y: number) => label(best.x + x, best.y + y);
  for (let y = 2; y < size - 1; y += 4) {
    for (let x = 0; x < size; ) {
      const c = at(x, y);
      let end = x;
      while (end + 1 < size && at(end + 1, y) === c) end++;
      if (c !== 255 && end - x >= 4) strokes.push({ class: c, radius: 1, points: [[x + 1, y], [end - 1, y]] });
      x = end + 1;
    }
  }
  return { png: Buffer.from(encodeRgbPng(window)).toString('base64'), strokes };
}

/** One run in the page: the idle timer, a teach, a segment in a worker (this function's source runs in the page). */
function pageRun(a: { png: string; strokes: Stroke[]; steps: number; crop: number; idleMs: number }): Promise<RunFigures> {
  const tasks: [number, number][] = [];
  const observer = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) tasks.push([e.startTime, e.duration]);
  });
  observer.observe({ type: 'longtask' });
  // The 10 ms timer's gaps over 20 ms, each [start, length].
  const gaps: [number, number][] = [];
  let last = performance.now();
  const timer = setInterval(() => {
    const now = performance.now();
    if (now - last > 20) gaps.push([last, now - last]);
    last = now;
  }, 10);
  const longest = (spans: [number, number][], from: number, to: number) => Math.max(0, ...spans.filter(([at, ms]) => at + ms > from && at < to).map(([, ms]) => ms));
  const run = async (): Promise<RunFigures> => {
    const idleFrom = performance.now();
    await new Promise((done) => setTimeout(done, a.idleMs));
    const idleGapMs = longest(gaps, idleFrom, performance.now());
    const demo = (window as unknown as { deeplabDemo: { teach(o: unknown): Promise<{ seconds: number; trainedFrom: number; trainedAt: number }> } }).deeplabDemo;
    const t = await demo.teach({ images: [{ url: `data:image/png;base64,${a.png}`, name: 'window.png', strokes: a.strokes }], steps: a.steps, crop: a.crop, batch: 1, lr: 0.0003, seed: 1, augment: false, every: a.steps });
    for (const e of observer.takeRecords()) tasks.push([e.startTime, e.duration]);
    const teach = { seconds: t.seconds, longestTaskMs: longest(tasks, t.trainedFrom, t.trainedAt), longestGapMs: longest(gaps, t.trainedFrom, t.trainedAt) };
    const bundle = '/deeplab.js'; // a variable: the compiler is not to resolve it
    const { SegmentationWorker } = await import(bundle);
    const worker = SegmentationWorker.start('/deeplab-worker.js');
    try {
      await worker.load('/weights/deeplabv3_257_mv_gpu.tflite');
      const blob = await (await fetch('/samples/2007_000033.jpg')).blob();
      await worker.segment(blob); // the first pass compiles its pipelines
      const from = performance.now();
      await worker.segment(blob);
      const to = performance.now();
      for (const e of observer.takeRecords()) tasks.push([e.startTime, e.duration]);
      return { idleGapMs, teach, segment: { ms: to - from, longestTaskMs: longest(tasks, from, to), longestGapMs: longest(gaps, from, to) } };
    } finally {
      await worker.terminate();
    }
  };
  return run().finally(() => {
    clearInterval(timer);
    observer.disconnect();
  });
}

/** The median and range of one figure over the runs. */
const spread = (xs: number[]) => ({ median: median(xs), min: Math.min(...xs), max: Math.max(...xs) });

async function main(): Promise<void> {
  const args = benchArgs(BENCH, process.argv.slice(2), [], ['--runs', '--steps', '--crop', '--out']);
  const runs = args.count('--runs', 5);
  const steps = args.count('--steps', 6);
  const crop = args.count('--crop', 65);
  if (runs < 1 || steps < 1 || crop < 33) throw new Error(`${BENCH}: --runs and --steps must be at least 1, --crop at least 33`);
  requireChromium(BENCH);
  const { png, strokes } = await teachingWindow(crop);
  const { server, url } = await startDemoServer({ weightsDir: sharedPath('weights'), samplesDir: join(VOC, 'JPEGImages') });
  const host = `${cpus()[0]?.model.trim() ?? 'unknown CPU'}, ${cpus().length} cores`;
  const figures: RunFigures[] = [];
  const version = execFileSync(CHROMIUM, ['--version'], { encoding: 'utf8' }).trim();
  try {
    for (let r = 0; r < runs; r++) {
      // A fresh profile each run: its storage empty, as a first visit.
      const profile = mkdtempSync(join(tmpdir(), 'deeplab-responsiveness-'));
      const browser = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: chromiumFlags('swiftshader') });
      try {
        const page = await browser.newPage();
        await page.goto(url);
        await page.evaluate(() => (window as unknown as { deeplabDemo: { teachReady: Promise<void> } }).deeplabDemo.teachReady);
        const f = await page.evaluate(pageRun, { png, strokes, steps, crop, idleMs: IDLE_MS });
        figures.push(f);
        console.log(
          `run ${r + 1}/${runs}: idle gap ${f.idleGapMs.toFixed(0)} ms; teaching ${steps} steps (${f.teach.seconds.toFixed(1)} s): longest task ${f.teach.longestTaskMs.toFixed(0)} ms, gap ${f.teach.longestGapMs.toFixed(0)} ms; ` +
            `segmenting in the worker (${f.segment.ms.toFixed(0)} ms): longest task ${f.segment.longestTaskMs.toFixed(0)} ms, gap ${f.segment.longestGapMs.toFixed(0)} ms`,
        );
      } finally {
        await browser.close();
        rmSync(profile, { recursive: true, force: true });
      }
    }
  } finally {
    server.close();
  }
  const summary = {
    idleGapMs: spread(figures.map((f) => f.idleGapMs)),
    teach: { longestTaskMs: spread(figures.map((f) => f.teach.longestTaskMs)), longestGapMs: spread(figures.map((f) => f.teach.longestGapMs)), seconds: spread(figures.map((f) => f.teach.seconds)) },
    segment: { longestTaskMs: spread(figures.map((f) => f.segment.longestTaskMs)), longestGapMs: spread(figures.map((f) => f.segment.longestGapMs)), ms: spread(figures.map((f) => f.segment.ms)) },
  };
  const row = (what: string, s: { median: number; min: number; max: number }) => console.log(`  ${what.padEnd(44)} ${s.median.toFixed(0).padStart(6)} ms  (${s.min.toFixed(0)}-${s.max.toFixed(0)})`);
  console.log(`\nthe page's main thread, median (range) of ${runs} runs; ${host}, ${version} on SwiftShader`);
  row('idle: longest timer gap', summary.idleGapMs);
  row(`teaching ${steps} steps at crop ${crop}: longest task`, summary.teach.longestTaskMs);
  row('                          longest timer gap', summary.teach.longestGapMs);
  row('segmenting in the worker: longest task', summary.segment.longestTaskMs);
  row('                          longest timer gap', summary.segment.longestGapMs);
  const out = args.value('--out');
  if (out) writeReport(out, { bench: 'page-responsiveness', date: new Date().toISOString(), host, chromium: version, adapter: 'swiftshader', runs, steps, crop, summary, figures });
}

runIfMain(import.meta.url, main);
