// The demo page in real browsers, headless: Debian's Chromium (WebGPU from Dawn on its software
// adapter, SwiftShader, driven by playwright-core) and Firefox ESR (WebGPU from wgpu on lavapipe,
// driven by puppeteer-core). The page loads the default model from our demo server and segments a
// VOC image; its class map must be the one Node's `segment` gives.
import { expect } from 'chai';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { loadModel } from '../../src/model/model.js';
import { testContext } from '../helpers.js';
import { BROWSERS, BROWSER_TITLES, type BrowserName, type TestPage, openTestPage } from './browsers.js';
import { sharedPath } from '../shared.js';

const IMAGE = '2007_000033.jpg';

/**
 * What the page shows as its adapter: Chromium's SwiftShader names itself; Firefox's adapter info
 * is all empty strings but for isFallbackAdapter (true on lavapipe), which the page shows so.
 */
const ADAPTER: Record<BrowserName, RegExp> = { chromium: /swiftshader/, firefox: /^unknown fallback adapter$/ };

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
      expect(await page.evaluate(() => document.getElementById('timing')!.textContent)).to.match(/\d+ ms for 500x366/);
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
  });
}
