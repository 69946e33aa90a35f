// The engine in a Web Worker (SegmentationWorker), in headless Chromium (SwiftShader) and Firefox
// (wgpu on lavapipe): the worker's class map is Node's, errors come back as errors, and the page's
// main thread does no GPU work and passes only the image and the class map while the worker
// segments (main-thread-watch.ts; how long the main thread is held is a benchmark's to measure).
import type { ModelMemory } from '../../src/model/memory.js';
import { expect } from 'chai';
import { loadModel } from '../../src/model/model.js';
import { testContext } from '../helpers.js';
import { BROWSERS, BROWSER_TITLES, type TestPage, openTestPage } from './browsers.js';
import { PLAIN_PAGE } from './chromium.js';
import { type MainThreadReport, type WatchWindow, installMainThreadWatch } from './main-thread-watch.js';
import { sharedPath } from '../shared.js';

const IMAGE = '2007_000033.jpg';
/** The bundle as the page imports it (a variable, so the compiler does not look for the module). */
const BUNDLE = '/deeplab.js';

interface Measured {
  width: number;
  height: number;
  classes: number[];
  /** The image's encoded bytes, as the page hands them to the worker. */
  imageBytes: number;
  /** What the page's main thread did while the call ran. */
  main: MainThreadReport;
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

    it("segments in the worker as Node does (>= 99.9 % of pixels); the page's main thread does no GPU work and passes only the image and the class map", async () => {
      await page.evaluate(installMainThreadWatch);
      const inWorker: Measured = await page.evaluate(async ({ image, bundle }) => {
        const { SegmentationWorker } = await import(bundle);
        const worker = SegmentationWorker.start('/deeplab-worker.js');
        try {
          const loaded = await worker.load('/weights/deeplabv3_257_mv_gpu.tflite');
          const blob = await (await fetch(`/samples/${image}`)).blob();
          await worker.segment(blob); // warm-up: the first pass compiles the pipelines
          const t0 = performance.now();
          const r = await worker.segment(blob);
          const t1 = performance.now();
          const main = (window as unknown as WatchWindow).mainThreadWatch.report(t0, t1);
          return { width: r.width, height: r.height, classes: Array.from(r.classes), imageBytes: blob.size, main, ms: t1 - t0, loadedMemory: loaded.memory, memory: r.memory };
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
      const { main } = inWorker;
      console.log(`      (worker: ${inWorker.ms.toFixed(0)} ms a segment; the page sent ${main.toWorker.total} bytes in ${main.toWorker.count} messages and read ${main.fromWorker.total} in ${main.fromWorker.count})`);
      expect(main.gpuCalls, "the main thread's WebGPU calls while the worker segmented").to.deep.equal([]);
      // The encoded image one way, the class map (4 bytes a pixel at most) and a few numbers the other.
      expect(main.toWorker.count, 'messages to the worker').to.be.at.least(1);
      expect(main.toWorker.total, 'bytes to the worker').to.be.at.most(inWorker.imageBytes + 4096);
      expect(main.fromWorker.count, 'messages from the worker').to.be.at.least(1);
      expect(main.fromWorker.total, 'bytes from the worker').to.be.at.most(4 * inWorker.width * inWorker.height + 4096);
      expect(page.pageErrors).to.deep.equal([]);
    });

    it("the watch sees the main thread's own WebGPU calls and its messages to and from a worker, with their sizes", async () => {
      await page.evaluate(installMainThreadWatch);
      const seen = await page.evaluate(async () => {
        const t0 = performance.now();
        const adapter = await navigator.gpu.requestAdapter();
        const device = await adapter!.requestDevice();
        device.createBuffer({ size: 16, usage: GPUBufferUsage.STORAGE }).destroy();
        device.destroy();
        const echo = new Worker(URL.createObjectURL(new Blob(['onmessage = (e) => postMessage(new Uint8Array(e.data.length * 2))'], { type: 'text/javascript' })));
        const reply = new Promise<number>((done) => echo.addEventListener('message', (e) => done((e.data as Uint8Array).length)));
        echo.postMessage(new Uint8Array(5000));
        const length = await reply;
        echo.terminate();
        return { length, report: (window as unknown as WatchWindow).mainThreadWatch.report(t0, performance.now()) };
      });
      expect(seen.length).to.equal(10000);
      expect(seen.report.gpuCalls).to.deep.equal(['requestAdapter', 'requestDevice', 'createBuffer']);
      expect(seen.report.toWorker).to.deep.equal({ count: 1, largest: 5000, total: 5000 });
      expect(seen.report.fromWorker).to.deep.equal({ count: 1, largest: 10000, total: 10000 });
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
