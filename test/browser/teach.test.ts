// The demo's teach mode in headless Chromium (SwiftShader) and Firefox (wgpu on lavapipe): strokes
// painted from a VOC image's ground truth over a small window of it, a few fine-tuning steps on
// the page's GPU lower the loss and draw the curve while the page's own timer keeps ticking, the
// taught model's segmentation is shown, and the checkpoint the page offers as a download loads in
// Node and gives the page's logits.
import { expect } from 'chai';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { encodeRgbPng } from '../../src/io/png-rgb.js';
import { loadModel } from '../../src/model/model.js';
import { relativeError, testContext } from '../helpers.js';
import { cropImage, cropLabels, teachWindow } from '../train/teach-fixture.js';
import { BROWSERS, BROWSER_TITLES, type TestPage, openTestPage } from './browsers.js';
import { sharedPath } from '../shared.js';

/** The teaching window's size, and the crop the page trains on: the same crop every step. */
const SIZE = 65;
const STEPS = 6;

interface Stroke {
  class: number;
  radius: number;
  points: [number, number][];
}

interface TeachResult {
  losses: number[];
  seconds: number;
  painted: number[];
  logits: string;
}

/** A user's strokes: along every 4th row, one per run of one class (a pixel short of each end), radius 1. */
function strokesFrom(labels: Uint8Array, width: number, height: number): Stroke[] {
  const strokes: Stroke[] = [];
  for (let y = 2; y < height - 1; y += 4) {
    for (let x = 0; x < width; ) {
      const c = labels[y * width + x];
      let end = x;
      while (end + 1 < width && labels[y * width + end + 1] === c) end++;
      // Rows above and below must agree too, as the brush covers them.
      const steady = (px: number) => labels[(y - 1) * width + px] === c && labels[(y + 1) * width + px] === c;
      if (c !== 255 && end - x >= 4 && steady(x + 1) && steady(end - 1)) strokes.push({ class: c, radius: 1, points: [[x + 1, y], [end - 1, y]] });
      x = end + 1;
    }
  }
  return strokes;
}

for (const browser of BROWSERS) {
  describe(`browser: teaching a model in the page (the demo's teach mode) in headless ${BROWSER_TITLES[browser]} @slow`, function () {
    this.timeout(300_000);
    let page: TestPage;

    before(async () => {
      page = await openTestPage(browser);
      await page.evaluate(() => (window as unknown as { deeplabDemo: { ready: Promise<void>; teachReady: Promise<void> } }).deeplabDemo.teachReady);
    });

    after(async () => {
      await page?.close();
    });

    it("a few steps on painted strokes lower the loss; the downloaded checkpoint gives the page's logits in Node", async () => {
      const w = await teachWindow(SIZE);
      expect(w.minority, 'the window holds both classes').to.be.greaterThan(300);
      const image = cropImage(w.photo, w.x, w.y, SIZE, SIZE);
      const strokes = strokesFrom(cropLabels(w.truth, w.x, w.y, SIZE, SIZE), SIZE, SIZE);
      expect(new Set(strokes.map((s) => s.class)), 'strokes of both classes').to.deep.equal(new Set([0, 1]));
      // A smaller window for the logits: the network still runs at its 257x257.
      const probe = cropImage(w.photo, w.x + 8, w.y + 8, 40, 30);
      const run = await page.evaluate(
        async ({ png, strokes, probe, steps, size }) => {
          // The page's own timer, ticking every 10 ms while the model is taught.
          let last = performance.now();
          let maxGapMs = 0;
          let ticks = 0;
          const timer = setInterval(() => {
            const now = performance.now();
            maxGapMs = Math.max(maxGapMs, now - last);
            last = now;
            ticks++;
          }, 10);
          try {
            const result = await (window as unknown as { deeplabDemo: { teach(o: unknown): Promise<TeachResult> } }).deeplabDemo.teach({
              images: [{ url: `data:image/png;base64,${png}`, name: 'window.png', strokes }],
              steps,
              crop: size,
              batch: 1,
              lr: 0.0003,
              seed: 1,
              augment: false,
              probe,
            });
            return { ...result, maxGapMs: Math.max(maxGapMs, performance.now() - last), ticks };
          } finally {
            clearInterval(timer);
          }
        },
        {
          png: Buffer.from(encodeRgbPng(image)).toString('base64'),
          strokes,
          probe: { width: probe.width, height: probe.height, data: Buffer.from(probe.data).toString('base64') },
          steps: STEPS,
          size: SIZE,
        },
      );
      console.log(`      (${run.painted[0]} pixels painted; loss ${run.losses.map((l) => l.toFixed(3)).join(' ')}; ${run.seconds.toFixed(1)} s for ${STEPS} steps in the page; its 10 ms timer ticked ${run.ticks} times, longest gap ${run.maxGapMs.toFixed(0)} ms)`);
      expect(run.losses).to.have.length(STEPS);
      expect(run.painted[0], 'pixels painted').to.be.greaterThan(300);
      expect(run.losses.at(-1)!, 'the last loss').to.be.lessThan(0.5 * run.losses[0]);
      expect(run.maxGapMs, "longest gap between the page's timer ticks while it was taught (ms)").to.be.lessThan(2000);
      expect(await page.textContent('#teach-progress')).to.match(new RegExp(`^step ${STEPS}/${STEPS}: loss \\d`));
      expect(await page.textContent('#status')).to.match(/^taught in 6 steps/);
      // The taught model's segmentation is shown beside the painted image.
      expect(await page.evaluate(() => Array.from(document.querySelectorAll('.teach-card canvas')).map((c) => [(c as HTMLCanvasElement).width, (c as HTMLCanvasElement).hidden]))).to.deep.equal([
        [SIZE, false],
        [SIZE, false],
      ]);

      // The download the page offers.
      mkdirSync('out', { recursive: true });
      const path = join('out', `taught-${browser}.safetensors`);
      expect(await page.download('#teach-download', path)).to.equal('mobilenetv2-pascal-257-taught.safetensors');
      const model = await loadModel(path, { ctx: await testContext() });
      try {
        expect(model.name).to.equal('mobilenetv2-pascal-257');
        const inNode = (await model.segment(probe, { include: ['logits'] })).logits!;
        const bytes = Buffer.from(run.logits, 'base64');
        const inPage = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
        const err = relativeError(inPage, inNode);
        console.log(`      (page (${BROWSER_TITLES[browser]}) vs Node (checkpoint, Dawn) logits: relative error ${err.toExponential(2)} over ${inNode.length} values)`);
        expect(inPage.length).to.equal(40 * 30 * 21);
        expect(err).to.be.lessThan(1e-4);
      } finally {
        model.dispose();
      }
      // And they are not the untaught model's.
      const untaught = await loadModel(sharedPath('weights', 'deeplabv3_257_mv_gpu.tflite'), { ctx: await testContext() });
      try {
        const before = (await untaught.segment(probe, { include: ['logits'] })).logits!;
        const bytes = Buffer.from(run.logits, 'base64');
        expect(relativeError(new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4), before), 'taught vs untaught logits').to.be.greaterThan(1e-3);
      } finally {
        untaught.dispose();
      }
      await page.screenshot(join('out', `teach-${browser}.png`));
      expect(page.pageErrors, 'no uncaught errors in the page').to.deep.equal([]);
    });

    it('an image with nothing painted, or a loss the model cannot take, is refused on the page with a clear message; the brush paints where dragged', async () => {
      const error = await page.evaluate(async () => {
        try {
          await (window as unknown as { deeplabDemo: { teach(o: unknown): Promise<unknown> } }).deeplabDemo.teach({
            images: [{ url: '/samples/2007_000033.jpg', strokes: [] }],
            steps: 2,
            crop: 33,
            lr: 0.0003,
          });
          return null;
        } catch (e) {
          return (e as Error).message;
        }
      });
      expect(error, 'teaching with no strokes must fail').to.equal('fineTune: sample 0: no pixel is labelled (paint at least one stroke)');
      expect(await page.textContent('#status')).to.equal(error);
      expect(await page.evaluate(() => (document.getElementById('teach-train') as HTMLButtonElement).disabled), 'the Train button is usable again').to.equal(false);

      // The loss picker offers deeplab train's losses and its choice reaches fineTune: BCE, a binary model's loss, is refused for this one.
      expect(await page.evaluate(() => Array.from((document.getElementById('teach-loss-choice') as HTMLSelectElement).options).map((o) => o.value))).to.deep.equal(['ce', 'bce', 'dice', 'ce+dice', 'bce+dice']);
      const bce = await page.evaluate(async () => {
        try {
          await (window as unknown as { deeplabDemo: { teach(o: unknown): Promise<unknown> } }).deeplabDemo.teach({ images: [{ url: '/samples/2007_000033.jpg', strokes: [] }], steps: 1, crop: 33, lr: 0.0003, loss: 'bce' });
          return null;
        } catch (e) {
          return (e as Error).message;
        }
      });
      expect(bce).to.equal("fineTune: loss 'bce': BCE is a binary model's loss (smp classes 1); this model has several classes: use 'ce'");

      // The brush: a drag across the middle of the image paints a band of the chosen class.
      const box = (await page.boundingBox('.teach-card canvas'))!;
      const width = await page.evaluate(() => (document.querySelector('.teach-card canvas') as HTMLCanvasElement).width);
      const brush = Number(await page.evaluate(() => (document.getElementById('teach-brush') as HTMLInputElement).value));
      await page.mouse.move(box.x + 0.25 * box.width, box.y + box.height / 2);
      await page.mouse.down();
      await page.mouse.move(box.x + 0.75 * box.width, box.y + box.height / 2, { steps: 12 });
      await page.mouse.up();
      const painted = Number(/(\d+) pixels painted/.exec((await page.textContent('.teach-card figcaption'))!)![1]);
      const r = (brush * width) / box.width;
      const expected = 0.5 * width * 2 * r + Math.PI * r * r;
      expect(painted / expected, `${painted} pixels painted, about ${expected.toFixed(0)} expected`).to.be.within(0.85, 1.15);
    });
  });
}
