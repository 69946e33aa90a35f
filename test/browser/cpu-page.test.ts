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
import { BROWSERS, BROWSER_TITLES, type TestPage, openTestPage } from './browsers.js';
import { PLAIN_PAGE } from './chromium.js';

const IMAGE = '2007_000033.jpg';
const WEIGHTS = '/weights/deeplabv3_257_mv_gpu.tflite';
/** The bundle and onnxruntime-web's module as the page imports them (variables: the compiler does not look for them). */
const BUNDLE = '/deeplab.js';
const ORT = '/ort/ort.wasm.min.mjs';

interface PageRun {
  webgpu: boolean;
  isolated: boolean;
  refused: string;
  device: string;
  label: string;
  classes: number[];
  worker: { device: string; adapter: string; classes: number[] };
}

for (const browser of BROWSERS) {
  describe(`browser: the CPU device in headless ${BROWSER_TITLES[browser]} without WebGPU @slow`, function () {
    this.timeout(240_000);
    let page: TestPage;

    before(async () => {
      page = await openTestPage(browser, { path: PLAIN_PAGE, webgpu: false });
    });

    after(async () => {
      await page?.close();
    });

    it("'auto' segments the VOC photo on the CPU, in the page and in the worker, as WebGPU does in Node (>= 99.9 % of pixels)", async () => {
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
          const out = { webgpu, isolated: crossOriginIsolated, refused, device: model.deviceName, label: model.deviceLabel, classes: Array.from(result.classes as Uint8Array) };
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
