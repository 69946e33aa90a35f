// A lost GPU device in the page, in headless Chromium (Dawn on SwiftShader) and Firefox (wgpu on
// lavapipe), as test/model/device-loss.test.ts and test/train/fine-tune-device-loss.test.ts check
// it in Node: the page's model renews its context's device and gives the same result, bit for
// bit, telling the caller once; with deviceLoss 'fail' the call rejects naming the loss; and a
// fine-tune that loses its device after step 3 of 6 ends with the losses and the tuned
// probabilities of one that did not. The loss is made as the camera test makes it:
// model.ctx.device.destroy() behind the model's back, and the next call made at once (the
// browser has not yet settled `device.lost`). The network is the camera test's small one
// (tiny-checkpoint.ts), served by the demo server; the image is a VOC photo the page decodes.
//
// Firefox (153 ESR) differs from Chromium here without the engine needing to: after destroy() it
// rejects a read-back with an OperationError ("Context lost") where Dawn gives an AbortError, and
// settles `device.lost` with it but resolves onSubmittedWorkDone() tens of milliseconds later
// (Dawn settles both at once), so GpuContext.lostError's race still finds the loss; and its
// adapter makes a second device where Chromium's is consumed by its first, which renew() never
// relies on (it asks for a new adapter).
import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BROWSER_TITLES, BROWSERS, openTestPage, repeatTag, type TestPage } from './browsers.js';
import { PLAIN_PAGE } from './chromium.js';
import { TINY_SIZE, TINY_WEIGHTS, writeTinyCheckpoint } from './tiny-checkpoint.js';

/** The bundle as the page imports it (a variable, so the compiler does not look for the module). */
const BUNDLE = '/deeplab.js';
const IMAGE = '/samples/2007_000033.jpg';
const STEPS = 6;
/** The fine-tune's device is lost after this step. */
const LOST_AFTER = 3;

interface Lost {
  model: string;
  reason: string;
  recovered: boolean;
}

for (const browser of BROWSERS) {
  describe(`browser: surviving a lost GPU device in the page, in headless ${BROWSER_TITLES[browser]} @slow${repeatTag(browser, 'firefox')}`, function () {
    this.timeout(300_000);
    let page: TestPage;
    let weightsDir: string;

    before(async () => {
      weightsDir = mkdtempSync(join(tmpdir(), 'deeplab-page-loss-'));
      writeTinyCheckpoint(join(weightsDir, TINY_WEIGHTS));
      // A blank page of the demo's origin: the test imports the bundle itself.
      page = await openTestPage(browser, { server: { weightsDir }, path: PLAIN_PAGE });
    });

    after(async () => {
      await page?.close();
      if (weightsDir) rmSync(weightsDir, { recursive: true, force: true });
    });

    it('segment() of an ImageBitmap gives the same probabilities, bit for bit, on the renewed device; the caller is told once', async () => {
      const t0 = Date.now();
      const got = await page.evaluate(
        async ({ bundle, weights, image }) => {
          const lib = await import(bundle);
          const events: Lost[] = [];
          const model = await lib.loadModel(`/weights/${weights}`, { onDeviceLost: (e: Lost) => events.push({ model: e.model, reason: e.reason, recovered: e.recovered }) });
          const bitmap = await createImageBitmap(await (await fetch(image)).blob(), { colorSpaceConversion: 'none', premultiplyAlpha: 'none' });
          try {
            const opts = { include: ['probabilities'] };
            const before = await model.segment(bitmap, opts);
            const lost = model.ctx.device;
            lost.destroy();
            const after = await model.segment(bitmap, opts);
            let differ = Math.abs(before.probabilities.length - after.probabilities.length);
            for (let i = 0; i < Math.min(before.probabilities.length, after.probabilities.length); i++) if (!Object.is(before.probabilities[i], after.probabilities[i])) differ++;
            const eventsAfterLoss = events.length;
            // A second call needs nothing renewed.
            const again = await model.segment(bitmap);
            let classesDiffer = 0;
            for (let i = 0; i < before.classes.length; i++) if (before.classes[i] !== again.classes[i]) classesDiffer++;
            return {
              size: [after.width, after.height],
              values: before.probabilities.length,
              differ,
              classesDiffer,
              newDevice: model.ctx.device !== lost,
              generation: model.ctx.generation,
              events,
              eventsAfterLoss,
            };
          } finally {
            bitmap.close();
            model.dispose();
          }
        },
        { bundle: BUNDLE, weights: TINY_WEIGHTS, image: IMAGE },
      );
      console.log(`      (${((Date.now() - t0) / 1000).toFixed(1)} s; ${got.values} probabilities, ${got.differ} differ after the loss; events: ${JSON.stringify(got.events)})`);
      expect(got.size).to.deep.equal([500, 366]);
      expect(got.values).to.equal(500 * 366 * 21);
      expect(got.differ, 'probabilities differing after the loss').to.equal(0);
      expect(got.classesDiffer, 'classes differing on the next call').to.equal(0);
      expect(got.newDevice, 'a new device').to.equal(true);
      expect(got.generation, 'renewed once').to.equal(1);
      expect(got.eventsAfterLoss, 'events after the loss').to.equal(1);
      expect(got.events, 'events after the next call').to.have.length(1);
      expect(got.events[0]).to.include({ model: 'tiny-random', recovered: true });
      expect(got.events[0].reason).to.match(/^destroyed/);
      expect(page.pageErrors, 'no uncaught errors in the page').to.deep.equal([]);
    });

    it("deviceLoss 'fail': the call after the loss and the next one reject naming it, and the caller is told it was not recovered", async () => {
      const got = await page.evaluate(
        async ({ bundle, weights, size }) => {
          const lib = await import(bundle);
          const events: Lost[] = [];
          const model = await lib.loadModel(`/weights/${weights}`, { deviceLoss: 'fail', onDeviceLost: (e: Lost) => events.push({ model: e.model, reason: e.reason, recovered: e.recovered }) });
          const image = { width: size, height: size, data: new Uint8Array(size * size * 3).map((_, i) => (i * 37) % 256) };
          const caught = async (p: Promise<unknown>): Promise<string> => {
            try {
              await p;
              return 'no error';
            } catch (e) {
              return (e as Error).message;
            }
          };
          try {
            const before = await caught(model.segment(image));
            model.ctx.device.destroy();
            const first = await caught(model.segment(image));
            const later = await caught(model.segment(image));
            return { before, first, later, events, generation: model.ctx.generation };
          } finally {
            model.dispose();
          }
        },
        { bundle: BUNDLE, weights: TINY_WEIGHTS, size: TINY_SIZE },
      );
      console.log(`      (${JSON.stringify({ first: got.first, later: got.later })})`);
      expect(got.before, 'the call before the loss').to.equal('no error');
      expect(got.first, 'the call after the loss').to.match(/^tiny-random: GPU device lost \(destroyed/);
      expect(got.later, 'a later call').to.match(/GPU device lost \(destroyed/);
      expect(got.events.map((e) => e.recovered), 'told twice, not recovered').to.deep.equal([false, false]);
      expect(got.generation, 'not renewed').to.equal(0);
    });

    it(`fineTune losing its device after step ${LOST_AFTER} of ${STEPS}: the same losses and tuned probabilities as one never interrupted`, async () => {
      const t0 = Date.now();
      const got = await page.evaluate(
        async ({ bundle, weights, image, size, steps, lostAfter }) => {
          const lib = await import(bundle);
          const bitmap = await createImageBitmap(await (await fetch(image)).blob(), { colorSpaceConversion: 'none', premultiplyAlpha: 'none' });
          const rgb = lib.imageToRgb(bitmap);
          bitmap.close();
          // Labels made up from the photo: class 1 where red outweighs blue, else 0; every other
          // row unlabelled, as strokes leave pixels.
          const labels = new Uint8Array(rgb.width * rgb.height);
          for (let p = 0; p < labels.length; p++) labels[p] = Math.floor(p / rgb.width) % 2 ? 255 : rgb.data[3 * p] > rgb.data[3 * p + 2] ? 1 : 0;
          // The photo's first size x size pixels (of its top row), as a size x size image.
          const probe = { width: size, height: size, data: rgb.data.slice(0, size * size * 3) };
          const run = async (lose: boolean) => {
            const model = await lib.loadModel(`/weights/${weights}`);
            try {
              const untaught = Array.from((await model.segment(probe, { include: ['probabilities'] })).probabilities as Float32Array);
              const losses: number[] = [];
              // Batch statistics and momentum both carry over from step to step: the replay must restore both.
              const tuned = await lib.fineTune(model, [{ image: rgb, labels }], {
                recipe: 'plain', steps, crop: size, lr: 0.0003, batch: 2, freezeBn: false, seed: 5,
                onStep: (r: { step: number; loss: number }) => {
                  losses.push(r.loss);
                  if (lose && r.step === lostAfter) model.ctx.device.destroy();
                },
              });
              try {
                const probabilities = Array.from((await tuned.segment(probe, { include: ['probabilities'] })).probabilities as Float32Array);
                return { losses, probabilities, untaught, generation: model.ctx.generation };
              } finally {
                tuned.dispose();
              }
            } finally {
              model.dispose();
            }
          };
          const clean = await run(false);
          const lost = await run(true);
          let differ = 0;
          let moved = 0;
          for (let i = 0; i < clean.probabilities.length; i++) {
            if (!Object.is(clean.probabilities[i], lost.probabilities[i])) differ++;
            if (!Object.is(clean.probabilities[i], clean.untaught[i])) moved++;
          }
          return { clean: clean.losses, lost: lost.losses, values: clean.probabilities.length, differ, moved, generations: [clean.generation, lost.generation] };
        },
        { bundle: BUNDLE, weights: TINY_WEIGHTS, image: IMAGE, size: TINY_SIZE, steps: STEPS, lostAfter: LOST_AFTER },
      );
      console.log(`      (${((Date.now() - t0) / 1000).toFixed(1)} s for both fine-tunes; losses ${got.clean.map((l) => l.toFixed(4)).join(' ')}; after the loss ${got.lost.map((l) => l.toFixed(4)).join(' ')})`);
      expect(got.clean).to.have.length(STEPS);
      expect(got.lost, 'losses').to.deep.equal(got.clean);
      // The run moved the weights. (Not that the last loss is below the first: the weights are the
      // run seed's draw and each step a crop of its own, so that would hold by chance.)
      expect(got.moved, "the tuned model's probabilities differing from the untaught model's").to.be.greaterThan(0);
      expect(got.values).to.equal(TINY_SIZE * TINY_SIZE * 21);
      expect(got.differ, "the tuned model's probabilities differing").to.equal(0);
      expect(got.generations, 'the device renewed in the run that lost it, only').to.deep.equal([0, 1]);
      expect(page.pageErrors, 'no uncaught errors in the page').to.deep.equal([]);
    });
  });
}
