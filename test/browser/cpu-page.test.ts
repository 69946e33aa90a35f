// The CPU device in the page: a browser without WebGPU (Chromium without its flag, which offers
// navigator.gpu but no adapter, as where the GPU is blocklisted; Firefox without its pref, which
// has no navigator.gpu) segments the VOC photo with the default device ('auto'), in the page and in the worker,
// on onnxruntime-web's WebAssembly backend (threads: the demo server isolates the page), and the
// labels are WebGPU's in Node; without a CPU runtime handed over, the load names both missing
// pieces.
import { expect } from 'chai';
import { loadModel } from '../../src/model/model.js';
import { classAgreement, testContext } from '../helpers.js';
import { sharedPath } from '../shared.js';
import { BROWSER_TITLES, BROWSERS, openTestPage, repeatTag, type TestPage } from './browsers.js';
import { PLAIN_PAGE } from './chromium.js';

const IMAGE = '2007_000033.jpg';
const WEIGHTS = '/weights/deeplabv3_257_mv_gpu.tflite';
/** The bundle and onnxruntime-web's module as the page imports them (variables: the compiler does not look for them). */
const BUNDLE = '/deeplab.js';
const ORT = '/ort/ort.wasm.min.mjs';

interface StreamRun {
  frames: number;
  size: [number, number];
  /** The canvas's pixels that differ from the photo's (the class colours blended in). */
  tinted: number;
}

interface PageRun {
  webgpu: boolean;
  isolated: boolean;
  refused: string;
  device: string;
  label: string;
  classes: number[];
  stream: StreamRun;
  worker: { device: string; adapter: string; classes: number[] };
}

for (const browser of BROWSERS) {
  describe(`browser: the CPU device in headless ${BROWSER_TITLES[browser]} without WebGPU @slow${repeatTag(browser, 'chromium')}`, function () {
    this.timeout(240_000);
    let page: TestPage;

    before(async () => {
      page = await openTestPage(browser, { path: PLAIN_PAGE, webgpu: false });
    });

    after(async () => {
      await page?.close();
    });

    it("'auto' segments the VOC photo on the CPU, in the page, in segmentStream and in the worker, as WebGPU does in Node (>= 99.9 % of pixels)", async () => {
      const run: PageRun = await page.evaluate(
        async ({ bundle, ort, weights, image }) => {
          const lib = await import(bundle);
          const webgpu = 'gpu' in navigator && (await navigator.gpu.requestAdapter()) !== null;
          // No runtime handed over yet: the load says what is missing.
          let refused = '';
          await lib.loadModel(weights).then(
            (m: { dispose(): void }) => m.dispose(),
            (e: Error) => (refused = e.message),
          );
          lib.useCpuRuntime(ort);
          const model = await lib.loadModel(weights);
          const bitmap = await createImageBitmap(await (await fetch(`/samples/${image}`)).blob());
          const result = await model.segment(lib.imageToRgb(bitmap));
          // segmentStream on the CPU: a video of the photo (a canvas's stream), drawn into a 2d canvas.
          const source = document.createElement('canvas');
          [source.width, source.height] = [bitmap.width, bitmap.height];
          const paint = () => source.getContext('2d')!.drawImage(bitmap, 0, 0);
          paint();
          const painting = setInterval(paint, 30);
          const target = document.createElement('canvas');
          const loop = lib.segmentStream(model, source.captureStream(30), target);
          await new Promise<void>((done, fail) => {
            const check = setInterval(() => loop.frames >= 3 && (clearInterval(check), done()), 20);
            loop.done.catch(fail);
          });
          await loop.stop();
          clearInterval(painting);
          const drawn = target.getContext('2d')!.getImageData(0, 0, target.width, target.height).data;
          const photo = lib.imageToRgb(bitmap);
          let tinted = 0;
          for (let i = 0; i < photo.width * photo.height; i++) if (drawn[4 * i] !== photo.data[3 * i] || drawn[4 * i + 1] !== photo.data[3 * i + 1] || drawn[4 * i + 2] !== photo.data[3 * i + 2]) tinted++;
          const stream = { frames: loop.frames as number, size: [target.width, target.height] as [number, number], tinted };
          const out = { webgpu, isolated: crossOriginIsolated, refused, device: model.deviceName, label: model.deviceLabel, classes: Array.from(result.classes as Uint8Array), stream };
          model.dispose();
          const worker = lib.SegmentationWorker.start('/deeplab-worker.js');
          try {
            const info = await worker.load(weights, { cpuRuntime: ort });
            const r = await worker.segment(bitmap);
            return { ...out, worker: { device: info.device, adapter: info.adapter, classes: Array.from(r.classes as Uint8Array) } };
          } finally {
            await worker.terminate();
          }
        },
        { bundle: BUNDLE, ort: ORT, weights: WEIGHTS, image: IMAGE },
      );
      expect(run.webgpu, 'a WebGPU adapter').to.equal(false);
      const missing = browser === 'firefox' ? 'this browser has no WebGPU \\(navigator\\.gpu is missing' : 'No WebGPU adapter could be created: this browser has WebGPU turned off';
      expect(run.refused).to.match(new RegExp(`no WebGPU here \\(.*${missing}.*\\), and no CPU runtime either: .*useCpuRuntime`));
      expect(run.isolated, 'cross-origin isolated (WebAssembly threads)').to.equal(true);
      expect(run.device).to.equal('cpu');
      expect(run.label).to.match(/^CPU \(onnxruntime-web \d/);
      expect(run.worker.device).to.equal('cpu');
      // The aeroplane (15.6 % of the photo) tinted by segmentStream's overlay, the background left as it is.
      expect(run.stream.frames, 'frames drawn').to.be.at.least(3);
      expect(run.stream.size).to.deep.equal([500, 366]);
      expect(run.stream.tinted / (500 * 366), 'share of pixels tinted').to.be.within(0.1, 0.25);
      const model = await loadModel(sharedPath('weights', 'deeplabv3_257_mv_gpu.tflite'), { ctx: await testContext() });
      try {
        const want = await model.segment(sharedPath('data', 'voc-sample', 'JPEGImages', IMAGE));
        expect(classAgreement(run.classes, want.classes), 'the page').to.be.at.least(0.999);
        expect(classAgreement(run.worker.classes, want.classes), 'the worker').to.be.at.least(0.999);
      } finally {
        model.dispose();
      }
      expect(page.pageErrors).to.deep.equal([]);
    });
  });
}
