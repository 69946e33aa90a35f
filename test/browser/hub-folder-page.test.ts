// Hugging Face hub folders in the page (headless Chromium on SwiftShader, and Firefox on wgpu and
// lavapipe): a `transformers` DeepLabV3 folder handed to the page's loadModel as its files' bytes
// by name, segmenting the VOC image with the default pipeline (the hub processor's resize and
// centre crop, the logits resized to the image): the labels must be those of transformers' own
// pipeline (../shared/fixtures/hf, seed1_pipeline_2007_000033_labels.npy) on >= 99.9 % of
// pixels, as in Node (test/model/hub-folder.test.ts). The page decodes the JPEG itself.
import { expect } from 'chai';
import { mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readNpy } from '../../src/model/weights/import/npy.js';
import { sharedPath } from '../shared.js';
import { BROWSERS, BROWSER_TITLES, type TestPage, openTestPage } from './browsers.js';

const IMAGE = '2007_000033.jpg';
const BUNDLE = '/deeplab.js';
const FOLDERS = [
  ['MobileViT xx-small', 'deeplabv3-mobilevit-xx-small'],
  ['MobileNetV2', 'deeplabv3_mobilenet_v2_1.0_513'],
  ['MobileViTV2 0.5', 'mobilevitv2-0.5-deeplabv3'],
] as const;

for (const browser of BROWSERS) {
  describe(`browser: Hugging Face hub folders load in the page and segment as transformers does, in headless ${BROWSER_TITLES[browser]} @slow`, function () {
    this.timeout(600_000);
    let page: TestPage;
    let weightsDir: string;

    before(async () => {
      // The demo server serves single weights files: each folder's model.safetensors under a name
      // of its own; the two small JSON files travel with the call.
      weightsDir = mkdtempSync(join(tmpdir(), 'deeplab-page-hub-'));
      for (const [, folder] of FOLDERS) symlinkSync(sharedPath('fixtures', 'hf', folder, 'model.safetensors'), join(weightsDir, `${folder}.safetensors`));
      page = await openTestPage(browser, { server: { weightsDir }, path: 'deeplab.js.map' });
    });

    after(async () => {
      await page?.close();
      if (weightsDir) rmSync(weightsDir, { recursive: true, force: true });
    });

    for (const [what, folder] of FOLDERS) {
      it(`${what}: loadModel(files by name).segment() labels ${IMAGE} as transformers' pipeline (>= 99.9 %)`, async () => {
        const dir = sharedPath('fixtures', 'hf', folder);
        const json = (name: string) => readFileSync(join(dir, name), 'utf8');
        const inPage = await page.evaluate(
          async ({ bundle, folder, config, processor, image }) => {
            const { loadModel } = await import(bundle);
            const weights = new Uint8Array(await (await fetch(`/weights/${folder}.safetensors`)).arrayBuffer());
            const text = new TextEncoder();
            const files = new Map<string, Uint8Array>([
              ['config.json', text.encode(config)],
              ['preprocessor_config.json', text.encode(processor)],
              ['model.safetensors', weights],
            ]);
            const model = await loadModel(files, { name: folder });
            try {
              const r = await model.segment(`/samples/${image}`);
              return { width: r.width as number, height: r.height as number, classes: Array.from(r.classes as Uint8Array) };
            } finally {
              model.dispose();
            }
          },
          { bundle: BUNDLE, folder, config: json('config.json'), processor: json('preprocessor_config.json'), image: IMAGE },
        );
        const ref = readNpy(join(dir, 'seed1_pipeline_2007_000033_labels.npy'));
        expect([inPage.height, inPage.width]).to.deep.equal(ref.shape);
        let same = 0;
        for (let i = 0; i < ref.data.length; i++) if (inPage.classes[i] === ref.data[i]) same++;
        console.log(`      (${what} in the page: ${((100 * same) / ref.data.length).toFixed(3)} % of pixels equal transformers' pipeline)`);
        expect(same / ref.data.length, "agreement with transformers' pipeline").to.be.at.least(0.999);
        expect(page.pageErrors, 'no uncaught errors in the page').to.deep.equal([]);
      });
    }
  });
}
