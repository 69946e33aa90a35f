// The engine in a Web Worker (SegmentationWorker), in headless Chromium (SwiftShader) and Firefox
// (wgpu on lavapipe): the worker's class map is Node's, errors come back as errors, and the page's
// main thread keeps running while the worker segments (timer ticks measured during the call).
import type { ModelMemory } from '../../src/model/memory.js';
import { expect } from 'chai';
import { loadModel } from '../../src/model/model.js';
import { testContext } from '../helpers.js';
import { BROWSERS, BROWSER_TITLES, type TestPage, openTestPage } from './browsers.js';
import { PLAIN_PAGE } from './chromium.js';
import { sharedPath } from '../shared.js';

const IMAGE = '2007_000033.jpg';
/** The bundle as the page imports it (a variable, so the compiler does not look for the module). */
const BUNDLE = '/deeplab.js';

interface Measured {
  width: number;
  height: number;
  classes: number[];
  /** Longest gap between 10 ms timer ticks on the page while the call ran, and the ticks seen. */
  maxGapMs: number;
  ticks: number;
  ms: number;
  /** The model's GPU memory as the worker reported it at load and after the call. */
  loadedMemory: ModelMemory;
  memory: ModelMemory;
}

for (const browser of BROWSERS) {
  describe(`browser: the engine in a Web Worker in headless ${BROWSER_TITLES[browser]} @slow`, function () {
    this.timeout(240_000);
    let page: TestPage;

    before(async () => {
      // A blank page of the demo's origin: the test imports the bundle itself.
      page = await openTestPage(browser, { path: PLAIN_PAGE });
    });

    after(async () => {
      await page?.close();
    });

    it("segments in the worker as Node does (>= 99.9 % of pixels) while the page's main thread keeps ticking", async () => {
      const inWorker: Measured = await page.evaluate(async ({ image, bundle }) => {
        const { SegmentationWorker } = await import(bundle);
        const worker = SegmentationWorker.start('/deeplab-worker.js');
        try {
          const loaded = await worker.load('/weights/deeplabv3_257_mv_gpu.tflite');
          const blob = await (await fetch(`/samples/${image}`)).blob();
          await worker.segment(blob); // warm-up: the first pass compiles the pipelines
          let last = performance.now();
          let maxGapMs = 0;
          let ticks = 0;
          const timer = setInterval(() => {
            const now = performance.now();
            maxGapMs = Math.max(maxGapMs, now - last);
            last = now;
            ticks++;
          }, 10);
          const t0 = performance.now();
          const r = await worker.segment(blob);
          const ms = performance.now() - t0;
          clearInterval(timer);
          maxGapMs = Math.max(maxGapMs, performance.now() - last);
          return { width: r.width, height: r.height, classes: Array.from(r.classes), maxGapMs, ticks, ms, loadedMemory: loaded.memory, memory: r.memory };
        } finally {
          await worker.terminate();
        }
      }, { image: IMAGE, bundle: BUNDLE });
      const model = await loadModel(sharedPath('weights', 'deeplabv3_257_mv_gpu.tflite'), { ctx: await testContext() });
      try {
        const inNode = await model.segment(sharedPath('data', 'voc-sample', 'JPEGImages', IMAGE));
        expect([inWorker.width, inWorker.height]).to.deep.equal([inNode.width, inNode.height]);
        let same = 0;
        for (let i = 0; i < inNode.classes.length; i++) if (inNode.classes[i] === inWorker.classes[i]) same++;
        expect(same / inNode.classes.length, 'agreement with Node').to.be.at.least(0.999);
        // The worker reports the model's GPU memory: the same weights as in Node, and programs
        // made for the image on top of those made at load.
        expect(inWorker.loadedMemory.weights, 'weights in the worker').to.equal(model.memory().weights);
        expect(inWorker.memory.weights).to.equal(inWorker.loadedMemory.weights);
        expect(inWorker.memory.total, 'memory after segmenting').to.be.greaterThan(inWorker.loadedMemory.total);
        expect(inWorker.memory.total).to.equal(inWorker.memory.weights + inWorker.memory.activations + inWorker.memory.readback + inWorker.memory.kernels + inWorker.memory.frames);
      } finally {
        model.dispose();
      }
      console.log(`      (worker: ${inWorker.ms.toFixed(0)} ms a segment; the page's 10 ms timer ticked ${inWorker.ticks} times, longest gap ${inWorker.maxGapMs.toFixed(0)} ms)`);
      // The call takes seconds on SwiftShader; a main thread doing that work would not tick at all.
      expect(inWorker.ticks, 'timer ticks during the call').to.be.at.least(Math.floor(inWorker.ms / 100));
      expect(inWorker.maxGapMs, 'longest main-thread gap').to.be.below(Math.min(500, inWorker.ms / 2));
      expect(page.pageErrors).to.deep.equal([]);
    });

    it('reports errors as errors: no model loaded, weights not found, an image it cannot decode, a terminated worker', async () => {
      const errors = await page.evaluate(async (bundle) => {
        const { SegmentationWorker } = await import(bundle);
        const worker = SegmentationWorker.start('/deeplab-worker.js');
        const caught = async (p: Promise<unknown>): Promise<string> => {
          try {
            await p;
            return 'no error';
          } catch (e) {
            return (e as Error).message;
          }
        };
        const pixels = new ImageData(4, 4);
        const noModel = await caught(worker.segment(pixels));
        const missing = await caught(worker.load('/weights/missing.tflite'));
        const notImage = await caught(worker.segment(new Blob([new Uint8Array([1, 2, 3])])));
        await worker.terminate();
        const afterTerminate = await caught(worker.segment(pixels));
        return { noModel, missing, notImage, afterTerminate };
      }, BUNDLE);
      expect(errors.noModel).to.match(/no model loaded in the worker/);
      expect(errors.missing).to.match(/missing\.tflite: the weights could not be fetched \(HTTP 404/);
      expect(errors.notImage).to.match(/not an image this browser can decode/);
      expect(errors.afterTerminate).to.match(/terminated/);
    });
  });
}
