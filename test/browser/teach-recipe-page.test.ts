// The demo's teach mode tells the truth about a teach (issue 87), in headless Firefox (wgpu on
// lavapipe): the VOC aeroplane photo, strokes painted from its own labels
// (the page's "Paint from the sample's labels", scribbles over the aeroplane and the background),
// taught 12 steps at crop 65 with the recipe's other settings. The taught model marks about as
// much of the photo aeroplane as the ground truth does; the page shows the painted and held-out
// pixels right before and after and the held-out loss; Undo gives back the model as it was; a
// learning rate that ruins every step is warned of, and the model kept is the one taught from.
//
// One browser: what this checks is the page's own script (the report, the warnings, Undo, the
// strokes painted from the labels) over the recipe's training, which is the same bundle and WGSL
// in either browser. Training in the page's worker is held in both browsers by teach.test.ts, and
// the recipe's arithmetic in Node by test/train/fine-tune-recipe.test.ts. Firefox, because it
// teaches these 12 steps about 2.5x faster than Chromium's SwiftShader (30 s against 77 s on the
// EPYC 2-core host).
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { readImage } from '../../src/io/image.js';
import { readIndexedPng } from '../../src/io/png-indexed.js';
import { loadModel } from '../../src/model/model.js';
import { strokesFromLabels } from '../../src/train/stroke-patterns.js';
import { UNLABELLED } from '../../src/train/teach-samples.js';
import { classAgreement, testContext } from '../helpers.js';
import { sharedPath } from '../shared.js';
import { seriousViolations } from './axe.js';
import { BROWSER_TITLES, type BrowserName, type TestPage, openTestPage } from './browsers.js';

const SAMPLE = '2007_000033';
const AEROPLANE = 1;

interface Figures {
  images: { painted: { before: number; after: number }; heldOut: { before: number; after: number } | null }[];
  heldOutLoss: { before: number; after: number } | null;
  drift: { before: number; after: number } | null;
  keptStep: number;
  steps: number;
  warnings: string[];
}

interface RecipeDemo {
  teachReady: Promise<void>;
  teachSample(o: unknown): Promise<{ losses: number[]; painted: number[]; figures: Figures }>;
  undoTeach(): Promise<{ name: string }>;
  segmentTaught(url: string): Promise<number[]>;
}

const share = (classes: number[], c: number): number => classes.filter((v) => v === c).length / classes.length;

/** The browsers this file runs in (see above). */
const RECIPE_BROWSERS: BrowserName[] = ['firefox'];

for (const browser of RECIPE_BROWSERS) {
  describe(`browser: the demo tells the truth about a teach (figures, warnings, undo, strokes from a sample's labels) in headless ${BROWSER_TITLES[browser]} @slow`, function () {
    this.timeout(600_000);
    let page: TestPage;
    const teachSample = (o: unknown) => page.evaluate(async (a) => (window as unknown as { deeplabDemo: RecipeDemo }).deeplabDemo.teachSample(a), o);
    const segmentTaught = (url: string) => page.evaluate(async (u) => (window as unknown as { deeplabDemo: RecipeDemo }).deeplabDemo.segmentTaught(u), url);

    before(async () => {
      page = await openTestPage(browser);
      await page.evaluate(() => (window as unknown as { deeplabDemo: RecipeDemo }).deeplabDemo.teachReady);
    });

    after(async () => {
      await page?.close();
    });

    it('12 steps at crop 65 on strokes from the labels: the aeroplane about its true share, the figures shown; Undo gives back the model as it was', async () => {
      const truth = readIndexedPng(readFileSync(sharedPath('data', 'voc-sample', 'SegmentationClass', `${SAMPLE}.png`)));
      const strokes = strokesFromLabels(truth.indices, truth.width, truth.height, 'scribbles', { seed: 0 });
      const run = await teachSample({ sample: `${SAMPLE}.jpg`, pattern: 'scribbles', steps: 12, crop: 65, seed: 0 });
      const f = run.figures;
      console.log(`      (${run.painted[0]} pixels painted; loss ${run.losses.map((l) => l.toFixed(3)).join(' ')}; painted right ${f.images[0].painted.before.toFixed(1)} -> ${f.images[0].painted.after.toFixed(1)} %, held-out ${f.images[0].heldOut?.before.toFixed(1)} -> ${f.images[0].heldOut?.after.toFixed(1)} %; held-out loss ${f.heldOutLoss?.before.toFixed(3)} -> ${f.heldOutLoss?.after.toFixed(3)}, step ${f.keptStep} kept; ${f.warnings.join('; ') || 'no warning'})`);
      expect(run.painted, "the page painted what strokesFromLabels makes of the sample's labels").to.deep.equal([strokes.filter((v) => v !== UNLABELLED).length]);
      expect(run.losses).to.have.length(12);
      expect(f.steps).to.equal(12);
      expect(f.heldOutLoss, 'held-out strokes measured').to.not.equal(null);
      expect(f.heldOutLoss!.after, 'the kept step is no worse on the held-out strokes').to.be.at.most(f.heldOutLoss!.before);
      const taught = await segmentTaught(`/samples/${SAMPLE}.jpg`);
      const truthShare = share([...truth.indices].filter((v) => v !== 255), AEROPLANE);
      console.log(`      (aeroplane: ${(100 * share(taught, AEROPLANE)).toFixed(1)} % of the photo taught, ${(100 * truthShare).toFixed(1)} % of the ground truth's labelled pixels)`);
      expect(share(taught, AEROPLANE), 'the share of the photo marked aeroplane').to.be.within(0.13, 0.21);
      // The figures on the page say what the result says.
      const shown = await page.textContent('#teach-figures');
      expect(shown).to.match(new RegExp(`^Held-out strokes: loss ${f.heldOutLoss!.before.toFixed(3)} before teaching, ${f.heldOutLoss!.after.toFixed(3)} after\\.`));
      expect(f.drift, 'the drift measured where the run distils').to.not.equal(null);
      expect(shown).to.contain(`Unpainted pixels against the model's own classes: loss ${f.drift!.before.toFixed(3)} before, ${f.drift!.after.toFixed(3)} after.`);
      expect(await page.textContent('.teach-card figcaption')).to.match(/; painted pixels right \d+\.\d % → \d+\.\d %; held-out \d+\.\d % → \d+\.\d %$/);
      expect(await page.evaluate(() => document.getElementById('teach-warnings')!.hidden)).to.equal(f.warnings.length === 0);

      // Undo: the worker's model is the one taught from, the taught one's views gone.
      const undone = await page.evaluate(async () => (window as unknown as { deeplabDemo: RecipeDemo }).deeplabDemo.undoTeach());
      expect(undone.name).to.equal('mobilenetv2-pascal-257');
      expect(await page.evaluate(() => [document.querySelector<HTMLCanvasElement>('.teach-card canvas + canvas')!.hidden, document.getElementById('teach-download')!.hidden, document.getElementById('teach-report')!.hidden, (document.getElementById('teach-undo') as HTMLButtonElement).disabled])).to.deep.equal([true, true, true, true]);
      expect(await page.textContent('#status')).to.equal('undone: back to mobilenetv2-pascal-257 as it was before teaching');
      const again = await segmentTaught(`/samples/${SAMPLE}.jpg`);
      const model = await loadModel(sharedPath('weights', 'deeplabv3_257_mv_gpu.tflite'), { ctx: await testContext() });
      try {
        const untaught = (await model.segment(await readImage(sharedPath('data', 'voc-sample', 'JPEGImages', `${SAMPLE}.jpg`)))).classes;
        expect(classAgreement(again, untaught), "after Undo, the page's classes against the untaught model's in Node").to.be.at.least(0.999);
      } finally {
        model.dispose();
      }
      expect(page.pageErrors, 'no uncaught errors in the page').to.deep.equal([]);
    });

    it('a learning rate that ruins every step: the page warns, and the model kept is the one taught from', async () => {
      const run = await teachSample({ sample: `${SAMPLE}.jpg`, pattern: 'clicks', steps: 3, crop: 65, lr: 3, seed: 0 });
      const f = run.figures;
      console.log(`      (held-out loss ${f.heldOutLoss?.before.toFixed(3)} -> ${f.heldOutLoss?.after.toFixed(3)}, step ${f.keptStep} kept; ${f.warnings.join('; ')})`);
      expect(f.keptStep, 'the model as it was, kept').to.equal(0);
      expect(f.warnings.some((w) => w.startsWith('no step did better on the held-out strokes than the model as it was')), 'the warning').to.equal(true);
      const items = await page.evaluate(() => Array.from(document.querySelectorAll('#teach-warnings li')).map((li) => li.textContent));
      expect(items, 'the warnings listed on the page').to.deep.equal(f.warnings);
      expect(await page.evaluate(() => document.getElementById('teach-warnings')!.hidden)).to.equal(false);
      expect(await page.textContent('#teach-figures')).to.match(/No step did better than the model as it was: it is kept unchanged\.$/);
      expect(await seriousViolations(page), 'serious accessibility violations (axe-core) with the warnings shown').to.deep.equal([]);
      expect(page.pageErrors, 'no uncaught errors in the page').to.deep.equal([]);
    });
  });
}
