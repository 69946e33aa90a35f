// The convolution kernels written out for SwiftShader (and each layer's default), in headless
// Chromium on its software adapter, against the CPU reference: they run there with its 4-wide
// subgroups, as they run for users of the page. (Every candidate also runs on lavapipe in
// test/kernels/conv2d.test.ts; the looped ones have no code of their own for SwiftShader.)
import { expect } from 'chai';
import { type Plugin, build } from 'esbuild';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { chromium } from 'playwright-core';
import { FP32_TOLERANCE, RUN_SEED } from '../helpers.js';
import { CHROMIUM, CHROMIUM_FLAGS, requireChromium } from './chromium.js';
import type { CandidateCase } from './kernel-candidates-page.js';

/** The candidates written out: GEMM 'gemm/u...', depthwise '.../...uRxC', and every Winograd candidate (its transforms are written out). */
const UNROLLED = '^gemm/u|^depthwise/.*u\\d+x\\d+$|^winograd/';

const pad = (n: number) => ({ padTop: n, padBottom: n, padLeft: n, padRight: n });

/** Sizes off every tile; GEMM and Winograd (1x1 and 3x3, with an epilogue; rate 2, no padding) and depthwise (rates, stride 2). */
const CASES: CandidateCase[] = [
  { input: [1, 9, 7, 13], kernel: [3, 3], cout: 11, p: pad(1), bias: true },
  { input: [2, 10, 9, 18], kernel: [3, 3], cout: 20, p: { dilationH: 2, dilationW: 2, ...pad(2), activation: 'relu' }, residual: true },
  { input: [1, 7, 8, 8], kernel: [3, 3], cout: 12, p: {} },
  { input: [2, 6, 5, 37], kernel: [1, 1], cout: 70, p: { activation: 'relu6' }, residual: true },
  { input: [1, 11, 10, 20], kernel: [3, 3], cout: 20, p: { groups: 20, dilationH: 2, dilationW: 2, ...pad(2) }, bias: true },
  { input: [1, 13, 12, 68], kernel: [3, 3], cout: 68, p: { groups: 68, strideH: 2, strideW: 2, padTop: 0, padBottom: 1, padLeft: 1, padRight: 0, activation: 'relu' }, residual: true },
];

/** The page's script, bundled as the browser build bundles the library. */
async function pageScript(): Promise<string> {
  const { browserSwaps } = (await import(resolve('scripts/browser-plugin.mjs'))) as { browserSwaps: Plugin };
  const dir = mkdtempSync(join(resolve('dist'), 'kernel-page-'));
  try {
    await build({ entryPoints: [resolve('test/browser/kernel-candidates-page.ts')], outfile: join(dir, 'page.js'), bundle: true, platform: 'browser', format: 'esm', target: 'es2022', logLevel: 'warning', plugins: [browserSwaps] });
    return readFileSync(join(dir, 'page.js'), 'utf8');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('browser: the unrolled convolution candidates on the page adapter (SwiftShader) match the CPU reference @slow', function () {
  this.timeout(600_000);

  it('GEMM (looped and written out, with subgroup broadcasts), Winograd and depthwise tiles (looped and written out)', async () => {
    const script = await pageScript();
    const server = createServer((req, res) => {
      if (req.url === '/page.js') {
        res.writeHead(200, { 'content-type': 'text/javascript' });
        res.end(script);
      } else {
        res.writeHead(200, { 'content-type': 'text/html' });
        res.end('<!doctype html><script type="module" src="/page.js"></script>');
      }
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    requireChromium('browser tests');
    const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_FLAGS });
    try {
      const page = await browser.newPage();
      await page.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
      await page.waitForFunction(() => typeof window.runConvCandidates === 'function');
      const r = await page.evaluate(([cases, seed, only]) => window.runConvCandidates(cases, seed, only), [CASES, RUN_SEED, UNROLLED] as const);
      expect(r.adapterClass, "the page's adapter").to.equal('swiftshader');
      const names = r.cases.flat().map((c) => c.name);
      expect(names.some((n) => /^gemm\/u\d+c\d+l4sk1$/.test(n)), 'unrolled GEMM on 4-wide subgroups').to.equal(true);
      expect(names.some((n) => /^depthwise\/l\d+t\d+u\d+x\d+$/.test(n)), 'unrolled depthwise tiles').to.equal(true);
      // Winograd: both tile sizes, its GEMM written out on 4-wide subgroups and looped.
      for (const pattern of [/^winograd\/f2u\d+c\d+l4s$/, /^winograd\/f4u\d+c\d+l4s$/, /^winograd\/f[24]r/]) expect(names.some((n) => pattern.test(n)), `Winograd ${pattern}`).to.equal(true);
      r.cases.forEach((results, i) => {
        expect(results.length, `case ${i}: candidates`).to.be.at.least(3);
        for (const { name, error } of results) expect(error, `case ${i} ${JSON.stringify(CASES[i])}: ${name}`).to.be.below(FP32_TOLERANCE);
      });
      console.log(`      (subgroups of ${r.subgroupSize}; ${r.cases.map((c) => c.length).join(' + ')} candidates)`);
    } finally {
      await browser.close();
      server.close();
    }
  });
});
