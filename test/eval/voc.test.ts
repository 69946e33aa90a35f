// VOC evaluation: the split listing, the scoring protocol (checked against a plain reference on
// random masks), cancelling and option names, and the acceptance test: the 257 model's mIoU on
// the VOC sample matches what TF Lite's own pipeline scores.
import { expect } from 'chai';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Segmenter, evaluateVoc, formatScoresTable } from '../../src/eval/voc.js';
import { listVocSplit } from '../../src/data/formats/voc-split.js';
import type { GpuContext } from '../../src/gpu/context.js';
import { encodeRgbPng } from '../../src/io/png-rgb.js';
import { encodeIndexedPng, readIndexedPng } from '../../src/io/png-indexed.js';
import { type DeepLabModel, type SegmentOptions, type SegmentResult, loadModel } from '../../src/model/model.js';
import { VOC_CLASSES, VOC_PALETTE } from '../../src/model/voc.js';
import { rng, testContext, expectAbortError, expectRejects, expectThrows } from '../helpers.js';
import { sharedPath } from '../shared.js';

const VOC = sharedPath('data', 'voc-sample');
const REFERENCE = JSON.parse(readFileSync(sharedPath('fixtures', 'tflite', 'reference_scores.json'), 'utf8')) as {
  images: number;
  mIoU_present_classes: number;
  pixel_acc: number;
};

/** A VOC folder layout in a temp dir; images and masks are added per test. */
function makeVocDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'deeplab-voc-'));
  for (const sub of ['JPEGImages', 'SegmentationClass', 'ImageSets/Segmentation']) mkdirSync(join(dir, sub), { recursive: true });
  return dir;
}

function writeSplit(dir: string, split: string, ids: string[]): void {
  writeFileSync(join(dir, 'ImageSets/Segmentation', `${split}.txt`), ids.join('\n') + '\n');
}

function writeMask(path: string, width: number, height: number, indices: Uint8Array): void {
  writeFileSync(path, encodeIndexedPng(indices, width, height, VOC_PALETTE));
}

/** Random labels in 0..20 with about 10% ignore (255) pixels. */
function randomMask(n: number, r: () => number): Uint8Array {
  const m = new Uint8Array(n);
  for (let i = 0; i < n; i++) m[i] = r() < 0.1 ? 255 : Math.floor(r() * 21);
  return m;
}

describe('eval/voc: listVocSplit', () => {
  it('lists the sample val split with mixed .jpg and .png images', () => {
    const items = listVocSplit(VOC, 'val');
    const ids = readFileSync(`${VOC}/ImageSets/Segmentation/val.txt`, 'utf8').trim().split('\n');
    expect(items.map((i) => i.id)).to.deep.equal(ids);
    expect(items).to.have.length(9);
    expect(items[0]).to.deep.equal({
      id: '2007_000033',
      imagePath: join(VOC, 'JPEGImages', '2007_000033.jpg'),
      gtPath: join(VOC, 'SegmentationClass', '2007_000033.png'),
    });
    expect(items[1].imagePath).to.equal(join(VOC, 'JPEGImages', 'voc12val_0001.png'));
    for (const it of items) expect(existsSync(it.imagePath) && existsSync(it.gtPath), it.id).to.equal(true);
    expect(listVocSplit(VOC, 'train').map((i) => i.id)).to.deep.equal(['2007_000032']);
  });

  it('names what is missing: the folder, the split (listing the others), images, masks, duplicates', () => {
    expectThrows(() => listVocSplit(sharedPath('data', 'no-such-voc'), 'val'), /no-such-voc is not a folder/);
    expectThrows(() => listVocSplit(VOC, 'test'), /no split file .*test\.txt; available splits: train, val/);
    expectThrows(() => listVocSplit(VOC, '../val'), /split name '\.\.\/val'/);
    const dir = makeVocDir();
    try {
      writeSplit(dir, 'val', ['a', 'b', 'c']);
      writeFileSync(join(dir, 'JPEGImages', 'a.jpg'), 'x');
      writeFileSync(join(dir, 'SegmentationClass', 'a.png'), 'x');
      writeFileSync(join(dir, 'JPEGImages', 'b.png'), 'x');
      expectThrows(() => listVocSplit(dir, 'val'), /1 ids without JPEGImages\/<id>\.jpg or \.png: c; 2 missing ground-truth files: .*SegmentationClass\/b\.png, .*SegmentationClass\/c\.png/);
      writeSplit(dir, 'dup', ['a', 'a']);
      expectThrows(() => listVocSplit(dir, 'dup'), /id 'a' is listed twice/);
      writeSplit(dir, 'empty', ['', '  ']);
      expectThrows(() => listVocSplit(dir, 'empty'), /lists no images/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('eval/voc: evaluateVoc scoring (random masks, plain reference)', () => {
  it('scores one confusion matrix over all images, ignoring 255, and forwards scales/flip', async () => {
    const r = rng();
    const dir = makeVocDir();
    try {
      const sizes: [number, number][] = [
        [37, 23],
        [19, 41],
        [8, 5],
      ];
      const preds = new Map<string, Uint8Array>();
      const gts: Uint8Array[] = [];
      const ids = sizes.map((_, i) => `img${i}`);
      sizes.forEach(([w, h], i) => {
        const gt = randomMask(w * h, r);
        gts.push(gt);
        writeMask(join(dir, 'SegmentationClass', `${ids[i]}.png`), w, h, gt);
        const rgb = new Uint8Array(w * h * 3).map(() => Math.floor(r() * 256));
        const imagePath = join(dir, 'JPEGImages', `${ids[i]}.png`);
        writeFileSync(imagePath, encodeRgbPng({ width: w, height: h, data: rgb }));
        // A prediction that is right about 60% of the time (often right where gt is ignored).
        const pred = gt.map((g) => (g !== 255 && r() < 0.6 ? g : Math.floor(r() * 21)));
        preds.set(imagePath, pred);
      });
      writeSplit(dir, 'val', ids);
      const seen: SegmentOptions[] = [];
      const fake: Segmenter = {
        name: 'fake',
        numClasses: 21,
        classNames: VOC_CLASSES,
        async segment(image: string, opts?: SegmentOptions): Promise<SegmentResult> {
          seen.push(opts ?? {});
          const index = ids.findIndex((id) => image.endsWith(`${id}.png`));
          const [width, height] = sizes[index];
          return { width, height, classes: preds.get(image)!, numClasses: 21 };
        },
      };
      const progress: string[] = [];
      const items = listVocSplit(dir, 'val');
      const scores = await evaluateVoc(fake, items, { scales: [0.5, 1], flip: true, onImage: (i, n, id) => progress.push(`${i}/${n} ${id}`) });
      expect(progress).to.deep.equal(['1/3 img0', '2/3 img1', '3/3 img2']);
      expect(seen).to.deep.equal(Array(3).fill({ scales: [0.5, 1], flip: true }));

      // Reference: per class TP / FP / FN counted straight from the pixels of all images.
      const tp = new Array(21).fill(0);
      const fp = new Array(21).fill(0);
      const fn = new Array(21).fill(0);
      let correct = 0;
      let counted = 0;
      items.forEach((item, i) => {
        const pred = preds.get(item.imagePath)!;
        gts[i].forEach((g, p) => {
          if (g === 255) return;
          counted++;
          if (pred[p] === g) {
            tp[g]++;
            correct++;
          } else {
            fn[g]++;
            fp[pred[p]]++;
          }
        });
      });
      const iou = tp.map((t, c) => (t + fp[c] + fn[c] > 0 ? (100 * t) / (t + fp[c] + fn[c]) : null));
      const present = iou.filter((v): v is number => v !== null);
      expect(scores.images).to.equal(3);
      expect(scores.mIoU).to.be.closeTo(present.reduce((a, b) => a + b, 0) / present.length, 1e-9);
      expect(scores.mIoU21).to.be.closeTo(present.reduce((a, b) => a + b, 0) / 21, 1e-9);
      expect(scores.pixelAccuracy).to.be.closeTo((100 * correct) / counted, 1e-9);
      VOC_CLASSES.forEach((name, c) => {
        const v = scores.perClass[name];
        if (iou[c] === null) expect(v, name).to.equal(null);
        else expect(v, name).to.be.closeTo(iou[c]!, 1e-9);
      });
      const table = formatScoresTable(scores, VOC_CLASSES);
      expect(table).to.match(/^class\s+IoU %  Dice %$/m);
      expect(table).to.match(new RegExp(`^mIoU \\(present classes\\)\\s+${scores.mIoU.toFixed(2)}$`, 'm'));
      expect(table).to.match(new RegExp(`^pixel accuracy\\s+${scores.pixelAccuracy.toFixed(2)}$`, 'm'));
      for (const name of VOC_CLASSES) expect(table).to.match(new RegExp(`^${name}\\s+(\\d+\\.\\d\\d|-)\\s+(\\d+\\.\\d\\d|-)$`, 'm'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses an empty item list', async () => {
    const fake = { name: 'f', numClasses: 21, classNames: VOC_CLASSES, segment: () => Promise.reject(new Error('unused')) };
    await expectRejects(evaluateVoc(fake, []), /^evaluateVoc: no images to evaluate$/);
  });

  it('an AbortSignal cancels it with an AbortError, before the first image or between batches of images; an unknown option is refused by name', async () => {
    const dir = makeVocDir();
    try {
      const gtPath = join(dir, 'SegmentationClass', 'one.png');
      writeMask(gtPath, 4, 3, new Uint8Array(12).fill(1));
      // Ten images: two batches (of 8 and 2).
      const items = Array.from({ length: 10 }, (_, i) => ({ id: `img${i}`, imagePath: `img${i}.png`, gtPath }));
      const controller = new AbortController();
      const segmented: string[] = [];
      const fake: Segmenter = {
        name: 'fake',
        numClasses: 21,
        classNames: VOC_CLASSES,
        async segment(image: string): Promise<SegmentResult> {
          segmented.push(image);
          if (image === 'img0.png') controller.abort();
          return { width: 4, height: 3, classes: new Uint8Array(12).fill(1), numClasses: 21 };
        },
      };
      await expectAbortError(evaluateVoc(fake, items, { signal: controller.signal }), 'an evaluation aborted during its first batch');
      expect(segmented, 'images segmented: the first batch only').to.have.length(8);
      segmented.length = 0;
      await expectAbortError(evaluateVoc(fake, items, { signal: controller.signal }), 'an evaluation given an aborted signal');
      expect(segmented, 'images segmented').to.deep.equal([]);
      expect((await evaluateVoc(fake, items)).mIoU, 'the same evaluation not cancelled').to.equal(100);
      await expectRejects(evaluateVoc(fake, items, { scale: [1] } as never), /^evaluateVoc: unknown option 'scale' \(did you mean 'scales'\?\); known options: scales, flip, tile, overlap, ignoreIndex, readLabel, onImage, signal$/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('eval/voc: the 257 model on the VOC sample (acceptance) @slow', function () {
  let ctx: GpuContext;
  let model: DeepLabModel;
  let baseline: number;

  before(async () => {
    ctx = await testContext();
    baseline = ctx.liveBufferCount - ctx.pool.idleCount;
    model = await loadModel('mobilenetv2-pascal-257', { ctx, download: false });
  });
  after(() => {
    model?.dispose();
    expect(ctx.liveBufferCount - ctx.pool.idleCount, 'GPU buffers left after dispose').to.equal(baseline);
  });

  it(`matches TF Lite's mIoU (${REFERENCE.mIoU_present_classes}) and pixel accuracy (${REFERENCE.pixel_acc}) on val at single scale`, async () => {
    const items = listVocSplit(VOC, 'val');
    expect(items).to.have.length(REFERENCE.images);
    const scores = await evaluateVoc(model, items);
    console.log(
      `      mIoU ${scores.mIoU.toFixed(2)} (reference ${REFERENCE.mIoU_present_classes}), mIoU21 ${scores.mIoU21.toFixed(2)}, ` +
        `pixel accuracy ${scores.pixelAccuracy.toFixed(2)} (reference ${REFERENCE.pixel_acc}), ` +
        `${scores.images} images in ${scores.seconds.toFixed(1)} s (${(scores.images / scores.seconds).toFixed(2)} images/s)`,
    );
    expect(scores.images).to.equal(9);
    expect(scores.mIoU).to.be.closeTo(REFERENCE.mIoU_present_classes, 0.5);
    expect(scores.pixelAccuracy).to.be.closeTo(REFERENCE.pixel_acc, 0.5);
    expect(scores.mIoU21).to.be.lessThan(scores.mIoU); // classes absent from the sample count 0 there
  });

  it('names the image whose ground truth has another size or an invalid label', async () => {
    const dir = makeVocDir();
    const r = rng();
    try {
      copyFileSync(`${VOC}/JPEGImages/2007_000033.jpg`, join(dir, 'JPEGImages', 'small.jpg'));
      copyFileSync(`${VOC}/JPEGImages/2007_000033.jpg`, join(dir, 'JPEGImages', 'badlabel.jpg'));
      // 2007_000033 is 500x366: a mask one pixel narrower must be refused, not cropped.
      writeMask(join(dir, 'SegmentationClass', 'small.png'), 499, 366, randomMask(499 * 366, r));
      const bad = readIndexedPng(readFileSync(`${VOC}/SegmentationClass/2007_000033.png`));
      bad.indices[1234] = 77;
      writeMask(join(dir, 'SegmentationClass', 'badlabel.png'), bad.width, bad.height, bad.indices);
      writeSplit(dir, 'size', ['small']);
      writeSplit(dir, 'label', ['badlabel']);
      await expectRejects(evaluateVoc(model, listVocSplit(dir, 'size')), /^evaluateVoc: image small: the prediction is 500x366 .* ground truth .*small\.png is 499x366$/);
      await expectRejects(evaluateVoc(model, listVocSplit(dir, 'label')), /^evaluateVoc: image badlabel .*gt value 77 at index 1234/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
