// fineTune through the page's door, in headless Chromium (WebGPU on SwiftShader): smp's two
// training fixtures (../shared/fixtures/smp, README "Training references") loaded by the page's
// loadModel from their folder's URL and fine-tuned one step by the page's fineTune (the two crops
// as 8-bit bands, no augmentation, plain SGD at a power-of-two rate). The update, read back as
// the gradient, is held as in Node (test/train/smp-training.test.ts): within 3x the floor of
// float64's step traced to the page's own forward (its kinks and image-pooling input, from the
// same step run again in the page with those values as outputs; only the ReLU inputs near a kink
// come back, test/train/relu-nodes.ts), and the loss within 3x smp's floor directly.
// PyTorch's ONNX export of torchvision's DeepLabV3 (test/fixtures/onnx/train-tv-deeplabv3-resnet50)
// is fine-tuned one step the same way from its URL, and held as in Node
// (test/train/onnx-training-torchvision.test.ts): the loss and every gradient within twice the
// spread PyTorch's own float32 step has from float64, tensor by tensor.
import { expect } from 'chai';
import { type Plugin, build } from 'esbuild';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { type Browser, type Page, chromium } from 'playwright-core';
import { readNpy } from '../../src/model/weights/import/npy.js';
import { safetensorsBytes } from '../../src/model/weights/import/safetensors.js';
import { readSmpManifest, smpFixture, smpStateDict } from '../model/smp-fixture.js';
import { nearKinkValues } from '../train/float64-gradients.js';
import { FIXTURES, FLOOR_MULTIPLE, type StepValues, expectTraced, loadFixture, referenceLoss, tracedFloat64, zeros } from '../train/smp-step.js';
import { CHROMIUM, CHROMIUM_FLAGS, requireChromium } from './chromium.js';
import type { OnnxStepRequest, PageStepRequest } from './fine-tune-page.js';
import { onnxCasePath, readOnnxCase } from '../onnx-fixture.js';
import { nchwToNhwc } from '../train/fixtures.js';
import { readNpz } from '../train/smp-step.js';
import { relativeError } from '../helpers.js';

/** The ONNX training fixture (scripts/fixtures/onnx/README.md, "The training fixture"). */
const ONNX_CASE = 'train-tv-deeplabv3-resnet50';

/** The page's learning rate: as in Node, a power of two large enough that the update's rounding is negligible. */
const LR = 2 ** 12;

/** The page's script, bundled as the browser build bundles the library. */
async function pageScript(): Promise<string> {
  const { browserSwaps } = (await import(resolve('scripts/browser-plugin.mjs'))) as { browserSwaps: Plugin };
  const dir = mkdtempSync(join(resolve('dist'), 'fine-tune-page-'));
  try {
    await build({ entryPoints: [resolve('test/browser/fine-tune-page.ts')], outfile: join(dir, 'page.js'), bundle: true, platform: 'browser', format: 'esm', target: 'es2022', logLevel: 'warning', plugins: [browserSwaps] });
    return readFileSync(join(dir, 'page.js'), 'utf8');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The fixtures' folders as the page fetches them: /smp/<folder>/config.json and model.safetensors. */
function folderFiles(): Map<string, Uint8Array> {
  const files = new Map<string, Uint8Array>();
  for (const { folder } of FIXTURES) {
    files.set(`/smp/${folder}/config.json`, readFileSync(smpFixture(folder, 'config.json')));
    files.set(`/smp/${folder}/model.safetensors`, safetensorsBytes(smpStateDict(readSmpManifest(folder))));
  }
  files.set(`/onnx/${ONNX_CASE}.onnx`, readFileSync(onnxCasePath(ONNX_CASE, 'model.onnx')));
  return files;
}

const base64 = (a: ArrayLike<number> & { buffer: ArrayBufferLike; byteOffset: number; byteLength: number }): string => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64');
function floats(b64: string): Float32Array {
  const b = Buffer.from(b64, 'base64');
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}

describe("browser: fineTune in the page (headless Chromium) gives the reference's first update, as in Node @slow", function () {
  this.timeout(900_000);
  let server: Server;
  let browser: Browser;
  let page: Page;

  before(async () => {
    const script = await pageScript();
    const files = folderFiles();
    server = createServer((req, res) => {
      const file = files.get(req.url ?? '');
      if (req.url === '/page.js') {
        res.writeHead(200, { 'content-type': 'text/javascript' });
        res.end(script);
      } else if (file) {
        res.writeHead(200, { 'content-type': req.url!.endsWith('.json') ? 'application/json' : 'application/octet-stream' });
        res.end(file);
      } else if (req.url === '/') {
        res.writeHead(200, { 'content-type': 'text/html' });
        res.end('<!doctype html><script type="module" src="/page.js"></script>');
      } else {
        res.writeHead(404);
        res.end();
      }
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    requireChromium('browser tests');
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_FLAGS });
    page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
    await page.waitForFunction(() => typeof window.smpFineTuneStep === 'function');
  });

  after(async () => {
    await browser?.close();
    server?.close();
  });

  for (const { folder, loss, floor } of FIXTURES) {
    it(`${folder} ('${loss}'): loadModel(folder URL) and fineTune() one step: the update is -lr x the gradient within ${FLOOR_MULTIPLE}x of float64's step traced to the page's forward, the loss within ${FLOOR_MULTIPLE}x smp's floor`, async () => {
      const f = await loadFixture(folder);
      const u8 = readNpy(smpFixture(folder, 'train_input_2x64x64_uint8.npy'));
      const [N, H, W] = u8.shape;
      const C = f.w.config.inChannels ?? 3;
      const request: PageStepRequest = {
        url: `/smp/${folder}/`,
        loss,
        lr: LR,
        bands: base64(Uint8Array.from(u8.data)),
        labels: base64(Uint8Array.from(f.labels)),
        shape: [N, H, W, C],
        image: base64(f.image),
        exactZeros: [...zeros(folder)],
      };
      const r = await page.evaluate((req) => window.smpFineTuneStep(req), request);
      expect(r.adapter, "the page's adapter").to.equal('swiftshader');
      expect(r.lr, 'the step at the rate given').to.equal(LR);
      const got: StepValues = { loss: r.loss, grads: new Map(r.grads.map(([name, g]) => [name, floats(g)])), stats: new Map(r.stats.map(([name, s]) => [name, floats(s)])) };
      const traced = tracedFloat64(f, loss, folder, nearKinkValues(new Map(r.near)), new Map(r.imagePool.map(([name, v]) => [name, floats(v)])));
      const lossErr = Math.abs(got.loss - referenceLoss(folder)) / referenceLoss(folder);
      const nearCount = r.near.reduce((n, [, k]) => n + k.index.length, 0);
      console.log(`      (Chromium: loss ${(lossErr / floor.loss).toFixed(1)}x the floor; the update's rounding at most ${r.rounding.bound.toExponential(1)} of itself (${r.rounding.name}); ${nearCount} ReLU inputs near a kink sent back)`);
      expect(lossErr, "the step's loss against smp's float64 loss").to.be.lessThan(FLOOR_MULTIPLE * floor.loss);
      expect(r.rounding.bound, 'rounding of the update, against the smallest floor').to.be.lessThan(0.1 * floor.worstGrad);
      expectTraced(got, traced, floor, folder, 'fineTune in Chromium');
    });
  }

  it(`${ONNX_CASE}.onnx: loadModel(file URL) and fineTune() one step: loss, every gradient and the running statistics within twice PyTorch float32's spread from its float64 step`, async () => {
    const meta = readOnnxCase(ONNX_CASE) as ReturnType<typeof readOnnxCase> & { training: { loss_float64: number; float32_vs_float64: { loss: number; grads_global: number; bn_stats_worst: number; grads_per_tensor: Record<string, number> } } };
    const spread = meta.training.float32_vs_float64;
    const input = readNpy(onnxCasePath(ONNX_CASE, 'train_input_2x32x32.npy'));
    const [N, C, H, W] = input.shape;
    const request: OnnxStepRequest = {
      url: `/onnx/${ONNX_CASE}.onnx`,
      mean: meta.preprocessing.mean,
      std: meta.preprocessing.std,
      lr: LR,
      input: base64(nchwToNhwc(input.data, input.shape)),
      labels: base64(Uint8Array.from(readNpy(onnxCasePath(ONNX_CASE, 'train_label_2x32x32.npy')).data)),
      shape: [N, H, W, C],
    };
    const r = await page.evaluate((req) => window.onnxFineTuneStep(req), request);
    expect(r.adapter, "the page's adapter").to.equal('swiftshader');
    expect(r.lr, 'the step at the rate given').to.equal(LR);
    const grads64 = readNpz(onnxCasePath(ONNX_CASE, 'train_grads_f64.npz'));
    const ours = new Map(r.grads.map(([name, g]) => [name, floats(g)]));
    expect([...ours.keys()].sort(), 'the parameters stepped').to.deep.equal([...grads64.keys()].sort());
    let [diff, norm] = [0, 0];
    let worst = { name: '', ratio: 0 };
    for (const [name, ref] of grads64) {
      const g = ours.get(name)!;
      for (let i = 0; i < g.length; i++) [diff, norm] = [diff + (g[i] - ref.data[i]) ** 2, norm + ref.data[i] ** 2];
      const ratio = relativeError(g, ref.data) / spread.grads_per_tensor[name];
      if (ratio > worst.ratio) worst = { name, ratio };
    }
    const lossErr = Math.abs(r.loss - meta.training.loss_float64) / meta.training.loss_float64;
    let statsErr = 0;
    const stats = new Map(r.stats.map(([name, s]) => [name, floats(s)]));
    for (const [name, ref] of readNpz(onnxCasePath(ONNX_CASE, 'train_bn_after.npz'))) statsErr = Math.max(statsErr, relativeError(stats.get(name)!, ref.data));
    const gradsErr = Math.sqrt(diff / norm);
    console.log(`      (Chromium against float64 [PyTorch float32's]: loss ${lossErr.toExponential(1)} [${spread.loss.toExponential(1)}], gradients together ${gradsErr.toExponential(1)} [${spread.grads_global.toExponential(1)}], worst tensor ${worst.ratio.toFixed(2)}x PyTorch float32's error on it (${worst.name}), running statistics ${statsErr.toExponential(1)} [${spread.bn_stats_worst.toExponential(1)}]; the update's rounding at most ${r.rounding.bound.toExponential(1)} of itself)`);
    expect(r.rounding.bound, 'rounding of the update, against the gradients\' spread').to.be.lessThan(0.1 * spread.grads_global);
    expect(lossErr, 'loss').to.be.lessThan(Math.max(2 * spread.loss, 1e-6));
    expect(gradsErr, 'every gradient together').to.be.lessThan(2 * spread.grads_global);
    expect(worst.ratio, `gradient of ${worst.name}`).to.be.lessThan(2);
    expect(statsErr, 'running statistics').to.be.lessThan(2 * spread.bn_stats_worst);
  });
});
