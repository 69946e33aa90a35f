// The data-set formats: each opened from a tiny data set in its exact layout, its label mapping
// checked value by value (as training's sample loader and evaluation read it), the layouts
// recognised without --format, and colour masks never read as class ids.
import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Dataset, openDataset, readLabel } from '../../src/data/dataset.js';
import { TrainLoader } from '../../src/data/loader.js';
import { makeSample } from '../../src/data/sample.js';
import { type Segmenter, evaluateVoc } from '../../src/eval/voc.js';
import type { SegmentResult } from '../../src/model/model.js';
import {
  ADE_IDS,
  CITY_TRAIN,
  MASK,
  MASK_IDS,
  ROAD,
  SKY,
  writeAde20k,
  writeCityscapes,
  writeColourFolders,
  writeGreyPng,
  writeJson,
  writePalettePng,
  writePhoto,
  writeRgbPng,
  writeText,
} from './tiny-datasets.js';
import { sharedPath } from '../shared.js';
import { expectRejects, expectThrows } from '../helpers.js';

const CAMVID = sharedPath('data', 'camvid');
const VOC = sharedPath('data', 'voc-sample');

let root: string;
let n = 0;
/** A fresh folder under the suite's temp dir. */
const fresh = (): string => join(root, `d${n++}`);

/** Class ids the data set's readLabel gives for its first item. */
function firstLabel(d: Dataset): number[] {
  return [...d.readLabel(d.items[0].labelPath).indices];
}

describe('data: formats (Cityscapes, ADE20K, colour masks) and their detection', () => {
  before(() => {
    root = mkdtempSync(join(tmpdir(), 'deeplab-formats-'));
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  it('Cityscapes: labelIds become the 19 trainIds of the official table, everything else 255', async () => {
    const dir = fresh();
    await writeCityscapes(dir);
    const d = openDataset(dir, 'val');
    expect(d.format).to.equal('cityscapes');
    expect(d.items).to.have.length(1);
    expect(d.items[0].id).to.equal('frankfurt_000000_000294');
    expect(d.items[0].labelPath).to.match(/frankfurt_000000_000294_gtFine_labelIds\.png$/);
    expect(d.ignoreIndex).to.equal(255);
    expect(d.classes.names).to.deep.equal([
      'road', 'sidewalk', 'building', 'wall', 'fence', 'pole', 'traffic light', 'traffic sign', 'vegetation', 'terrain',
      'sky', 'person', 'rider', 'car', 'truck', 'bus', 'train', 'motorcycle', 'bicycle',
    ]);
    expect(d.classes.colors[0]).to.deep.equal([128, 64, 128]);
    expect(d.classes.colors[13]).to.deep.equal([0, 0, 142]);
    expect(d.classes.colors[18]).to.deep.equal([119, 11, 32]);
    expect(firstLabel(d)).to.deep.equal(CITY_TRAIN);
    // Every labelId: the 19 evaluated ones to 0..18 in order, all others ignored.
    const evaluated = [7, 8, 11, 12, 13, 17, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 31, 32, 33];
    const all = Array.from({ length: 256 }, (_, v) => v);
    writeGreyPng(join(dir, 'all.png'), 16, all);
    const mapped = [...d.readLabel(join(dir, 'all.png')).indices];
    expect(mapped).to.deep.equal(all.map((v) => (evaluated.includes(v) ? evaluated.indexOf(v) : 255)));
    expect(openDataset(dir, 'train').items[0].id).to.equal('aachen_000000_000019');
  });

  it('ADE20K: 0 is ignored and 1..150 shift down by one; train/val are aliases of training/validation', async () => {
    const dir = fresh();
    await writeAde20k(dir);
    const d = openDataset(dir, 'train');
    expect(d.format).to.equal('ade20k');
    expect(d.items.map((it) => it.id)).to.deep.equal(['ADE_train_00000001']);
    expect(d.classes.names).to.have.length(150);
    expect(d.classes.names[0]).to.equal('class 1');
    expect(d.classes.names[149]).to.equal('class 150');
    expect(firstLabel(d)).to.deep.equal(ADE_IDS);
    expect(openDataset(dir, 'val').items[0].id).to.equal('ADE_val_00000001');
    expect(openDataset(dir, 'validation').items[0].id).to.equal('ADE_val_00000001');
    writeGreyPng(join(dir, 'bad.png'), 2, [151, 3]);
    expectThrows(() => d.readLabel(join(dir, 'bad.png')), /bad\.png: label values 151 \(1 pixels\) are not ADE20K annotation values/);
  });

  it('colour masks: each pixel colour becomes its class from classes.json (ignoreColor -> ignore index) or a CVAT labelmap.txt', async () => {
    const json = fresh();
    await writeColourFolders(json, 'json');
    // classes.json with RGB labels: colour masks, without --format; --format still overrides.
    expect(openDataset(json, 'train', { format: 'folders' }).format).to.equal('folders');
    const d = openDataset(json, 'train');
    expect(d.format).to.equal('colour');
    expect(d.classes.names).to.deep.equal(['sky', 'road']);
    expect(firstLabel(d)).to.deep.equal(MASK_IDS);

    const cvat = fresh();
    await writeColourFolders(cvat, 'labelmap');
    const c = openDataset(cvat, 'train');
    expect(c.format).to.equal('colour');
    expect(c.classes.names).to.deep.equal(['background', 'sky', 'road']);
    expect(c.ignoreIndex).to.equal(255);
    expect(firstLabel(c)).to.deep.equal([1, 2, 2, 0, 1, 2]);

    // CVAT's own export: VOC-like folders with the colours in labelmap.txt.
    const voc = fresh();
    await writePhoto(join(voc, 'JPEGImages', 'frame_000001.jpg'), 3, 2);
    writeRgbPng(join(voc, 'SegmentationClass', 'frame_000001.png'), 3, MASK);
    writeText(join(voc, 'ImageSets', 'Segmentation', 'default.txt'), 'frame_000001\n');
    writeText(join(voc, 'labelmap.txt'), 'background:0,0,0::\nsky:70,130,180::\nroad:128,64,128::\n');
    const v = openDataset(voc, 'default');
    expect(v.format).to.equal('colour');
    expect(firstLabel(v)).to.deep.equal([1, 2, 2, 0, 1, 2]);

    // The same VOC-like folders with the colours in classes.json: RGB masks are colour masks, a
    // palette PNG (VOC's own) holds class ids.
    rmSync(join(voc, 'labelmap.txt'));
    writeJson(join(voc, 'classes.json'), { names: ['background', 'sky', 'road'], colors: [[0, 0, 0], SKY, ROAD] });
    expect(openDataset(voc, 'default').format).to.equal('colour');
    expect(firstLabel(openDataset(voc, 'default'))).to.deep.equal([1, 2, 2, 0, 1, 2]);
    writePalettePng(join(voc, 'SegmentationClass', 'frame_000001.png'), 3, [0, 1, 2, 0, 1, 2]);
    expect(openDataset(voc, 'default').format).to.equal('voc');
  });

  it('a colour not in the palette is an error naming the file and listing the colours found, with pixel counts', async () => {
    const dir = fresh();
    await writeColourFolders(dir, 'json');
    const d = openDataset(dir, 'train', { format: 'colour' });
    const path = join(dir, 'labels', 'train', 'odd.png');
    writeRgbPng(path, 2, [[1, 2, 3], SKY, [1, 2, 3], [9, 9, 9]]);
    const { message } = expectThrows(() => d.readLabel(path), '2 colours are not in the palette', 'unknown colours');
    expect(message).to.contain(path);
    expect(message).to.contain('2 colours are not in the palette');
    expect(message).to.contain('(1,2,3) 2 pixels');
    expect(message).to.contain('(9,9,9) 1 pixels');
    expect(message).to.not.contain('(70,130,180)');
    // Two classes sharing a colour could never be told apart: refused when the set is opened.
    writeJson(join(dir, 'classes.json'), { names: ['sky', 'road'], colors: [SKY, SKY] });
    expectThrows(() => openDataset(dir, 'train', { format: 'colour' }), /classes 0 and 1 have the same colour \(70,130,180\)/);
  });

  it('a colour mask where --format asks for class ids is an error suggesting --format colour, never trained on', async () => {
    const dir = fresh();
    await writeColourFolders(dir, 'json');
    const d = openDataset(dir, 'train', { format: 'folders' });
    expect(d.format).to.equal('folders');
    const label = d.items[0].labelPath;
    expectThrows(() => d.readLabel(label), /a\.png: an RGB colour PNG .*looks like a colour mask.*--format colour/);
    // The loader's worker threads read labels the same way.
    const spec = { imagePath: d.items[0].imagePath, labelPath: label, labels: d.labels, ignoreIndex: 255, crop: 4, seed: 0, n: 0, normalization: 'imagenet' as const };
    await expectRejects(makeSample(spec), /looks like a colour mask/, 'a worker reading a colour mask');
    // A palette PNG whose values are beyond the classes: the old message, and the hint.
    writePalettePng(join(dir, 'p.png'), 2, [0, 14]);
    expectThrows(() => d.readLabel(join(dir, 'p.png')), /p\.png: label values 14 \(1 pixels\) are neither a class \(0\.\.1\) nor the ignore index 255; it looks like a colour mask.*--format colour/);
    // A grey PNG out of range keeps the old error, without the hint.
    writeGreyPng(join(dir, 'g.png'), 2, [0, 14]);
    expectThrows(() => d.readLabel(join(dir, 'g.png')), /g\.png: label values 14 \(1 pixels\) are neither a class \(0\.\.1\) nor the ignore index 255$/);
    expectThrows(() => readLabel(join(dir, 'g.png'), 2, 255), /are neither a class/);
    // And in a Cityscapes set an RGB labelIds file is refused the same way.
    const city = fresh();
    await writeCityscapes(city);
    const c = openDataset(city, 'val');
    writeRgbPng(c.items[0].labelPath, 4, Array.from({ length: 8 }, () => ROAD));
    expectThrows(() => c.readLabel(c.items[0].labelPath), /labelIds\.png: an RGB colour PNG .*looks like a colour mask/);
  });

  it('recognises each layout without --format, and --format overrides or refuses', async () => {
    const city = fresh();
    await writeCityscapes(city);
    const ade = fresh();
    await writeAde20k(ade);
    const cvat = fresh();
    await writeColourFolders(cvat, 'labelmap');
    expect(openDataset(VOC, 'val').format).to.equal('voc');
    expect(openDataset(CAMVID, 'val').format).to.equal('folders');
    expect(openDataset(city, 'val').format).to.equal('cityscapes');
    expect(openDataset(ade, 'val').format).to.equal('ade20k');
    expect(openDataset(cvat, 'train').format).to.equal('colour');
    expect(openDataset(VOC, 'val').layout).to.equal('voc');
    expect(openDataset(CAMVID, 'val', { format: 'folders' }).items).to.have.length(101);
    expectThrows(() => openDataset(city, 'val', { format: 'ade20k' }), /no split 'validation' \(images\/validation\/ is missing/);
    expectThrows(() => openDataset(ade, 'val', { format: 'folders' }), /needs classes\.json/);
    expectThrows(() => openDataset(city, 'val', { format: 'kitti' as never }), /unknown format 'kitti'/);
    expectThrows(() => openDataset(city, 'test'), /no Cityscapes split 'test'.*splits found: train, val/);
    const empty = fresh();
    writeText(join(empty, 'readme.txt'), 'nothing here');
    expectThrows(() => openDataset(empty, 'train'), /neither a VOC folder .* nor image\/label folders with classes\.json/);
  });

  it('training batches (on worker threads) and evaluation read labels through the mapping', async () => {
    const dir = fresh();
    await writeCityscapes(dir);
    const d = openDataset(dir, 'train');
    // Crop 4 holds the whole 4x2 image (scale 1, no flip): the batch's labels are the mapped ones plus padding.
    const loader = new TrainLoader(d, { batch: 1, crop: 4, scale: [1, 1], flip: false, seed: 0, normalization: 'imagenet', workers: 1 });
    try {
      const b = await loader.batch(0);
      const valid = [...b.labels].filter((v) => v !== 255).sort((x, y) => x - y);
      expect(valid).to.deep.equal(CITY_TRAIN.filter((v) => v !== 255).sort((x, y) => x - y));
    } finally {
      await loader.close();
    }
    // A segmenter that predicts exactly the trainIds scores 100: the ground truth was mapped.
    const perfect: Segmenter = {
      name: 'perfect',
      numClasses: 19,
      classNames: d.classes.names,
      segment: async (): Promise<SegmentResult> => ({ width: 4, height: 2, classes: Uint8Array.from(CITY_TRAIN, (v) => (v === 255 ? 0 : v)), numClasses: 19 }) as SegmentResult,
    };
    const items = d.items.map((it) => ({ id: it.id, imagePath: it.imagePath, gtPath: it.labelPath }));
    const scores = await evaluateVoc(perfect, items, { ignoreIndex: d.ignoreIndex, readLabel: d.readLabel });
    expect(scores.pixelAccuracy).to.equal(100);
    expect(scores.mIoU).to.equal(100);
  });
});
