// Our TF Lite exports of the default model in MediaPipe Tasks' ImageSegmenter (the version the
// bench pins, its CPU and GPU delegates) in headless Chromium, through the browser benchmark's
// page: the float32 and the int8 file (`deeplab export --format tflite`, the int8 one calibrated
// on five VOC images) taken as they are, no step added, the metadata theirs; the photo's category
// mask agrees with our segment()'s class map on >= 98 % of pixels (what MediaPipe's delegates show
// with each other and with TF Lite's own classes, test/browser/bench-page.test.ts).
import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserCase, benchBrowser, requireChromium } from '../../bench/browser.js';
import type { EngineName } from '../../bench/page-protocol.js';
import { loadWeights } from '../../src/model/loading/load-weights.js';
import { messages, runCli } from '../cli/run-cli.js';
import { sharedPath } from '../shared.js';

const TFLITE = sharedPath('weights', 'deeplabv3_257_mv_gpu.tflite');
const IMAGE = sharedPath('data', 'voc-sample', 'JPEGImages', '2007_000033.jpg');
const VOC = sharedPath('data', 'voc-sample');
const ENGINES: EngineName[] = ['ours-segment', 'mediapipe-cpu', 'mediapipe-gpu'];

describe('browser: MediaPipe Tasks takes our TF Lite exports of the default model as they are @slow @extended', function () {
  this.timeout(600_000);
  let dir = '';
  before(() => {
    requireChromium('browser tests');
    dir = mkdtempSync(join(tmpdir(), 'tflite-mediapipe-'));
  });
  after(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  for (const precision of ['float32', 'int8'] as const) {
    it(`${precision}: ImageSegmenter (CPU and GPU delegates) loads the file; its category mask of the photo is our segment()'s classes on >= 98 % of pixels`, async () => {
      const file = join(dir, `default-${precision}.tflite`);
      const calibrate = precision === 'int8' ? ['--calibrate', VOC, '--calibrate-count', '5'] : [];
      const r = await runCli(['export', '--model', TFLITE, '--format', 'tflite', '--precision', precision, ...calibrate, '--out', file]);
      expect(r.code, messages(r.stderr)).to.equal(0);
      const c: BrowserCase = {
        name: `mobilenetv2-257-${precision}`,
        size: 257,
        weightsNote: `mobilenetv2-pascal-257, our ${precision} TF Lite export`,
        weights: () => loadWeights(TFLITE),
        tflite: { path: TFLITE, size: 257, classes: sharedPath('fixtures', 'tflite') },
        mediapipeTflite: file,
      };
      const lines: string[] = [];
      const run = await benchBrowser([c], { repeats: 1, warmup: 0, image: IMAGE, engines: ENGINES, log: (line) => lines.push(line) });
      console.log(lines.map((l) => `      (${l})`).join('\n'));
      expect(run.rows.map((row) => row.engine)).to.deep.equal(ENGINES);
      for (const row of run.rows.slice(1)) {
        expect(row.error, `${row.engine} took the file`).to.equal(undefined);
        expect(row.photo, `${row.engine}: the photo, segmented whole`).to.deep.equal([366, 500]);
        expect(row.labelAgreementVsOurs, `${row.engine}: pixels of our segment()'s class`).to.be.a('number').at.least(0.98);
      }
      expect(run.pageMessages.filter((m) => m.startsWith('uncaught')), 'no uncaught errors in the page').to.deep.equal([]);
    });
  }
});
