import { readFileSync } from 'node:fs';
import { expect } from 'chai';
import { ConfusionMatrix, confusionJson } from '../../src/eval/metrics.js';
import { readIndexedPng } from '../../src/io/png-indexed.js';
import { sharedPath } from '../shared.js';
import { expectThrows } from '../helpers.js';

describe('eval: confusion matrix and mIoU', () => {
  it('hand-computed 3-class example', () => {
    // gt:   0 0 0 1 1 2 2 2
    // pred: 0 0 1 1 2 2 2 0
    // class 0: TP 2, FN 1 (gt 0 -> 1), FP 1 (gt 2 -> 0): IoU 2/4
    // class 1: TP 1, FN 1, FP 1: IoU 1/3
    // class 2: TP 2, FN 1, FP 1: IoU 2/4
    const m = new ConfusionMatrix(3);
    m.add([0, 0, 1, 1, 2, 2, 2, 0], [0, 0, 0, 1, 1, 2, 2, 2]);
    expect(Array.from(m.counts)).to.deep.equal([2, 1, 0, 0, 1, 1, 1, 0, 2]); // row = gt, col = pred
    expect(m.iou()).to.deep.equal([0.5, 1 / 3, 0.5]);
    expect(m.meanIouPresent()).to.be.closeTo((0.5 + 1 / 3 + 0.5) / 3, 1e-15);
    expect(m.meanIouAll()).to.be.closeTo((0.5 + 1 / 3 + 0.5) / 3, 1e-15);
    expect(m.pixelAccuracy()).to.equal(5 / 8);
    // Dice = 2 TP / (2 TP + FP + FN): 4/6, 2/4, 4/6.
    const dice = m.dice();
    [4 / 6, 2 / 4, 4 / 6].forEach((want, c) => expect(dice[c], `class ${c}`).to.be.closeTo(want, 1e-15));
  });

  it("a binary mask's foreground Dice, and none for a class in neither gt nor prediction", () => {
    // gt 1 1 1 0 0 (255 ignored), pred 1 1 0 1 0: foreground TP 2, FN 1, FP 1 -> Dice 4/6.
    const m = new ConfusionMatrix(3);
    m.add([1, 1, 0, 1, 0, 1], [1, 1, 1, 0, 0, 255]);
    expect(m.dice()[1]).to.be.closeTo(4 / 6, 1e-15);
    expect(Number.isNaN(m.dice()[2])).to.equal(true);
  });

  it('accumulates over several add() calls like one big image', () => {
    const a = new ConfusionMatrix(3);
    a.add([0, 0, 1, 1], [0, 0, 0, 1]);
    a.add(Uint8Array.of(2, 2, 2, 0), Uint8Array.of(1, 2, 2, 2));
    const b = new ConfusionMatrix(3);
    b.add([0, 0, 1, 1, 2, 2, 2, 0], [0, 0, 0, 1, 1, 2, 2, 2]);
    expect(Array.from(a.counts)).to.deep.equal(Array.from(b.counts));
  });

  it('skips the ignore label in gt (whatever was predicted there)', () => {
    const m = new ConfusionMatrix(2);
    m.add([1, 1, 0, 1], [255, 255, 0, 1]);
    expect(Array.from(m.counts)).to.deep.equal([1, 0, 0, 1]);
    expect(m.pixelAccuracy()).to.equal(1);
    const custom = new ConfusionMatrix(2, 7);
    custom.add([0, 1], [7, 1]);
    expect(Array.from(custom.counts)).to.deep.equal([0, 0, 0, 1]);
  });

  it('absent classes: NaN IoU, left out of meanIouPresent, counted as 0 by meanIouAll', () => {
    // 4 classes; class 3 never appears; class 2 appears only as a (wrong) prediction.
    // class 0: TP 2, FP 0, FN 1 -> 2/3; class 1: TP 1, FP 1, FN 1 -> 1/3; class 2: TP 0, FP 1 -> 0.
    const m = new ConfusionMatrix(4);
    m.add([0, 0, 1, 1, 2], [0, 0, 0, 1, 1]);
    const iou = m.iou();
    expect(iou.slice(0, 3)).to.deep.equal([2 / 3, 1 / 3, 0]);
    expect(Number.isNaN(iou[3])).to.equal(true);
    expect(m.meanIouPresent()).to.be.closeTo((2 / 3 + 1 / 3 + 0) / 3, 1e-15);
    expect(m.meanIouAll()).to.be.closeTo((2 / 3 + 1 / 3 + 0 + 0) / 4, 1e-15);
    const empty = new ConfusionMatrix(3);
    expect(Number.isNaN(empty.meanIouPresent())).to.equal(true);
    expect(Number.isNaN(empty.pixelAccuracy())).to.equal(true);
  });

  it('rows normalised and the JSON form: hand-computed, a class without ground truth a row of NaN', () => {
    // gt:   0 0 0 1 1 2 2 2 255 255
    // pred: 0 0 1 1 2 2 2 0   3   0   (class 3 only ever predicted under the ignore label: not counted)
    const m = new ConfusionMatrix(4);
    m.add([0, 0, 1, 1, 2, 2, 2, 0, 3, 0], [0, 0, 0, 1, 1, 2, 2, 2, 255, 255]);
    const rows = m.rowNormalised();
    expect(rows.slice(0, 3)).to.deep.equal([
      [2 / 3, 1 / 3, 0, 0],
      [0, 1 / 2, 1 / 2, 0],
      [1 / 3, 0, 2 / 3, 0],
    ]);
    expect(rows[3].every((v) => Number.isNaN(v)), 'class 3 has no ground-truth pixels').to.equal(true);
    expect(m.iou().slice(0, 3)).to.deep.equal([0.5, 1 / 3, 0.5]);
    expect(Number.isNaN(m.iou()[3]), 'class 3: in neither gt nor (counted) prediction').to.equal(true);

    const doc = confusionJson(m, ['background', 'cat', 'dog', 'bird']);
    expect(doc).to.deep.equal({
      classes: ['background', 'cat', 'dog', 'bird'],
      rows: 'ground truth',
      columns: 'prediction',
      ignoreIndex: 255,
      counts: [
        [2, 1, 0, 0],
        [0, 1, 1, 0],
        [1, 0, 2, 0],
        [0, 0, 0, 0],
      ],
    });
    expect(JSON.parse(JSON.stringify(doc))).to.deep.equal(doc);
    expectThrows(() => confusionJson(m, ['background', 'cat']), /confusionJson: 2 class names for a 4-class matrix/);
  });

  it('rejects mismatched lengths and out-of-range labels, leaving the matrix unchanged', () => {
    const m = new ConfusionMatrix(3);
    expectThrows(() => m.add([0, 1], [0]), /ConfusionMatrix.add: pred has 2 values but gt has 1/);
    expectThrows(() => m.add([0, 3], [0, 1]), /pred value 3 at index 1 is not a class in 0..2/);
    expectThrows(() => m.add([0, 1], [0, 5]), /gt value 5 at index 1 is not a class in 0..2 nor the ignore label 255/);
    expectThrows(() => m.add([0, 255], [0, 1]), /pred value 255/);
    expect(Array.from(m.counts).every((v) => v === 0)).to.equal(true);
    expectThrows(() => new ConfusionMatrix(0), /numClasses must be an integer/);
  });

  it('reproduces the TFLite reference scores on the VOC sample from the fixture predictions', () => {
    // reference_scores.json: mIoU over classes present in gt or prediction, one confusion matrix
    // over the 9 val images, 255 ignored; rounded to 2 and 1 decimals.
    const ref = JSON.parse(readFileSync(sharedPath('fixtures', 'tflite', 'reference_scores.json'), 'utf8'));
    const ids = readFileSync(sharedPath('data', 'voc-sample', 'ImageSets', 'Segmentation', 'val.txt'), 'utf8').split(/\s+/).filter(Boolean);
    expect(ids).to.have.length(ref.images);
    const m = new ConfusionMatrix(21);
    for (const id of ids) {
      const gt = readIndexedPng(readFileSync(sharedPath('data', 'voc-sample', 'SegmentationClass', `${id}.png`)), id);
      const pred = readIndexedPng(readFileSync(sharedPath('fixtures', 'tflite', `${id}_pred_full.png`)), id);
      m.add(pred.indices, gt.indices);
    }
    expect(100 * m.meanIouPresent()).to.be.closeTo(ref.mIoU_present_classes, 0.005);
    expect(100 * m.pixelAccuracy()).to.be.closeTo(ref.pixel_acc, 0.05);
  });
});
