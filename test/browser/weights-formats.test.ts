// Every weights format the page's loadModel takes, loaded in headless Chromium (SwiftShader) from
// the demo server and segmenting a VOC image: the class map must be the one Node gives for the
// same file (>= 99.9 % of pixels), and the logits Node's within fp32's relative error, 1e-4 (the
// torchvision fixture has random weights, whose class map can be one class, so its logits are what
// show the weights were read).
// An ONNX file (PyTorch's LR-ASPP export) loads with the options a file without metadata takes
// (inputSize, mean, std). A folder of .npy files is Node's alone (the page takes one file).
import { expect } from 'chai';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { LoadOptions } from '../../src/model/loading/options.js';
import { loadModel } from '../../src/model/model.js';
import { classAgreement, relativeError, testContext } from '../helpers.js';
import { onnxCasePath } from '../onnx-fixture.js';
import { sharedPath } from '../shared.js';
import { type DemoPage, PLAIN_PAGE, openDemoPage } from './chromium.js';
import { LOGIT_STRIDE, strided } from './page-agreement.js';

const IMAGE = '2007_000033.jpg';
/** The bundle as the page imports it (a variable, so the compiler does not look for the module). */
const BUNDLE = '/deeplab.js';
/** torchvision's models resize the short side to 520; a small one keeps SwiftShader quick. */
const SHORT_SIDE = 129;

interface Case {
  file: string;
  /** Where the file is on this machine. */
  path: string;
  options: Pick<LoadOptions, 'shortSide' | 'inputSize' | 'mean' | 'std'>;
}

describe('browser: every weights format loads in the page and segments as Node does @slow', function () {
  this.timeout(600_000);
  let demo: DemoPage;
  let weightsDir: string;
  const cases: Case[] = [];

  before(async () => {
    weightsDir = mkdtempSync(join(tmpdir(), 'deeplab-page-weights-'));
    const pth = sharedPath('fixtures', 'torchvision', 'deeplabv3_mobilenet_v3_large_random.pth');
    const tflite = sharedPath('weights', 'deeplabv3_257_mv_gpu.tflite');
    cases.push({ file: 'torchvision.pth', path: pth, options: { shortSide: SHORT_SIDE } });
    cases.push({ file: 'mobilenetv2-257.tflite', path: tflite, options: {} });
    // ImageNet's statistics given as numbers, as a user reads them from the exporter's code.
    const imagenet = { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] };
    cases.push({ file: 'lraspp.onnx', path: resolve(onnxCasePath('tv-lraspp-mobilenetv3', 'model.onnx')), options: { inputSize: [97, 129], ...imagenet } });
    for (const c of cases) symlinkSync(c.path, join(weightsDir, c.file));
    // Our own checkpoint format, written by Node from the TF Lite model.
    const saved = join(weightsDir, 'checkpoint.safetensors');
    const model = await loadModel(tflite, { ctx: await testContext() });
    try {
      await model.save(saved);
    } finally {
      model.dispose();
    }
    cases.push({ file: 'checkpoint.safetensors', path: saved, options: {} });
    demo = await openDemoPage({ server: { weightsDir }, path: PLAIN_PAGE });
  });

  after(async () => {
    await demo?.close();
    if (weightsDir) rmSync(weightsDir, { recursive: true, force: true });
  });

  // The .pth and the TF Lite file are the extended tier's (docs/testing.md): the page's byte
  // readers are Node's, tested on both formats' bytes (test/model/records.test.ts), and the
  // demo's test loads the default model's TF Lite file in the page.
  const formats = [
    ['a torchvision .pth (zip, through fflate and our crc32)', 'torchvision.pth', ' @extended'],
    ['a TF Lite model', 'mobilenetv2-257.tflite', ' @extended'],
    ['a .safetensors checkpoint of ours', 'checkpoint.safetensors', ''],
    ["an ONNX file (PyTorch's export), with inputSize, mean and std", 'lraspp.onnx', ''],
  ] as const;
  for (const [what, file, tier] of formats) {
    it(`${what}: the page's class map is Node's (>= 99.9 % of pixels)${tier}`, async () => {
      const c = cases.find((k) => k.file === file)!;
      const inPage = await demo.page.evaluate(
        async ({ bundle, file, options, image, stride }) => {
          const { GpuContext, loadModel } = await import(bundle);
          // One device for the page's loads, as a page that loads several models keeps one.
          const w = window as unknown as { pageCtx?: Promise<unknown> };
          w.pageCtx ??= GpuContext.create();
          const model = await loadModel(`/weights/${file}`, { ...options, ctx: await w.pageCtx });
          try {
            const r = await model.segment(`/samples/${image}`, { include: ['logits'] });
            // The logits of every stride-th pixel, as strided() picks them in Node.
            const logits: number[] = [];
            for (let y = 0; y < r.height; y += stride) for (let x = 0; x < r.width; x += stride) for (let c = 0; c < r.numClasses; c++) logits.push(r.logits[(y * r.width + x) * r.numClasses + c]);
            return { width: r.width as number, height: r.height as number, classes: Array.from(r.classes as Uint8Array), logits };
          } finally {
            model.dispose();
          }
        },
        { bundle: BUNDLE, file, options: c.options, image: IMAGE, stride: LOGIT_STRIDE },
      );
      const model = await loadModel(c.path, { ...c.options, ctx: await testContext() });
      try {
        const inNode = await model.segment(sharedPath('data', 'voc-sample', 'JPEGImages', IMAGE), { include: ['logits'] });
        const nodeLogits = strided(inNode.logits!, inNode.width, inNode.height, inNode.numClasses);
        expect(inPage.logits.length).to.equal(nodeLogits.length);
        const relative = relativeError(inPage.logits, nodeLogits);
        expect([inPage.width, inPage.height]).to.deep.equal([inNode.width, inNode.height]);
        const agreement = classAgreement(inPage.classes, inNode.classes);
        console.log(`      (${file}: ${(100 * agreement).toFixed(3)} % of ${inNode.classes.length} pixels agree, ${new Set(inNode.classes).size} classes in Node's map; logits' relative error ${relative.toExponential(2)})`);
        expect(agreement, 'agreement with Node').to.be.at.least(0.999);
        expect(relative, "the logits' relative error against Node's").to.be.below(1e-4);
      } finally {
        model.dispose();
      }
      expect(demo.pageErrors, 'no uncaught errors in the page').to.deep.equal([]);
    });
  }
});
