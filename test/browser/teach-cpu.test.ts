// The demo's teach mode where the browser has no WebGPU (Chromium without its flag, Firefox without
// its pref): the page offers teaching on the CPU, and strokes painted over a VOC window train 6
// steps at crop 65 in the page's worker on onnxruntime-web (the page's main thread makes no WebGPU
// call and sends the painted window once); the loss falls, the run is kept in the browser's
// storage (OPFS) as on WebGPU, and the page reloaded mid-run resumes it with the losses of the run
// never stopped (recipe 'plain'). The page's own recipe for strokes (the starting model's classes
// distilled, held-out strokes measured whole by a second run on the CPU) teaches there too.
import { expect } from 'chai';
import { encodeRgbPng } from '../../src/io/png-rgb.js';
import { cropImage, cropLabels, teachWindow } from '../train/teach-fixture.js';
import { waitUntil } from '../wait-until.js';
import { BROWSER_TITLES, BROWSERS, openTestPage, repeatTag, type TestPage } from './browsers.js';
import { type WatchWindow, installMainThreadWatch } from './main-thread-watch.js';
import { strokesFrom } from './teach-strokes.js';

const SIZE = 65;
const STEPS = 6;
/** The most bytes a message between the page and the teaching worker carries while it trains. */
const MAX_STEP_MESSAGE_BYTES = 4096;

interface CpuTeachDemo {
  teach(o: unknown): Promise<{ losses: number[]; seconds: number; trainedFrom: number; trainedAt: number; figures: { heldOutLoss: { before: number; after: number } | null; keptStep: number; steps: number } }>;
  unfinishedRun(): Promise<{ step: number; steps: number } | null>;
  resumeRun(probe?: unknown): Promise<{ losses: number[] }>;
  teachReady: Promise<void>;
  keptReady: Promise<void>;
}

for (const browser of BROWSERS) {
  describe(`browser: teaching on the CPU in the demo, headless ${BROWSER_TITLES[browser]} without WebGPU @slow${repeatTag(browser, 'chromium')}`, function () {
    this.timeout(600_000);
    let page: TestPage;

    before(async () => {
      page = await openTestPage(browser, { webgpu: false });
      await page.evaluate(() => (window as unknown as { deeplabDemo: CpuTeachDemo }).deeplabDemo.teachReady);
    });

    after(async () => {
      await page?.close();
    });

    it('6 steps at crop 65 in the worker lower the loss; a reload mid-run resumes with the losses of the run never stopped', async () => {
      expect(await page.evaluate(() => ({ teach: !document.getElementById('teach')!.hidden, gpu: 'gpu' in navigator && navigator.gpu !== undefined }))).to.include({ teach: true });
      const w = await teachWindow(SIZE);
      const image = cropImage(w.photo, w.x, w.y, SIZE, SIZE);
      const png = Buffer.from(encodeRgbPng(image)).toString('base64');
      const strokes = strokesFrom(cropLabels(w.truth, w.x, w.y, SIZE, SIZE), SIZE, SIZE);
      const settings = { recipe: 'plain', steps: STEPS, crop: SIZE, batch: 1, lr: 0.0003, seed: 1, augment: false, every: 2 };
      await page.evaluate(installMainThreadWatch);
      const run = await page.evaluate(
        async ({ png, strokes, settings }) => {
          const result = await (window as unknown as { deeplabDemo: CpuTeachDemo }).deeplabDemo.teach({ images: [{ url: `data:image/png;base64,${png}`, name: 'window.png', strokes }], ...settings });
          return { ...result, main: (window as unknown as WatchWindow).mainThreadWatch.report(result.trainedFrom, result.trainedAt) };
        },
        { png, strokes, settings },
      );
      console.log(`      (loss ${run.losses.map((l) => l.toFixed(3)).join(' ')}; ${run.seconds.toFixed(1)} s for ${STEPS} steps on the CPU in the worker)`);
      expect(run.losses).to.have.length(STEPS);
      expect(run.losses.at(-1)!, 'the last loss').to.be.lessThan(0.7 * run.losses[0]);
      // The worker trains: the page makes no WebGPU call, sends the window once and reads a step's record at a time.
      expect(run.main.gpuCalls).to.deep.equal([]);
      expect(run.main.toWorker.largest).to.be.at.most(SIZE * SIZE * 4 + MAX_STEP_MESSAGE_BYTES);
      expect(run.main.fromWorker.largest).to.be.at.most(MAX_STEP_MESSAGE_BYTES);

      // Again, reloaded after its third step: the kept run (OPFS) is offered and resumed.
      await page.evaluate(
        ({ png, strokes, settings }) => {
          const w = window as unknown as { deeplabDemo: CpuTeachDemo; __again: Promise<unknown> };
          document.getElementById('teach-progress')!.textContent = '';
          w.__again = w.deeplabDemo.teach({ images: [{ url: `data:image/png;base64,${png}`, name: 'window.png', strokes }], ...settings });
          w.__again.catch(() => undefined);
        },
        { png, strokes, settings },
      );
      await waitUntil(async () => /^step [3-9]\//.test((await page.textContent('#teach-progress')) ?? ''), 'the second run to reach step 3 (#teach-progress)');
      await page.reload();
      await page.evaluate(() => (window as unknown as { deeplabDemo: CpuTeachDemo }).deeplabDemo.keptReady);
      const offer = await page.evaluate(() => (window as unknown as { deeplabDemo: CpuTeachDemo }).deeplabDemo.unfinishedRun());
      expect(offer, 'the unfinished run offered after the reload').to.not.equal(null);
      expect(offer!.step).to.be.oneOf([2, 4]);
      const resumed = await page.evaluate(async () => (window as unknown as { deeplabDemo: CpuTeachDemo }).deeplabDemo.resumeRun());
      expect(resumed.losses, 'every step of the resumed run: those kept, then the new').to.deep.equal(run.losses);
      expect(page.pageErrors, 'no uncaught errors in the page').to.deep.equal([]);
    });

    it("the recipe for strokes (the page's default) teaches 4 steps at crop 65 on the CPU: the held-out strokes measured, a step kept", async () => {
      const w = await teachWindow(SIZE);
      const png = Buffer.from(encodeRgbPng(cropImage(w.photo, w.x, w.y, SIZE, SIZE))).toString('base64');
      const strokes = strokesFrom(cropLabels(w.truth, w.x, w.y, SIZE, SIZE), SIZE, SIZE);
      const run = await page.evaluate(
        ({ png, strokes, size }) => (window as unknown as { deeplabDemo: CpuTeachDemo }).deeplabDemo.teach({ images: [{ url: `data:image/png;base64,${png}`, name: 'window.png', strokes }], steps: 4, crop: size, seed: 1, every: 10 }),
        { png, strokes, size: SIZE },
      );
      console.log(`      (recipe 'strokes': loss ${run.losses.map((l) => l.toFixed(3)).join(' ')}; held-out ${run.figures.heldOutLoss?.before.toFixed(3)} to ${run.figures.heldOutLoss?.after.toFixed(3)}, step ${run.figures.keptStep} kept; ${run.seconds.toFixed(1)} s)`);
      expect(run.losses).to.have.length(4);
      expect(run.losses.every(Number.isFinite)).to.equal(true);
      expect(run.figures.heldOutLoss, 'the held-out strokes measured').to.not.equal(null);
      expect(run.figures.keptStep).to.be.within(0, 4);
      expect(page.pageErrors, 'no uncaught errors in the page').to.deep.equal([]);
    });
  });
}
