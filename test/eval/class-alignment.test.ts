// A 151-class TF DeepLab ADE20K model evaluated on an ADE20K folder (150 classes): the labels are
// read in the model's numbering ('other' first), as TF DeepLab evaluates, and a model whose
// classes are not so related is left alone.
import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDataset } from '../../src/data/dataset.js';
import { hasOtherFirst, shiftedPastOther } from '../../src/eval/class-alignment.js';
import { type Segmenter, evaluateVoc } from '../../src/eval/voc.js';
import { datasetClassSet } from '../../src/model/datasets.js';
import { ADE_RAW, writeAde20k } from '../data/tiny-datasets.js';

describe("eval: a model with 'other' before the data set's classes (TF DeepLab's ADE20K)", () => {
  it("is recognised from the class names: ade20k-tf's over ade20k's, nothing else", () => {
    const [tf, ade] = [datasetClassSet('ade20k-tf').names, datasetClassSet('ade20k').names];
    expect(hasOtherFirst(tf, ade)).to.equal(true);
    expect(hasOtherFirst(ade, ade)).to.equal(false);
    expect(hasOtherFirst(tf, datasetClassSet('cityscapes').names)).to.equal(false);
    expect(hasOtherFirst(['other', 'wall', 'sky', ...ade.slice(2)], ade)).to.equal(false);
  });

  it("scores the folder as TF does: annotation value v is class v, 0 ignored, a pixel called 'other' a miss", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'deeplab-ade-'));
    try {
      await writeAde20k(dir);
      const dataset = openDataset(dir, 'validation');
      // ADE_RAW is [0, 1, 150, 2]: the model gets pixels 1 and 2 right, calls the last 'other'.
      const predicted = Uint8Array.from([7, 1, 150, 0]);
      const names = datasetClassSet('ade20k-tf').names;
      const model: Segmenter = {
        name: 'tf-ade20k-stub',
        numClasses: names.length,
        classNames: names,
        segment: async () => ({ width: 4, height: 1, classes: predicted, numClasses: names.length }),
      };
      const items = dataset.items.map((it) => ({ id: it.id, imagePath: it.imagePath, gtPath: it.labelPath }));
      const scores = await evaluateVoc(model, items, { ignoreIndex: dataset.ignoreIndex, readLabel: shiftedPastOther(dataset.readLabel, dataset.ignoreIndex) });
      // TF's confusion: wall (1) and the 150th class right; class 2 missed; 'other' predicted once.
      expect(ADE_RAW).to.deep.equal([0, 1, 150, 2]);
      expect(scores.perClass[names[1]]).to.equal(100);
      expect(scores.perClass[names[150]]).to.equal(100);
      expect(scores.perClass[names[2]]).to.equal(0);
      expect(scores.perClass.other).to.equal(0);
      expect(scores.mIoU).to.equal(50);
      expect(scores.pixelAccuracy).to.be.closeTo(200 / 3, 1e-9);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
