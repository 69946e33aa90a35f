// The browser benchmark's page (bench part browser) in headless Chromium on SwiftShader: one
// small case, one round. All three engines must run, on the same adapter, and the peers' logits
// must be ours, so the benchmark cannot break without a test failing.
import { expect } from 'chai';
import { benchBrowser, requireChromium } from '../../bench/browser.js';
import { loadWeights } from '../../src/model/loading/load-weights.js';
import { FP32_TOLERANCE } from '../helpers.js';
import { sharedPath } from '../shared.js';

describe('browser: the benchmark page runs ours, ONNX Runtime Web and TF.js @slow', function () {
  this.timeout(300_000);

  it('runs all three engines on one adapter, the peers giving our logits (1e-4)', async () => {
    requireChromium('browser tests');
    const lines: string[] = [];
    const run = await benchBrowser(
      [{ name: 'mobilenetv2-33', size: 33, weightsNote: 'mobilenetv2-pascal-257', weights: () => loadWeights(sharedPath('weights', 'deeplabv3_257_mv_gpu.tflite')) }],
      { repeats: 1, warmup: 0, image: sharedPath('data', 'voc-sample', 'JPEGImages', '2007_000033.jpg'), log: (line) => lines.push(line) },
    );
    console.log(lines.map((l) => `      (${l})`).join('\n'));
    expect(run.rows.map((r) => r.engine)).to.deep.equal(['ours', 'ort', 'tfjs']);
    const adapters = Object.values(run.start.adapters);
    expect(adapters[0], 'the page is on SwiftShader').to.contain('swiftshader');
    expect(new Set(adapters).size, `one adapter for all: ${adapters.join('; ')}`).to.equal(1);
    for (const r of run.rows) {
      expect(r.error, `${r.engine} ran`).to.equal(undefined);
      expect(r.samplesMs, `${r.engine}: one timed run`).to.have.length(1);
      // One timed run: the median is that run's time, which is positive.
      expect(r.medianMs, r.engine).to.equal(r.samplesMs[0]).and.be.greaterThan(0);
      expect(r.firstRunMs, r.engine).to.be.at.least(r.firstPassMs!);
      expect(r.input).to.deep.equal([1, 33, 33, 3]);
    }
    const [ours, ...peers] = run.rows;
    expect(ours.relativeErrorVsOurs).to.equal(null);
    for (const r of peers) {
      expect(r.relativeErrorVsOurs, `${r.engine} vs ours`).to.be.a('number').below(FP32_TOLERANCE);
      expect(r.argmaxAgreementVsOurs, `${r.engine}: pixels of our class`).to.be.at.least(0.999);
    }
    expect(run.pageMessages.filter((m) => m.startsWith('uncaught')), 'no uncaught errors in the page').to.deep.equal([]);
  });
});
