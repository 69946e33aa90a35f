// The demo's teach mode in headless Chromium (SwiftShader) and Firefox (wgpu on lavapipe): strokes
// painted from a VOC image's ground truth over a small window of it, a few fine-tuning steps in the
// page's worker lower the loss and draw the curve while the page's main thread makes no WebGPU call
// and exchanges only small messages with the worker (main-thread-watch.ts), the taught model's
// segmentation is shown, and the checkpoint the page offers as a download loads in Node and gives
// the page's logits. The model kept in the browser's storage segments the window after a reload as
// it did before, and a finished run leaves nothing to resume; axe-core finds nothing serious on the
// page's teaching and kept-model states. (A run reloaded mid-training and resumed:
// teach-cpu.test.ts for the demo's offer and Resume, checkpoint-page.test.ts for fineTune on
// WebGPU in the page; each teaches again after a reload, which compiles its step again.)
import { expect } from 'chai';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { encodeRgbPng } from '../../src/io/png-rgb.js';
import { loadModel } from '../../src/model/model.js';
import { relativeError, testContext } from '../helpers.js';
import { seriousViolations } from './axe.js';
import { cropImage, cropLabels, teachWindow } from '../train/teach-fixture.js';
import { strokesFrom } from './teach-strokes.js';
import { BROWSER_TITLES, BROWSERS, openTestPage, repeatTag, type TestPage } from './browsers.js';
import { type WatchWindow, installMainThreadWatch } from './main-thread-watch.js';
import { sharedPath } from '../shared.js';

/** The teaching window's size, and the crop the page trains on: the same crop every step. */
const SIZE = 65;
const STEPS = 6;

interface TeachResult {
  losses: number[];
  seconds: number;
  /** When the training began and ended (performance.now() in the page). */
  trainedFrom: number;
  trainedAt: number;
  painted: number[];
  logits: string;
}

interface TeachDemo {
  teach(o: unknown): Promise<TeachResult>;
  unfinishedRun(): Promise<{ step: number; steps: number; model: string; images: number } | null>;
  keepTaught(name: string): Promise<{ name: string; bytes: number }>;
  segmentTaught(url: string): Promise<number[]>;
  segmentUrl(url: string): Promise<{ classes: number[] }>;
  chooseModel(value: string): void;
  keptList(): Promise<string[][]>;
  ready: Promise<void>;
  teachReady: Promise<void>;
  keptReady: Promise<void>;
}

/** The most bytes a message between the page and the teaching worker may carry while it trains: a step's loss and timing, a progress line. */
const MAX_STEP_MESSAGE_BYTES = 4096;
/** The kept model's name. */
const KEPT = 'taught window';

for (const browser of BROWSERS) {
  describe(`browser: teaching a model in the page (the demo's teach mode) in headless ${BROWSER_TITLES[browser]} @slow${repeatTag(browser, 'firefox')}`, function () {
    // A run taught, downloaded, reloaded and resumed (the test's earlier form) took 174 s with the host's cores shared.
    this.timeout(600_000);
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
      await page.evaluate(installMainThreadWatch);
      const run = await page.evaluate(
        async ({ png, strokes, probe, steps, size }) => {
          const result = await (window as unknown as { deeplabDemo: { teach(o: unknown): Promise<TeachResult> } }).deeplabDemo.teach({
            images: [{ url: `data:image/png;base64,${png}`, name: 'window.png', strokes }],
            recipe: 'plain',
            steps,
            crop: size,
            batch: 1,
            lr: 0.0003,
            seed: 1,
            augment: false,
            every: 2,
            probe,
          });
          // While the worker trained: the painted image and strokes go to it as training begins, a step's record comes back after each step.
          return { ...result, main: (window as unknown as WatchWindow).mainThreadWatch.report(result.trainedFrom, result.trainedAt) };
        },
        {
          png: Buffer.from(encodeRgbPng(image)).toString('base64'),
          strokes,
          probe: { width: probe.width, height: probe.height, data: Buffer.from(probe.data).toString('base64') },
          steps: STEPS,
          size: SIZE,
        },
      );
      const { main } = run;
      console.log(
        `      (${run.painted[0]} pixels painted; loss ${run.losses.map((l) => l.toFixed(3)).join(' ')}; ${run.seconds.toFixed(1)} s for ${STEPS} steps in the page; ` +
          `while the worker trained the page sent ${main.toWorker.count} messages (largest ${main.toWorker.largest} bytes) and read ${main.fromWorker.count} (largest ${main.fromWorker.largest} bytes))`,
      );
      expect(run.losses).to.have.length(STEPS);
      expect(run.painted[0], 'pixels painted').to.be.greaterThan(300);
      expect(run.losses.at(-1)!, 'the last loss').to.be.lessThan(0.5 * run.losses[0]);
      // The trainer runs in the worker: the main thread asks the GPU for nothing while it trains,
      // and sends the painted window once (its RGB and a label a pixel, with the request), then
      // reads no more than a step's record at a time.
      expect(main.gpuCalls, "the main thread's WebGPU calls while the worker taught").to.deep.equal([]);
      expect(main.toWorker.largest, 'the largest message to the worker (bytes)').to.be.at.most(SIZE * SIZE * 4 + MAX_STEP_MESSAGE_BYTES);
      expect(main.fromWorker.count, 'messages from the worker: at least one a step').to.be.at.least(STEPS);
      expect(main.fromWorker.largest, 'the largest message from the worker while it trained (bytes)').to.be.at.most(MAX_STEP_MESSAGE_BYTES);
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
      expect(await seriousViolations(page), 'serious accessibility violations (axe-core) while teaching').to.deep.equal([]);
      await page.screenshot(join('out', `teach-${browser}.png`));

      // Kept in the browser's storage: listed, and its class map of the window, for after the reload.
      const windowUrl = `data:image/png;base64,${Buffer.from(encodeRgbPng(image)).toString('base64')}`;
      const kept = await page.evaluate(async ({ name }) => (window as unknown as { deeplabDemo: TeachDemo }).deeplabDemo.keepTaught(name), { name: KEPT });
      expect(kept.name).to.equal(KEPT);
      const taughtClasses = await page.evaluate(async (url) => (window as unknown as { deeplabDemo: TeachDemo }).deeplabDemo.segmentTaught(url), windowUrl);
      expect((await page.evaluate(async () => (window as unknown as { deeplabDemo: TeachDemo }).deeplabDemo.keptList()))[0]).to.deep.include.members([KEPT, 'mobilenetv2-pascal-257']);
      expect(await seriousViolations(page), 'serious accessibility violations (axe-core) with a kept model listed').to.deep.equal([]);

      // After a reload: nothing to resume (the run finished), and the kept model as before.
      await page.reload();
      await page.evaluate(() => (window as unknown as { deeplabDemo: TeachDemo }).deeplabDemo.keptReady);
      expect(await page.evaluate(() => (window as unknown as { deeplabDemo: TeachDemo }).deeplabDemo.unfinishedRun()), 'nothing left to resume after a run that finished').to.equal(null);

      // The kept model, after the reload, in the segment panel: the window's class map as before it was kept.
      const list = await page.evaluate(() => (window as unknown as { deeplabDemo: TeachDemo }).deeplabDemo.keptList());
      expect(list.map((r) => r[0])).to.deep.equal([KEPT]);
      const again = await page.evaluate(async ({ name, url }) => {
        const d = (window as unknown as { deeplabDemo: TeachDemo }).deeplabDemo;
        d.chooseModel(`kept:${name}`);
        return (await d.segmentUrl(url)).classes;
      }, { name: KEPT, url: windowUrl });
      let same = 0;
      for (let i = 0; i < taughtClasses.length; i++) if (taughtClasses[i] === again[i]) same++;
      expect(again).to.have.length(SIZE * SIZE);
      expect(same, 'pixels the kept model segments as the taught one did').to.equal(SIZE * SIZE);
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
