// The 513 model from the folder of .npy tensors (TF names, BN folded into *_bn_offset). No
// reference logits exist for it, so the check is that it segments VOC images it was trained on
// (train+val) nearly perfectly: a wrongly mapped or transposed tensor turns the output to noise.
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { ConfusionMatrix } from '../../src/eval/metrics.js';
import { readIndexedPng } from '../../src/io/png-indexed.js';
import { loadModel } from '../../src/model/model.js';
import { testContext } from '../helpers.js';
import { sharedPath } from '../shared.js';

const VOC = sharedPath('data', 'voc-sample');

describe('model: mobilenetv2-pascal-513 (.npy folder) @slow', () => {
  it('loads with width multiplier 1 and segments two VOC images with > 97 % pixel accuracy', async () => {
    const model = await loadModel('mobilenetv2-pascal-513', { ctx: await testContext() });
    try {
      // Run as the zoo runs its checkpoint: padded to its 513x513 export crop.
      expect(model.inputPolicy).to.deep.equal({ kind: 'pad-to-crop', height: 513, width: 513 });
      const cm = new ConfusionMatrix(21);
      for (const id of ['voc12val_0001', 'voc12val_0294']) {
        const r = await model.segment(`${VOC}/JPEGImages/${id}.png`);
        cm.add(r.classes, readIndexedPng(readFileSync(`${VOC}/SegmentationClass/${id}.png`)).indices);
      }
      console.log(`      pixel accuracy ${(100 * cm.pixelAccuracy()).toFixed(2)} %, mIoU ${(100 * cm.meanIouPresent()).toFixed(2)} %`);
      expect(cm.pixelAccuracy()).to.be.greaterThan(0.97);
    } finally {
      model.dispose();
    }
  });
});
