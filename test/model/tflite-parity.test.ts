// Our 257 model against TF Lite's own outputs on the same inputs (../shared/fixtures/tflite).
import { expect } from 'chai';
import { existsSync, readFileSync } from 'node:fs';
import { readTensor } from '../../src/gpu/tensor.js';
import { readImage } from '../../src/io/image.js';
import { readIndexedPng } from '../../src/io/png-indexed.js';
import { readNpy } from '../../src/model/weights/import/npy.js';
import { DeepLabModel, loadModel } from '../../src/model/model.js';
import { argmaxCpu } from '../../src/kernels/softmax.js';
import { expectClose, relativeError, testContext } from '../helpers.js';

const FIXTURES = '../shared/fixtures/tflite';
const VOC = '../shared/data/voc-sample';
process.env.DEEPLAB_WEIGHTS_DIR ??= '../shared/weights';

describe('model: TF Lite parity (mobilenetv2-pascal-257)', () => {
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
