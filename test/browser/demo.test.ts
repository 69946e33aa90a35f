// The demo page in real browsers, headless: Debian's Chromium (WebGPU from Dawn on its software
// adapter, SwiftShader, driven by playwright-core) and Firefox ESR (WebGPU from wgpu on lavapipe,
// driven by puppeteer-core). The page loads the default model from our demo server and segments a
// VOC image; its class map must be the one Node's `segment` gives. It shows the compile, first and
// warm times apart, a class turned off in the legend leaves its pixels uncoloured, axe-core finds
// nothing serious on the page, and the page as a browser without WebGPU sees it says what the
// browser is and how to turn WebGPU on, and segments on the CPU device into the same labels
// (axe-core on it too).
import { expect } from 'chai';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { loadModel } from '../../src/model/model.js';
import { classAgreement, testContext } from '../helpers.js';
import { seriousViolations } from './axe.js';
import { BROWSERS, BROWSER_TITLES, type BrowserName, type TestPage, openTestPage } from './browsers.js';
import { sharedPath } from '../shared.js';

const IMAGE = '2007_000033.jpg';

/**
 * What the page shows as its adapter: Chromium's SwiftShader names itself; Firefox's adapter info
 * is all empty strings but for isFallbackAdapter (true on lavapipe), which the page shows so.
 */
/** The adapter in the page's subtitle: SwiftShader said to be a software adapter, without the parentheses of its vendor. */
const ADAPTER: Record<BrowserName, RegExp> = { chromium: /^google swiftshader, a software adapter \(the GPU emulated on the CPU\)$/, firefox: /^unknown fallback adapter$/ };

for (const browser of BROWSERS) {
  describe(`browser: the demo page in headless ${BROWSER_TITLES[browser]} @slow`, function () {
    this.timeout(180_000);
    let page: TestPage;

    before(async () => {
      page = await openTestPage(browser);
      await page.evaluate(() => (window as unknown as { deeplabDemo: { ready: Promise<void> } }).deeplabDemo.ready);
    });

    after(async () => {
      await page?.close();
    });

    it("segments a VOC image with the default model as Node does (>= 99.9 % of pixels), and shows it", async () => {
      const adapter = await page.evaluate(() => document.getElementById('adapter')!.textContent);
      expect(adapter, 'the page found a WebGPU adapter').to.match(ADAPTER[browser]);
      const inBrowser = await page.evaluate(
        (image) => (window as unknown as { deeplabDemo: { segmentUrl(u: string): Promise<{ width: number; height: number; classes: number[]; ms: number }> } }).deeplabDemo.segmentUrl(`/samples/${image}`),
        IMAGE,
      );
      const model = await loadModel(sharedPath('weights', 'deeplabv3_257_mv_gpu.tflite'), { ctx: await testContext() });
      try {
        const inNode = await model.segment(sharedPath('data', 'voc-sample', 'JPEGImages', IMAGE));
        expect([inBrowser.width, inBrowser.height]).to.deep.equal([inNode.width, inNode.height]);
        let same = 0;
        for (let i = 0; i < inNode.classes.length; i++) if (inNode.classes[i] === inBrowser.classes[i]) same++;
        const agreement = same / inNode.classes.length;
        console.log(`      (browser vs Node class maps: ${(100 * agreement).toFixed(3)} % of ${inNode.classes.length} pixels agree; ${inBrowser.ms.toFixed(0)} ms in the page)`);
        expect(agreement, 'agreement with Node').to.be.at.least(0.999);
      } finally {
        model.dispose();
      }
      const legend = await page.evaluate(() => document.getElementById('legend')!.textContent);
      expect(legend).to.contain('aeroplane');
      expect(await page.evaluate(() => document.getElementById('timing')!.textContent)).to.match(/^mobilenetv2-pascal-257: \d+ ms for 500x366 \(the first run at this size: it includes the GPU compiling its kernels/);
      // Again: the warm time, shown apart from the first run's and the compile at load.
      await page.evaluate((image) => (window as unknown as { deeplabDemo: { segmentUrl(u: string): Promise<unknown> } }).deeplabDemo.segmentUrl(`/samples/${image}`), IMAGE);
      const figures = await page.evaluate(() => Object.fromEntries(Array.from(document.querySelectorAll('#figures dt')).map((dt) => [dt.textContent, dt.nextElementSibling!.textContent])));
      expect(figures['Compile (at load)']).to.match(/^\d+\.\d s$/);
      expect(figures['First segment']).to.match(/^\d+ ms at 500x366$/);
      expect(figures['Warm segment']).to.match(/^\d+ ms at 500x366$/);
      expect(await page.evaluate(() => document.getElementById('timing')!.textContent)).to.match(/ ms for 500x366 \(warm\)$/);
      // A class turned off in the legend: its pixels show the photo alone; the opacity slider at 0 leaves the photo.
      const overlay = await page.evaluate(async () => {
        const canvas = document.getElementById('output') as HTMLCanvasElement;
        const pixels = () => canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
        const on = pixels();
        const box = document.getElementById('class-1') as HTMLInputElement;
        box.click();
        const off = pixels();
        box.click();
        const opacity = document.getElementById('opacity') as HTMLInputElement;
        opacity.value = '0';
        opacity.dispatchEvent(new Event('input'));
        const none = pixels();
        opacity.value = '60';
        opacity.dispatchEvent(new Event('input'));
        let changed = 0;
        let asPhoto = 0;
        for (let i = 0; i < on.length; i += 4) {
          if (on[i] !== off[i] || on[i + 1] !== off[i + 1] || on[i + 2] !== off[i + 2]) changed++;
          if (off[i] === none[i] && off[i + 1] === none[i + 1] && off[i + 2] === none[i + 2]) asPhoto++;
        }
        return { changed, asPhoto, label: document.querySelector('label[for="class-1"]')!.textContent };
      });
      const planes = inBrowser.classes.filter((c) => c === 1).length;
      expect(overlay.label).to.equal('aeroplane');
      expect(overlay.changed, 'pixels changed by turning aeroplane off').to.be.within(0.9 * planes, planes);
      expect(overlay.asPhoto, 'pixels that are the photo alone with aeroplane off').to.be.at.least(planes);
      expect(await seriousViolations(page), 'serious accessibility violations (axe-core)').to.deep.equal([]);
      mkdirSync('out', { recursive: true });
      await page.screenshot(join('out', `demo-${browser}.png`));
      expect(page.pageErrors, 'no uncaught errors in the page').to.deep.equal([]);
    });

    it('a file that is not an image is refused on the page with a clear message', async () => {
      const error = await page.evaluate(async () => {
        try {
          await (window as unknown as { deeplabDemo: { segmentUrl(u: string): Promise<unknown> } }).deeplabDemo.segmentUrl('/weights/deeplabv3_257_mv_gpu.tflite');
          return null;
        } catch (e) {
          return (e as Error).message;
        }
      });
      expect(error, 'segmenting a weights file must fail').to.be.a('string');
      expect(error).to.match(/not an image this browser can decode/);
      expect(await page.evaluate(() => document.getElementById('status')!.textContent)).to.match(/not an image this browser can decode/);
    });

    it('without WebGPU (?webgpu=off) the page says what the browser is, what still works (segmenting and teaching, on the CPU) and how to turn WebGPU on, and segments on the CPU as Node does on WebGPU (>= 99.9 % of pixels)', async () => {
      await page.goto('/?webgpu=off');
      await page.evaluate(() => (window as unknown as { deeplabDemo: { keptReady: Promise<void> } }).deeplabDemo.keptReady);
      const shown = await page.evaluate(() => ({
        panel: !document.getElementById('no-webgpu')!.hidden,
        segment: !document.getElementById('segment-panel')!.hidden,
        teach: !document.getElementById('teach')!.hidden,
        kept: !document.getElementById('kept-panel')!.hidden,
        text: document.getElementById('no-webgpu')!.innerText,
      }));
      expect(shown).to.include({ panel: true, segment: true, teach: true, kept: true });
      expect(shown.text).to.match(browser === 'chromium' ? /Chromium \(headless\) \d+ on Linux/ : /Firefox \d+ on Linux/);
      // Turned off by the address: the advice is to leave that out, not a browser setting.
      expect(shown.text).to.contain('Open the page without ?webgpu=off in its address.');
      expect(shown.text).to.not.match(/chrome:\/\/flags|about:config/);
      expect(shown.text).to.match(/Teaching\nruns on the CPU here too/);
      expect(shown.text).to.contain('runs on the CPU here');
      expect(await page.textContent('h1')).to.equal('DeepLabv3 in the browser');
      const onCpu = await page.evaluate(
        (image) => (window as unknown as { deeplabDemo: { segmentUrl(u: string): Promise<{ width: number; height: number; classes: number[] }> } }).deeplabDemo.segmentUrl(`/samples/${image}`),
        IMAGE,
      );
      expect(await page.evaluate(() => document.getElementById('adapter')!.textContent)).to.equal('the CPU (WebAssembly)');
      const model = await loadModel(sharedPath('weights', 'deeplabv3_257_mv_gpu.tflite'), { ctx: await testContext() });
      try {
        const inNode = await model.segment(sharedPath('data', 'voc-sample', 'JPEGImages', IMAGE));
        expect(classAgreement(onCpu.classes, inNode.classes), 'the page on the CPU against Node on WebGPU').to.be.at.least(0.999);
      } finally {
        model.dispose();
      }
      expect(await seriousViolations(page), 'serious accessibility violations (axe-core)').to.deep.equal([]);
      await page.screenshot(join('out', `demo-no-webgpu-${browser}.png`));
      expect(page.pageErrors, 'no uncaught errors in the page').to.deep.equal([]);
    });
  });
}
