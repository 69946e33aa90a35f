// Our 257 model against TF Lite's own outputs on the same inputs (../shared/fixtures/tflite).
import { expect } from 'chai';
import { existsSync, readFileSync } from 'node:fs';
import { readTensor } from '../../src/gpu/tensor.js';
import { readImage } from '../../src/io/image.js';
import { readIndexedPng } from '../../src/io/png-indexed.js';
import { readNpy } from '../../src/model/weights/import/npy.js';
import { DeepLabModel, loadModel } from '../../src/model/model.js';
import { argmaxCpu } from '../../src/kernels/softmax/softmax.js';
import { expectClose, expectRejects, relativeError, testContext } from '../helpers.js';
import { sharedPath } from '../shared.js';

const FIXTURES = sharedPath('fixtures', 'tflite');
const VOC = sharedPath('data', 'voc-sample');

describe('model: TF Lite parity (mobilenetv2-pascal-257) @slow', () => {
  let model: DeepLabModel;
  before(async () => {
    model = await loadModel('mobilenetv2-pascal-257', { ctx: await testContext() });
  });
  after(() => model?.dispose());

  for (const id of ['2007_000033', 'voc12val_0294']) {
    it(`reproduces TF Lite's logits on ${id} (relative error < 1e-4)`, async () => {
      const input = readNpy(`${FIXTURES}/${id}_input257.npy`);
      const expected = readNpy(`${FIXTURES}/${id}_logits257.npy`);
      expect(input.shape).to.deep.equal([1, 257, 257, 3]);
      const logits = await model.forward(input.data, 257, 257);
      const ours = await readTensor(model.ctx, logits);
      const err = relativeError(ours, expected.data);
      console.log(`      ${id}: relative error ${err.toExponential(2)}`);
      expectClose(ours, expected.data, `${id} logits`);
    });
  }

  it("agrees with TF Lite's 257x257 argmax on >= 99.5 % of pixels over the VOC sample", async () => {
    const ids = readFileSync(`${VOC}/ImageSets/Segmentation/val.txt`, 'utf8').split(/\s+/).filter(Boolean);
    let same = 0;
    let total = 0;
    for (const id of ids) {
      const jpg = `${VOC}/JPEGImages/${id}.jpg`;
      const path = existsSync(jpg) ? jpg : `${VOC}/JPEGImages/${id}.png`;
      const { input } = model.preprocess(await readImage(path));
      const logits = await readTensor(model.ctx, await model.forward(input, 257, 257));
      const ours = argmaxCpu(logits, [1, 257, 257, 21]);
      const ref = readIndexedPng(readFileSync(`${FIXTURES}/${id}_argmax257.png`)).indices;
      let agree = 0;
      for (let i = 0; i < ref.length; i++) if (ours[i] === ref[i]) agree++;
      same += agree;
      total += ref.length;
    }
    const rate = same / total;
    console.log(`      argmax agreement ${(100 * rate).toFixed(3)} % over ${ids.length} images`);
    expect(rate).to.be.at.least(0.995);
  });
});

describe('model: half precision (f16 storage) on the VOC sample (mobilenetv2-pascal-257) @slow', () => {
  let single: DeepLabModel;
  let half: DeepLabModel;
  before(async function () {
    const ctx = await testContext();
    if (!ctx.hasHalf) this.skip();
    single = await loadModel('mobilenetv2-pascal-257', { ctx });
    half = await loadModel('mobilenetv2-pascal-257', { ctx, precision: 'f16' });
  });
  after(() => {
    single?.dispose();
    half?.dispose();
  });

  it("agrees with TF Lite's argmax on >= 99.5 % of pixels; logits within f16 rounding of f32", async () => {
    const ids = readFileSync(`${VOC}/ImageSets/Segmentation/val.txt`, 'utf8').split(/\s+/).filter(Boolean);
    let withTflite = 0;
    let withSingle = 0;
    let total = 0;
    let worst = 0;
    for (const id of ids) {
      const jpg = `${VOC}/JPEGImages/${id}.jpg`;
      const { input } = half.preprocess(await readImage(existsSync(jpg) ? jpg : `${VOC}/JPEGImages/${id}.png`));
      const h = await half.forwardToHost(input, 257, 257);
      const s = await single.forwardToHost(input, 257, 257);
      worst = Math.max(worst, relativeError(h, s));
      const ours = argmaxCpu(h, [1, 257, 257, 21]);
      const theirs = argmaxCpu(s, [1, 257, 257, 21]);
      const ref = readIndexedPng(readFileSync(`${FIXTURES}/${id}_argmax257.png`)).indices;
      for (let i = 0; i < ref.length; i++) {
        if (ours[i] === ref[i]) withTflite++;
        if (ours[i] === theirs[i]) withSingle++;
      }
      total += ref.length;
    }
    console.log(
      `      f16: argmax agreement ${(100 * withTflite / total).toFixed(3)} % with TF Lite, ${(100 * withSingle / total).toFixed(3)} % with our f32; ` +
        `logits relative error up to ${worst.toExponential(2)}`,
    );
    expect(withTflite / total).to.be.at.least(0.995);
    // f16 keeps 11 significant bits (relative rounding 2^-12 ~ 2.4e-4 on average); through
    // ~50 layers that compounds to ~5e-3. Rounding must show (an f32 run gives ~1e-7).
    expect(worst).to.be.greaterThan(1e-4).and.lessThan(2e-2);
  });

  it('refuses an unknown precision', async () => {
    await expectRejects(loadModel('mobilenetv2-pascal-257', { ctx: await testContext(), precision: 'f64' as 'f16' }), /precision must be 'f32' or 'f16', got 'f64'/);
  });
});
