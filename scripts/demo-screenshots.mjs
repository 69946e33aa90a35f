// The demo's screenshots in docs/img/, made from the real page: `npm run build`, then
// `node scripts/demo-screenshots.mjs`. It serves the demo (the weights and VOC sample of ../shared),
// opens it in headless Chromium on SwiftShader (as the browser tests do; a few minutes on a CPU
// adapter), and photographs its states:
//   demo-segment.png     a VOC image segmented, segmented again (first and warm times apart)
//   demo-teach.png       strokes painted from the image's ground truth, a short fine-tune, the curve
//   demo-kept.png        the taught model kept in the browser
//   demo-no-webgpu.png   the page as a browser without WebGPU sees it (?webgpu=off): the image
//                        segmented on the CPU, teaching unavailable
//   demo-dark.png        the segment panel with prefers-color-scheme: dark
//   demo.png             the whole page after teaching (the README's and docs/browser.md's picture)
import { mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { chromium } from 'playwright-core';
import { startDemoServer } from '../dist/demo/server.js';
import { readIndexedPng } from '../dist/src/io/png-indexed.js';
import { CHROMIUM, CHROMIUM_FLAGS, requireChromium } from '../dist/test/browser/chromium.js';
import { sharedPath } from '../dist/test/shared.js';

const OUT = resolve('docs', 'img');
const IMAGE = '2007_000033';
const STEPS = 20;

/** The status bar sits at the window's foot; in a picture of one panel it would cover the panel's foot. */
const UNSTICK = '.status-bar { position: static !important; }';

/** Strokes a user would paint from the ground truth: along every 24th row, one per run of one class, inset from its ends. */
function strokesFrom(labels, width, height) {
  const strokes = [];
  for (let y = 12; y < height - 1; y += 24) {
    for (let x = 0; x < width; ) {
      const c = labels[y * width + x];
      let end = x;
      while (end + 1 < width && labels[y * width + end + 1] === c) end++;
      if (c !== 255 && end - x >= 16) strokes.push({ class: c, radius: 4, points: [[x + 6, y], [end - 6, y]] });
      x = end + 1;
    }
  }
  return strokes;
}

requireChromium('demo screenshots');
mkdirSync(OUT, { recursive: true });
const { server, url } = await startDemoServer({});
const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_FLAGS });
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, colorScheme: 'light' });
  const page = await context.newPage();
  page.on('pageerror', (e) => console.error(`page error: ${e.message}`));
  await page.goto(url);
  await page.addStyleTag({ content: UNSTICK });
  await page.evaluate(() => window.deeplabDemo.keptReady);
  for (let i = 0; i < 2; i++) await page.evaluate((image) => window.deeplabDemo.segmentUrl(`/samples/${image}.jpg`), IMAGE);
  await page.locator('#segment-panel').screenshot({ path: join(OUT, 'demo-segment.png') });
  console.log('demo-segment.png');

  const truth = readIndexedPng(readFileSync(sharedPath('data', 'voc-sample', 'SegmentationClass', `${IMAGE}.png`)));
  const strokes = strokesFrom(truth.indices, truth.width, truth.height);
  const run = await page.evaluate(
    ({ image, strokes, steps }) => window.deeplabDemo.teach({ images: [{ url: `/samples/${image}.jpg`, strokes }], steps, crop: 129, batch: 2, lr: 0.0003, seed: 1, every: 5 }),
    { image: IMAGE, strokes, steps: STEPS },
  );
  console.log(`taught: loss ${run.losses[0].toFixed(3)} -> ${run.losses.at(-1).toFixed(3)} in ${run.seconds.toFixed(0)} s`);
  await page.locator('#teach').screenshot({ path: join(OUT, 'demo-teach.png') });
  console.log('demo-teach.png');
  await page.evaluate(() => window.deeplabDemo.keepTaught('aeroplane, taught'));
  await page.locator('#kept-panel').screenshot({ path: join(OUT, 'demo-kept.png') });
  console.log('demo-kept.png');
  await page.screenshot({ path: join(OUT, 'demo.png'), fullPage: true });
  console.log('demo.png');

  await page.goto(`${url}?webgpu=off`);
  await page.evaluate(() => window.deeplabDemo.keptReady);
  await page.evaluate((image) => window.deeplabDemo.segmentUrl(`/samples/${image}.jpg`), IMAGE);
  await page.screenshot({ path: join(OUT, 'demo-no-webgpu.png') });
  console.log('demo-no-webgpu.png');

  const dark = await browser.newContext({ viewport: { width: 1280, height: 900 }, colorScheme: 'dark' });
  const darkPage = await dark.newPage();
  await darkPage.goto(url);
  await darkPage.addStyleTag({ content: UNSTICK });
  await darkPage.evaluate(() => window.deeplabDemo.keptReady);
  await darkPage.evaluate((image) => window.deeplabDemo.segmentUrl(`/samples/${image}.jpg`), IMAGE);
  await darkPage.locator('#segment-panel').screenshot({ path: join(OUT, 'demo-dark.png') });
  console.log('demo-dark.png');
} finally {
  await browser.close();
  server.close();
}
