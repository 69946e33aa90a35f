// The COCO format: a tiny instances file written here (polygons, uncompressed and compressed RLE,
// an overlapping pair, crowd regions), its masks checked pixel by pixel in both class sets, the
// layout recognised, each error, training's worker threads and `deeplab data` on it.
import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Dataset, openDataset } from '../../src/data/dataset.js';
import { decodeRleString } from '../../src/data/formats/coco-rle.js';
import { TrainLoader } from '../../src/data/loader.js';
import { runCli } from '../cli/run-cli.js';
import { writeJson, writePhoto, writeText } from './tiny-datasets.js';
import { CAR, CATEGORIES, FILE, PERSON, VOC, ann, encodeRle, mask1, mask2, mask3, tinyCoco } from './tiny-coco.js';
import { expectRejects, expectThrows } from '../helpers.js';

let root: string;
let n = 0;
const fresh = (): string => join(root, `d${n++}`);

const labels = (d: Dataset): number[][] => d.items.map((it) => [...d.readLabel(it.labelPath).indices]);

/** A set with one 4x3 image whose annotations are `annotations`, opened. */
async function oneImage(annotations: object[], categories = CATEGORIES): Promise<Dataset> {
  const dir = fresh();
  writeJson(join(dir, 'annotations', 'instances_x.json'), { images: [{ id: 1, file_name: 'a.png', width: 4, height: 3 }], annotations, categories });
  await writePhoto(join(dir, 'x', 'a.png'), 4, 3);
  return openDataset(dir, 'x', { format: 'coco' });
}

describe('data: COCO instances', () => {
  before(() => {
    root = mkdtempSync(join(tmpdir(), 'deeplab-coco-'));
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  it('the test encoder and the reader agree on compressed RLE, negative differences included', () => {
    for (const counts of [[0, 2, 3, 1], [7], [1000, 33, 5000, 2, 70000, 1], [5, 40, 3, 900, 1, 16, 17]]) {
      expect(decodeRleString(encodeRle(counts))).to.deep.equal(counts);
    }
    // Worked by hand: 3 -> '3'; 40 = 8 + 1*32 -> groups 8|0x20, 1 -> 'X1'; 2 -> '2'; the fourth, 39,
    // is stored as 39 - 40 = -1 -> the group 0x1f (sign bit set) -> 'O'.
    expect(decodeRleString('3X12O')).to.deep.equal([3, 40, 2, 39]);
    expect(encodeRle([3, 40, 2, 39])).to.equal('3X12O');
  });

  it("renders each image's mask: polygons, RLE (list and string), overlaps ignored, crowds as instances", async () => {
    const dir = fresh();
    await tinyCoco(dir);
    const d = openDataset(dir, 'val2017');
    expect(d.format).to.equal('coco');
    expect(d.items.map((it) => it.id)).to.deep.equal(['a', 'b', 'c']); // by image id
    expect(d.items[1].imagePath).to.equal(join(dir, 'val2017', 'b.jpg'));
    expect(d.ignoreIndex).to.equal(255);
    expect(d.classes.names).to.have.length(22);
    expect(d.classes.names.slice(0, 4)).to.deep.equal(['background', 'person', 'bicycle', 'car']);
    expect(d.classes.names[11]).to.equal('dog');
    expect(d.classes.names[21]).to.equal('toothbrush');
    expect(labels(d)).to.deep.equal([mask1(FILE), mask2(FILE), mask3(FILE)]);
    const label = d.readLabel(d.items[2].labelPath);
    expect([label.width, label.height]).to.deep.equal([5, 4]);
    const train = openDataset(dir, 'train2017', { format: 'coco' });
    expect(labels(train)).to.deep.equal([[0, 0]]);
  });

  it("--coco-classes voc: torchvision's 21 classes by COCO id, other categories background", async () => {
    const dir = fresh();
    await tinyCoco(dir);
    const d = openDataset(dir, 'val2017', { cocoClasses: 'voc' });
    expect(d.classes.names).to.deep.equal([
      'background', 'aeroplane', 'bicycle', 'bird', 'boat', 'bottle', 'bus', 'car', 'cat', 'chair', 'cow',
      'diningtable', 'dog', 'horse', 'motorbike', 'person', 'pottedplant', 'sheep', 'sofa', 'train', 'tvmonitor',
    ]);
    expect(labels(d)).to.deep.equal([mask1(VOC), mask2(VOC), mask3(VOC)]);
    // Every VOC class from its COCO category: one 1x1 image per category.
    const ids = [5, 2, 16, 9, 44, 6, 3, 17, 62, 21, 67, 18, 19, 4, 1, 64, 20, 63, 7, 72];
    const all = fresh();
    const images = ids.map((_, i) => ({ id: i + 1, file_name: `${i}.png`, width: 1, height: 1 }));
    writeJson(join(all, 'annotations', 'instances_v.json'), {
      images,
      annotations: ids.map((c, i) => ann(100 + i, i + 1, c, { counts: [0, 1], size: [1, 1] })),
      categories: CATEGORIES,
    });
    for (const im of images) await writePhoto(join(all, 'v', im.file_name), 1, 1);
    expect(labels(openDataset(all, 'v', { cocoClasses: 'voc' })).flat()).to.deep.equal(ids.map((_, i) => i + 1));
    // A file whose ids are not COCO's is refused rather than mapped wrongly.
    const renamed = CATEGORIES.map((c) => (c.id === 62 ? { ...c, name: 'seat' } : c));
    const odd = fresh();
    writeJson(join(odd, 'annotations', 'instances_x.json'), { images: [{ id: 1, file_name: 'a.png', width: 1, height: 1 }], annotations: [], categories: renamed });
    await writePhoto(join(odd, 'x', 'a.png'), 1, 1);
    expectThrows(() => openDataset(odd, 'x', { cocoClasses: 'voc' }), /instances_x\.json: --coco-classes voc needs COCO's category 62 'chair', but the file's category 62 is 'seat'/);
    // The class set belongs to COCO only.
    const notCoco = fresh();
    writeText(join(notCoco, 'ImageSets', 'Segmentation', 'val.txt'), '');
    expectThrows(() => openDataset(notCoco, 'val', { cocoClasses: 'voc' }), /applies to the coco format only, not voc/);
    expectThrows(() => openDataset(dir, 'val2017', { cocoClasses: 'all' as never }), /unknown COCO class set 'all'/);
  });

  it('recognises the layout (before ADE20K, which also has annotations/) and lists the splits', async () => {
    const dir = fresh();
    await tinyCoco(dir);
    await writePhoto(join(dir, 'images', 'x.png'), 1, 1); // an images/ folder too: still COCO
    expect(openDataset(dir, 'train2017').format).to.equal('coco');
    expectThrows(() => openDataset(dir, 'train'), /no COCO split 'train' \(.*instances_train\.json is missing; splits found: train2017, val2017\)/);
  });

  it('errors name the file and the annotation: missing file, missing image, malformed segmentation, bad RLE', async () => {
    const dir = fresh();
    await tinyCoco(dir);
    expectThrows(() => openDataset(dir, 'test2017', { format: 'coco' }), /annotations[/\\]instances_test2017\.json is missing/);

    const gone = fresh();
    writeJson(join(gone, 'annotations', 'instances_x.json'), { images: [{ id: 1, file_name: 'a.png', width: 1, height: 1 }, { id: 7, file_name: 'gone.png', width: 1, height: 1 }], annotations: [], categories: CATEGORIES });
    await writePhoto(join(gone, 'x', 'a.png'), 1, 1);
    expectThrows(() => openDataset(gone, 'x'), /instances_x\.json: 1 listed image is missing from .*x \(image 7 'gone\.png'\)/);

    const bad = async (segmentation: unknown, message: RegExp): Promise<void> => {
      const d = await oneImage([ann(10, 1, PERSON, [[0, 0, 1, 0, 1, 1]]), ann(41, 1, CAR, segmentation)]);
      expectThrows(() => d.readLabel(d.items[0].labelPath), new RegExp(`instances_x\\.json: annotation 41 \\(image 1\\): ${message.source}`));
    };
    await bad([[0, 0, 1, 0, 1]], /polygon 0 of the segmentation is not an even-length list of numbers/);
    await bad([[0, 0, 1, 'a', 1, 1]], /polygon 0 of the segmentation is not an even-length list/);
    await bad('abc', /the segmentation is neither a list of polygons nor an RLE \{counts, size\}/);
    await bad({ counts: [5, 6], size: [3, 4] }, /RLE counts sum to 11, not height x width = 3 x 4 = 12/);
    await bad({ counts: encodeRle([5, 6]), size: [3, 4] }, /RLE counts sum to 11, not height x width = 3 x 4 = 12/);
    await bad({ counts: [13, -1], size: [3, 4] }, /RLE count 1 is -1, not a non-negative integer/);
    await bad({ counts: [12], size: [4, 3] }, /RLE size \[4,3\] is not the image's \[height, width\] = \[3, 4\]/);
    await bad({ counts: '3X', size: [3, 4] }, /compressed RLE counts end inside a number/);
    await bad({ counts: '3~', size: [3, 4] }, /compressed RLE counts hold '~' at character 1/);
    await bad({ counts: { a: 1 }, size: [3, 4] }, /RLE counts are neither a list of numbers nor a compressed string/);

    // Annotations that name no listed image or category are refused when the file is opened.
    await expectRejects(oneImage([ann(50, 9, PERSON, [])]), /instances_x\.json: annotation 50: image_id 9 is not one of the file's images/);
    await expectRejects(oneImage([ann(51, 1, 999, [])]), /instances_x\.json: annotation 51: category_id 999 is not one of the file's categories/);
  });

  it('training batches render the masks on worker threads', async () => {
    const dir = fresh();
    await tinyCoco(dir);
    const d = openDataset(dir, 'val2017');
    // One batch holds the whole epoch (3 items); crop 5 holds each whole image (scale 1, no flip).
    const loader = new TrainLoader(d, { batch: 3, crop: 5, scale: [1, 1], flip: false, seed: 0, normalization: 'imagenet', workers: 1 });
    try {
      const b = await loader.batch(0);
      const valid = [...b.labels].filter((v) => v !== 255).sort((x, y) => x - y);
      const expected = [...mask1(FILE), ...mask2(FILE), ...mask3(FILE)].filter((v) => v !== 255).sort((x, y) => x - y);
      expect(valid).to.deep.equal(expected);
    } finally {
      await loader.close();
    }
  });

  it('deeplab data --format coco --json counts the pixels of the rendered masks', async () => {
    const dir = fresh();
    await tinyCoco(dir);
    const r = await runCli(['data', dir, '--format', 'coco', '--split', 'val2017', '--json']);
    const doc = JSON.parse(r.stdout);
    expect(doc.format).to.equal('coco');
    expect(doc.split).to.equal('val2017');
    expect(doc.images).to.equal(3);
    expect(doc.sizes).to.deep.equal([
      { width: 3, height: 2, images: 1 },
      { width: 4, height: 3, images: 1 },
      { width: 5, height: 4, images: 1 },
    ]);
    const pixels = Object.fromEntries(doc.classes.map((c: { name: string; pixels: number }) => [c.name, c.pixels]));
    expect(pixels).to.include({ background: 12, person: 15, car: 6, dog: 2, toothbrush: 1, bicycle: 0 });
    expect(doc.classes.reduce((s: number, c: { pixels: number }) => s + c.pixels, 0)).to.equal(36);
    expect(doc.ignoredPixels).to.equal(2);
    // No problems; the only warnings: the 17 categories without pixels (so the exit status is 0).
    expect(doc.problems).to.deep.equal([]);
    expect(doc.warnings).to.have.length(17);
    for (const w of doc.warnings) expect(w).to.match(/has no pixels in split 'val2017'/);
    expect(r.code, r.stderr).to.equal(0);

    const voc = await runCli(['data', dir, '--coco-classes', 'voc', '--split', 'val2017', '--json']);
    const vocDoc = JSON.parse(voc.stdout);
    const vocPixels = Object.fromEntries(vocDoc.classes.map((c: { name: string; pixels: number }) => [c.name, c.pixels]));
    expect(vocDoc.classes).to.have.length(21);
    expect(vocPixels).to.include({ background: 13, person: 15, car: 6, dog: 2 });
    expect(vocDoc.ignoredPixels).to.equal(2);

    const wrong = await runCli(['data', dir, '--coco-classes', 'all']);
    expect(wrong.code).to.equal(2);
    expect(wrong.stderr).to.contain("--coco-classes: 'all' is not one of file, voc");
  });
});
