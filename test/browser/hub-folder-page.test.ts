// Hugging Face hub folders in the page (headless Chromium on SwiftShader, and Firefox on wgpu and
// lavapipe): a `transformers` DeepLabV3 folder handed to the page's loadModel as its files' bytes
// by name, segmenting the VOC image with the pipeline its preprocessor_config.json describes (the
// processor's resize and centre crop, the logits resized to the image). The page decodes the JPEG
// itself. Its class map must be the one Node gives for the same files (>= 99.9 % of pixels), and
// its logits Node's within fp32's relative error, 1e-4.
//
// The page runs each folder with its processor's sizes scaled down (512 -> 128, 513 -> 129): the
// same code path as the hub's own sizes, at a sixteenth of the pixels SwiftShader runs (alone on
// the 2-core host, the file took 113 s of the host's CPU at the hub's sizes, 83 s at these with
// Node's three runs included; in a suite run two files share the host). At the hub's own sizes,
// Node's labels are those of transformers' own pipeline on every pixel
// (test/model/hub-folder.test.ts, against ../shared/fixtures/hf's
// seed1_pipeline_2007_000033_labels.npy).
import { expect } from 'chai';
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadModel } from '../../src/model/model.js';
import { FP32_TOLERANCE, classAgreement, relativeError, testContext } from '../helpers.js';
import { sharedPath } from '../shared.js';
import { BROWSER_TITLES, BROWSERS, openTestPage, repeatTag, type TestPage } from './browsers.js';
import { PLAIN_PAGE } from './chromium.js';
import { LOGIT_STRIDE, strided } from './page-agreement.js';

const IMAGE = '2007_000033.jpg';
const BUNDLE = '/deeplab.js';
const FOLDERS = [
  ['MobileViT xx-small', 'deeplabv3-mobilevit-xx-small'],
  ['MobileNetV2', 'deeplabv3_mobilenet_v2_1.0_513'],
  ['MobileViTV2 0.5', 'mobilevitv2-0.5-deeplabv3'],
] as const;

/** The processor's sizes the page runs: the hub's 512 and 513 scaled to 128 and 129 (MobileNetV2's odd size kept odd). */
const SMALLER: Record<number, number> = { 512: 128, 513: 129 };

/** A folder's preprocessor_config.json with its resize and crop sizes made SMALLER. */
function smallerProcessor(folder: string): string {
  const p = JSON.parse(readFileSync(sharedPath('fixtures', 'hf', folder, 'preprocessor_config.json'), 'utf8'));
  const smaller = (n: number): number => {
    if (!SMALLER[n]) throw new Error(`${folder}: no smaller size for ${n}`);
    return SMALLER[n];
  };
  p.size.shortest_edge = smaller(p.size.shortest_edge);
  p.crop_size = { height: smaller(p.crop_size.height), width: smaller(p.crop_size.width) };
  return JSON.stringify(p);
}

interface Segmented {
  width: number;
  height: number;
  classes: ArrayLike<number>;
  /** The logits of every LOGIT_STRIDE-th pixel across and down. */
  logits: number[];
}

/** Node's result for each folder with the smaller processor, computed once for both browsers. */
const inNode = new Map<string, Promise<Segmented>>();

function segmentInNode(folder: string, processor: string): Promise<Segmented> {
  if (!inNode.has(folder)) {
    inNode.set(
      folder,
      (async () => {
        const dir = mkdtempSync(join(tmpdir(), 'deeplab-hub-node-'));
        try {
          const from = sharedPath('fixtures', 'hf', folder);
          symlinkSync(join(from, 'config.json'), join(dir, 'config.json'));
          symlinkSync(join(from, 'model.safetensors'), join(dir, 'model.safetensors'));
          writeFileSync(join(dir, 'preprocessor_config.json'), processor);
          const model = await loadModel(dir, { ctx: await testContext() });
          try {
            const r = await model.segment(sharedPath('data', 'voc-sample', 'JPEGImages', IMAGE), { include: ['logits'] });
            return { width: r.width, height: r.height, classes: r.classes, logits: strided(r.logits!, r.width, r.height, r.numClasses) };
          } finally {
            model.dispose();
          }
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      })(),
    );
  }
  return inNode.get(folder)!;
}

for (const browser of BROWSERS) {
  describe(`browser: Hugging Face hub folders load in the page and segment as in Node, in headless ${BROWSER_TITLES[browser]} @slow${repeatTag(browser, 'firefox')}`, function () {
    this.timeout(600_000);
    let page: TestPage;
    let weightsDir: string;

    before(async () => {
      // The demo server serves single weights files: each folder's model.safetensors under a name
      // of its own; the two small JSON files travel with the call.
      weightsDir = mkdtempSync(join(tmpdir(), 'deeplab-page-hub-'));
      for (const [, folder] of FOLDERS) symlinkSync(sharedPath('fixtures', 'hf', folder, 'model.safetensors'), join(weightsDir, `${folder}.safetensors`));
      page = await openTestPage(browser, { server: { weightsDir }, path: PLAIN_PAGE });
    });

    after(async () => {
      await page?.close();
      if (weightsDir) rmSync(weightsDir, { recursive: true, force: true });
    });

    for (const [what, folder] of FOLDERS) {
      it(`${what}: loadModel(files by name).segment() of ${IMAGE} gives Node's class map (>= 99.9 %) and logits (1e-4)`, async () => {
        const processor = smallerProcessor(folder);
        const config = readFileSync(sharedPath('fixtures', 'hf', folder, 'config.json'), 'utf8');
        const got: Segmented = await page.evaluate(
          async ({ bundle, folder, config, processor, image, stride }) => {
            const { GpuContext, loadModel } = await import(bundle);
            // One device for the page's loads, as a page that loads several models keeps one.
            const w = window as unknown as { pageCtx?: Promise<unknown> };
            w.pageCtx ??= GpuContext.create();
            const weights = new Uint8Array(await (await fetch(`/weights/${folder}.safetensors`)).arrayBuffer());
            const text = new TextEncoder();
            const files = new Map<string, Uint8Array>([
              ['config.json', text.encode(config)],
              ['preprocessor_config.json', text.encode(processor)],
              ['model.safetensors', weights],
            ]);
            const model = await loadModel(files, { name: folder, ctx: await w.pageCtx });
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
          { bundle: BUNDLE, folder, config, processor, image: IMAGE, stride: LOGIT_STRIDE },
        );
        const want = await segmentInNode(folder, processor);
        expect([got.width, got.height], 'class map size').to.deep.equal([want.width, want.height]);
        const agreement = classAgreement(got.classes, want.classes);
        const error = relativeError(got.logits, want.logits);
        console.log(
          `      (${what} in the page: ${(100 * agreement).toFixed(3)} % of pixels equal Node's, ${new Set(Array.from(want.classes)).size} classes in Node's map; logits' relative error ${error.toExponential(2)})`,
        );
        expect(agreement, "agreement with Node's class map").to.be.at.least(0.999);
        expect(error, "the logits' relative error against Node's").to.be.below(FP32_TOLERANCE);
        expect(page.pageErrors, 'no uncaught errors in the page').to.deep.equal([]);
      });
    }
  });
}
