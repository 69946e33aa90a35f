// The helpers that show a result, exported from both entries: the classes found, and the overlay
// as RGB and as a PNG (Node's; the page's is checked in test/browser/consumer.test.ts).
import { expect } from 'chai';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeImage } from '../../src/io/image.js';
import { overlayPalette } from '../../src/io/overlay.js';
import { loadModel } from '../../src/model/model.js';
import { overlayPng } from '../../src/model/overlay-png.js';
import { classesFound, overlayImage } from '../../src/model/result-views.js';
import type { SegmentResult } from '../../src/model/segment-options.js';
import { VOC_CLASSES, VOC_PALETTE } from '../../src/model/voc.js';
import { withFlags } from '../../src/util/flags.js';
import { expectRejects, expectThrows, rng } from '../helpers.js';
import { sharedPath } from '../shared.js';

function randomResult(width: number, height: number, numClasses: number): SegmentResult {
  const r = rng();
  // Class 0 on about half the pixels, a few others on the rest, one class absent.
  const classes = Uint8Array.from({ length: width * height }, () => (r() < 0.5 ? 0 : 1 + Math.floor(r() * (numClasses - 2))));
  return { width, height, classes, numClasses };
}

describe('model: showing a result (classesFound, overlayImage, overlayPng)', () => {
  it('classesFound counts every class present, largest share first, and names them', () => {
    const result = randomResult(23, 11, 21);
    const found = classesFound(result, VOC_CLASSES);
    const counts = new Map<number, number>();
    for (const c of result.classes) counts.set(c, (counts.get(c) ?? 0) + 1);
    expect(found.map((f) => f.index).sort((a, b) => a - b)).to.deep.equal([...counts.keys()].sort((a, b) => a - b));
    for (const f of found) {
      expect(f.share).to.equal(counts.get(f.index)! / result.classes.length);
      expect(f.name).to.equal(VOC_CLASSES[f.index]);
    }
    for (let i = 1; i < found.length; i++) expect(found[i - 1].share).to.be.at.least(found[i].share);
    expect(found.reduce((s, f) => s + f.share, 0)).to.be.closeTo(1, 1e-12);
    for (const f of classesFound(result, ['only'])) expect(f.name, 'classes without a name').to.equal(f.index === 0 ? 'only' : `class ${f.index}`);
  });

  it("overlayImage is the palette blend at the result's size, and refuses a result of another size", () => {
    const result = randomResult(17, 9, 21);
    const r = rng();
    const image = { width: 17, height: 9, data: Uint8Array.from({ length: 17 * 9 * 3 }, () => Math.floor(r() * 256)) };
    expect(overlayImage(image, result, VOC_PALETTE, 0.3)).to.deep.equal(overlayPalette(image, result.classes, VOC_PALETTE, 0.3));
    const other = { ...image, width: 9, height: 17 };
    expectThrows(() => overlayImage(other, result, VOC_PALETTE), 'overlay: the prediction is 17x9, the image 9x17');
  });

  it("overlayPng's PNG decodes to the overlay", async () => {
    const result = randomResult(13, 7, 21);
    const r = rng();
    const image = { width: 13, height: 7, data: Uint8Array.from({ length: 13 * 7 * 3 }, () => Math.floor(r() * 256)) };
    const png = await overlayPng(image, result, VOC_PALETTE);
    expect(await decodeImage(png)).to.deep.equal(overlayImage(image, result, VOC_PALETTE));
  });

  it('loadModel() with no name loads the default model', async () => {
    // The default model's registry file, with other bytes: the checksum error names its sha256.
    const dir = mkdtempSync(join(tmpdir(), 'deeplab-test-'));
    try {
      copyFileSync(sharedPath('weights', 'deeplabv3_257_mv_gpu.tflite'), join(dir, 'deeplabv3_257_mv_gpu.tflite'));
      writeFileSync(join(dir, 'deeplabv3_257_mv_gpu.tflite'), Buffer.from([1, 2, 3]), { flag: 'a' });
      await withFlags({ DEEPLAB_WEIGHTS_DIR: dir }, () =>
        expectRejects(() => loadModel(undefined, { download: false }), /deeplabv3_257_mv_gpu\.tflite.*sha256 [0-9a-f]{64} does not match 68a53978/s, 'the default model'),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
