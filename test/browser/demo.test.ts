// The demo page in a real browser: Debian's Chromium, headless, WebGPU on its software adapter
// (SwiftShader), driven by playwright-core. The page loads the default model from our demo
// server and segments a VOC image; its class map must be the one Node's `segment` gives.
import { expect } from 'chai';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, type Page, chromium } from 'playwright-core';
import { startDemoServer } from '../../demo/server.js';
import { loadModel } from '../../src/model/model.js';
import { testContext } from '../helpers.js';
import { CHROMIUM, CHROMIUM_FLAGS } from './chromium.js';

const IMAGE = '2007_000033.jpg';

describe('browser: the demo page in headless Chromium', function () {
  this.timeout(180_000);
  let server: Server;
  let url: string;
  let browser: BrowserContext;
  let page: Page;
  let profile: string;
  const pageErrors: string[] = [];

  before(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: run npm run setup (it installs Debian's chromium)`);
    ({ server, url } = await startDemoServer());
    profile = mkdtempSync(join(tmpdir(), 'deeplab-chromium-'));
    // A fresh profile folder per run: nothing is left from an earlier one.
    browser = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: CHROMIUM_FLAGS });
    page = await browser.newPage();
    page.on('pageerror', (e) => pageErrors.push(e.message));
    await page.goto(url);
    await page.evaluate(() => (window as unknown as { deeplabDemo: { ready: Promise<void> } }).deeplabDemo.ready);
  });

  after(async () => {
    await browser?.close();
    server?.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
  });

  it("segments a VOC image with the default model as Node does (>= 99.9 % of pixels), and shows it", async () => {
    const adapter = await page.evaluate(() => document.getElementById('adapter')!.textContent);
    expect(adapter, 'the page found a WebGPU adapter').to.contain('swiftshader');
    const inBrowser = await page.evaluate(
      (image) => (window as unknown as { deeplabDemo: { segmentUrl(u: string): Promise<{ width: number; height: number; classes: number[]; ms: number }> } }).deeplabDemo.segmentUrl(`/samples/${image}`),
      IMAGE,
    );
    const model = await loadModel('../shared/weights/deeplabv3_257_mv_gpu.tflite', { ctx: await testContext() });
    try {
      const inNode = await model.segment(`../shared/data/voc-sample/JPEGImages/${IMAGE}`);
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
    await page.screenshot({ path: join('out', 'demo.png'), fullPage: true });
    expect(pageErrors, 'no uncaught errors in the page').to.deep.equal([]);
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
