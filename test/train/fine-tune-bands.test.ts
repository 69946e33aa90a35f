// fineTune of a 4-band model (smp's DeepLabV3Plus resnet18, in_channels 4: the N-band fixture's
// network, test/fixtures/smp-nband, with a stem of 4 input channels from the same PRNG) from
// 16-bit bands: the first step's loss is the cross-entropy of the model's own logits on the
// bands normalised by hand with the caller's mean and std; with the paper's augmentation (bands
// scaled, cropped and flipped as RGB is) planar bands train. And the samples as fineTune reads
// them for a binary grayscale model: its labels a mask, RGB made gray, bands checked.
import { expect } from 'chai';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BandArray } from '../../src/io/band-image.js';
import { type DeepLabModel, loadModel } from '../../src/model/model.js';
import { readNpy } from '../../src/model/weights/import/npy.js';
import { safetensorsBytes } from '../../src/model/weights/import/safetensors.js';
import { loadWeights } from '../../src/model/loading/load-weights.js';
import { type FineTuneStep, UNLABELLED, fineTune } from '../../src/train/fine-tune.js';
import { prepareSamples } from '../../src/train/teach-samples.js';
import { expectRejects, relativeError, testContext } from '../helpers.js';
import { smpStateDict, writeSmpFolder } from '../model/smp-fixture.js';
import { pixelCrossEntropy } from './pixel-cross-entropy.js';

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'test', 'fixtures', 'smp-nband');
const BANDS = 4;
/** The training crop; the first test's image: the top-left SIZE x SIZE of the fixture's 48x64 bands. */
const SIZE = 32;

/** An smp folder of the N-band fixture's network with a stem of BANDS input channels. */
function fourBandFolder(): string {
  const manifest = JSON.parse(readFileSync(join(FIXTURES, 'manifest.json'), 'utf8'));
  const rows = manifest.tensors.map((r: [string, number[], string, string]) => (r[0] === 'encoder.conv1.weight' ? [r[0], [64, BANDS, 7, 7], r[2], r[3]] : r));
  const dir = mkdtempSync(join(tmpdir(), 'smp-4band-'));
  const config = JSON.parse(readFileSync(join(FIXTURES, 'config.json'), 'utf8'));
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...config, in_channels: BANDS }));
  writeFileSync(join(dir, 'model.safetensors'), safetensorsBytes(smpStateDict({ rows, sha256All: '', encoderName: 'resnet18' })));
  return dir;
}

/** The fixture's first BANDS 16-bit bands in the top-left height x width, one plane per band. */
function planarBands(width: number, height: number): BandArray {
  const x = readNpy(join(FIXTURES, 'bands_u16_48x64.npy'));
  const [, full, channels] = x.shape;
  const data = new Uint16Array(height * width * BANDS);
  for (let y = 0; y < height; y++) for (let c = 0; c < BANDS; c++) for (let i = 0; i < width; i++) data[c * height * width + y * width + i] = x.data[(y * full + i) * channels + c];
  return { width, height, channels: BANDS, data, layout: 'planar' };
}

describe('train: fineTune of a 4-band model from 16-bit bands', function () {
  this.timeout(600_000);
  let dir = '';
  let model: DeepLabModel;
  const manifest = JSON.parse(readFileSync(join(FIXTURES, 'manifest.json'), 'utf8'));
  const stats = { mean: (manifest.u16_mean as number[]).slice(0, BANDS), std: (manifest.u16_std as number[]).slice(0, BANDS) };

  before(async () => {
    dir = fourBandFolder();
    model = await loadModel(dir, { ctx: await testContext() });
    expect(model.config.inChannels).to.equal(BANDS);
  });
  after(() => {
    model?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it("the first step's loss is the cross-entropy of the model's own logits on the bands normalised with the caller's mean and std", async () => {
    const bands = planarBands(SIZE, SIZE);
    // Normalised by hand, interleaved: (x - mean) / std in the data's own units.
    const input = new Float32Array(SIZE * SIZE * BANDS);
    for (let p = 0; p < SIZE * SIZE; p++) for (let c = 0; c < BANDS; c++) input[p * BANDS + c] = (bands.data[c * SIZE * SIZE + p] - stats.mean[c]) / stats.std[c];
    const logits = await model.forwardToHost(input, SIZE, SIZE);
    // Labels: the model's second-best class (a loss well above 0), every 3rd row unlabelled.
    const C = model.numClasses;
    const labels = new Uint8Array(SIZE * SIZE).map((_, p) => {
      if (Math.floor(p / SIZE) % 3 === 0) return UNLABELLED;
      const order = [...logits.subarray(p * C, (p + 1) * C)].map((v, c) => [v, c]).sort((a, b) => b[0] - a[0]);
      return order[1][1];
    });
    const steps: FineTuneStep[] = [];
    const tuned = await fineTune(model, [{ image: bands, labels }], { ...stats, recipe: 'plain', steps: 1, crop: SIZE, lr: 0.01, scale: [1, 1], flip: false, loss: 'ce', onStep: (r) => void steps.push(r) });
    tuned.dispose();
    const expected = pixelCrossEntropy(logits, labels, C).loss;
    console.log(`      (first loss ${steps[0].loss.toFixed(5)}, the model's own cross-entropy ${expected.toFixed(5)})`);
    expect(relativeError([steps[0].loss], [expected]), "first loss vs the model's cross-entropy").to.be.lessThan(1e-4);
  });

  it('trains on planar 16-bit bands with the augmentation (scale, crop, flip)', async () => {
    const bands = planarBands(64, 48);
    const labels = new Uint8Array(48 * 64).map((_, p) => (p % 64 < 32 ? 1 : 2));
    const before = (await model.parameters()).get('encoder.conv1.weight')!.data;
    const steps: FineTuneStep[] = [];
    const tuned = await fineTune(model, [{ image: bands, labels }], { ...stats, recipe: 'plain', steps: 2, crop: SIZE, lr: 0.01, seed: 5, loss: 'ce+dice', onStep: (r) => void steps.push(r) });
    try {
      console.log(`      (losses ${steps.map((s) => s.loss.toFixed(4)).join(', ')})`);
      expect(steps.map((s) => Number.isFinite(s.loss) && s.loss > 0)).to.deep.equal([true, true]);
      const after = (await tuned.parameters()).get('encoder.conv1.weight')!.data;
      expect(after.length, 'a stem of 4 input channels').to.equal(64 * BANDS * 7 * 7);
      expect(relativeError(after, before), 'the stem moved').to.be.greaterThan(1e-6);
    } finally {
      tuned.dispose();
    }
  });
});

describe('train: fineTune\'s samples for a binary grayscale model (smp classes 1, in_channels 1)', () => {
  it('reads labels as a mask (0 background, 255 ignored, any other value foreground), RGB as gray, float bands with their statistics, and refuses bands it cannot take', async () => {
    const { dir } = writeSmpFolder('deeplabv3-mobilenet_v2');
    try {
      const w = await loadWeights(dir);
      expect([w.config.binary, w.config.inChannels]).to.deep.equal([true, 1]);
      const gray: BandArray = { width: 3, height: 2, channels: 1, layout: 'interleaved', data: Uint8Array.of(0, 50, 100, 150, 200, 250) };
      const [s] = await prepareSamples(w, [{ image: gray, labels: Uint8Array.of(0, 1, 7, 255, 254, 0) }], {});
      expect([...s.label.indices]).to.deep.equal([0, 1, 1, 255, 1, 0]);
      // The model's statistics: band 0 takes RGB channel 0's (0.485, 0.229).
      expect('normalized' in s.image && Array.from(s.image.normalized)).to.deep.equal(Array.from(Float32Array.from(gray.data, (v) => (v / 255 - 0.485) / 0.229)));
      // An RGB image with three equal channels is that gray.
      const rgb = { width: 3, height: 2, data: Uint8Array.from({ length: 18 }, (_, i) => gray.data[Math.floor(i / 3)]) };
      const [t] = await prepareSamples(w, [{ image: rgb, labels: Uint8Array.of(0, 0, 0, 0, 0, 3) }], {});
      expect([...t.label.indices]).to.deep.equal([0, 0, 0, 0, 0, 1]);
      // Float bands with the caller's statistics, in the data's own units.
      const floats = { ...gray, data: Float32Array.of(0.5, -1, 2, 3.25, 0, 7) };
      const [u] = await prepareSamples(w, [{ image: floats, labels: Uint8Array.of(1, 0, 0, 0, 0, 0) }], { mean: [0.5], std: [2] });
      expect('normalized' in u.image && Array.from(u.image.normalized)).to.deep.equal([0, -0.75, 0.75, 1.375, -0.25, 3.25]);
      await expectRejects(prepareSamples(w, [{ image: { ...gray, data: Uint16Array.from(gray.data) }, labels: new Uint8Array(6) }], {}), /^fineTune: sample 0: 16-bit bands need their mean and std/);
      await expectRejects(prepareSamples(w, [{ image: { ...gray, channels: 2, data: new Uint8Array(12) }, labels: new Uint8Array(6) }], {}), /^fineTune: sample 0: the image has 2 bands; .* takes 1 \(in_channels 1\)$/);
      await expectRejects(prepareSamples(w, [{ image: gray, labels: new Uint8Array(6).fill(UNLABELLED) }], {}), 'fineTune: sample 0: no pixel is labelled (paint at least one stroke)');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
