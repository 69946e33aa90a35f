// Tuning in the page: loadModel(..., { tune: 'full' }) times the kernel candidates within its
// budget, once, and keeps the choices in the page's IndexedDB; after a reload the next load finds
// them all stored and times nothing. (How long tuning takes is measured by bench part browser.)
// In Chromium (Dawn) and Firefox (wgpu): tuning compiles every candidate the adapter allows, so
// this also holds that none of them crashes naga in a page.
import { expect } from 'chai';
import { BROWSER_TITLES, BROWSERS, openTestPage, repeatTag, type TestPage } from './browsers.js';

interface Loaded {
  /** Choices stored for the adapter after the load. */
  stored: number;
  /** Choices recorded by this load (timed, or settled at their default past the budget). */
  recorded: number;
}

/** Loads the default model in the page with tune 'full' on a fresh context, and says what tuning did. */
function loadTuned(page: TestPage, budgetMs: number): Promise<Loaded> {
  return page.evaluate(async (budget) => {
    const lib = (await import('/deeplab.js' as string)) as typeof import('../../src/browser/index.js');
    const ctx = await lib.GpuContext.create({ tune: 'full' });
    try {
      const model = await lib.loadModel('/weights/deeplabv3_257_mv_gpu.tflite', { ctx, tune: 'full', tuneBudgetMs: budget });
      model.dispose();
      return { stored: ctx.tuning.size, recorded: ctx.tuning.recorded };
    } finally {
      ctx.destroy();
    }
  }, budgetMs);
}

for (const browser of BROWSERS) {
  describe(`browser: tuning in the page in ${BROWSER_TITLES[browser]}, kept in IndexedDB for the next load @slow${repeatTag(browser, 'chromium')}`, function () {
    this.timeout(300_000);

    it('tunes within its budget once; after a reload the next load times nothing', async () => {
      const page = await openTestPage(browser);
      try {
        const first = await loadTuned(page, 1500);
        // Every tunable layer shape gets a choice: timed, or its default for good past the budget.
        expect(first.stored, 'layer shapes stored').to.be.at.least(20);
        expect(first.recorded).to.equal(first.stored);
        await page.reload();
        const second = await loadTuned(page, 1500);
        expect(second, 'the stored choices, nothing timed').to.deep.equal({ stored: first.stored, recorded: 0 });
        expect(page.pageErrors).to.deep.equal([]);
      } finally {
        await page.close();
      }
    });
  });
}
