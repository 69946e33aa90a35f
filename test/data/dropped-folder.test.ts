// A data-set folder given as its files, as a page gets it from a drop or a folder picker (paths
// inside the folder, Blobs): opened as `deeplab train` opens the folder on disk, the split chosen
// when none is named, the labels those Node reads (the ignore index as 255), the same errors; and
// the walk over a drop's folder entries.
import { expect } from 'chai';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { openDataset } from '../../src/data/dataset.js';
import { readDroppedFolder } from '../../src/data/dropped-folder.js';
import { type DroppedEntry, filesFromEntries } from '../../src/browser/dropped-entries.js';
import { tinyCoco } from './tiny-coco.js';
import { asDropped, writeAde20k, writeCityscapes, writeColourFolders, writeGreyPng, writePhoto, writeRgbPng, writeText } from './tiny-datasets.js';
import { sharedPath } from '../shared.js';
import { expectRejects, expectThrows } from '../helpers.js';

const CAMVID = sharedPath('data', 'camvid');
const VOC = sharedPath('data', 'voc-sample');

let root: string;
let n = 0;
const fresh = (): string => join(root, `d${n++}`);

/** Node's labels of the split's first `count` items, the ignore index as 255. */
function nodeLabels(dir: string, split: string, count: number, o: Parameters<typeof openDataset>[2] = {}): number[][] {
  const d = openDataset(dir, split, o);
  return d.items.slice(0, count).map((it) => [...d.readLabel(it.labelPath).indices].map((v) => (v === d.ignoreIndex ? 255 : v)));
}

/** The message of the error `p` rejects with; a test fails when it resolves. */
async function rejection(p: Promise<unknown>): Promise<string> {
  return (await expectRejects(p, '')).message;
}

describe('data: a data-set folder given as its files (a folder dropped into a page)', () => {
  before(() => {
    root = mkdtempSync(join(tmpdir(), 'deeplab-dropped-'));
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  it("CamVid's val split: its first images, the labels Node reads with the ignore index 11 as 255, the classes", async () => {
    // The train split left out: val is the folder's only split, so it is the one read.
    const files = asDropped(CAMVID, (p) => !p.includes(join('images', 'train')) && !p.includes(join('labels', 'train')));
    expect(files[0].path.startsWith('camvid/')).to.equal(true);
    const folder = await readDroppedFolder(files, { maxImages: 3 });
    expect([folder.dir, folder.format, folder.split, folder.splits, folder.images, folder.items.length]).to.deep.equal(['camvid', 'folders', 'val', ['val'], 101, 3]);
    const onDisk = openDataset(CAMVID, 'val');
    expect(folder.classes).to.deep.equal(onDisk.classes);
    expect(folder.items.map((i) => i.id)).to.deep.equal(onDisk.items.slice(0, 3).map((i) => i.id));
    const labels = folder.items.map((i) => [...i.labels]);
    expect(labels).to.deep.equal(nodeLabels(CAMVID, 'val', 3));
    expect(labels.flat().filter((v) => v === 255).length, 'ignored pixels, 11 on disk').to.be.greaterThan(0);
    expect(labels.flat().every((v) => v < 11 || v === 255)).to.equal(true);
    expect([folder.items[0].width, folder.items[0].height]).to.deep.equal([480, 360]);
    const image = folder.items[0].image as Blob;
    expect(Buffer.from(await image.arrayBuffer()).equals(readFileSync(onDisk.items[0].imagePath)), 'the image file as it is').to.equal(true);
  });

  it("each format: its splits found, 'train' (or the first) read when none is named, labels as in Node", async () => {
    const city = fresh();
    await writeCityscapes(city);
    const ade = fresh();
    await writeAde20k(ade);
    const coco = fresh();
    await tinyCoco(coco);
    const labelmap = fresh();
    await writeColourFolders(labelmap, 'labelmap');
    const cvat = fresh();
    await writePhoto(join(cvat, 'JPEGImages', 'f1.png'), 3, 2);
    writeRgbPng(join(cvat, 'SegmentationClass', 'f1.png'), 3, [[0, 0, 0], [70, 130, 180], [70, 130, 180], [0, 0, 0], [128, 64, 128], [0, 0, 0]]);
    writeText(join(cvat, 'ImageSets', 'Segmentation', 'default.txt'), 'f1\n');
    writeText(join(cvat, 'labelmap.txt'), 'background:0,0,0::\nsky:70,130,180::\nroad:128,64,128::\n');
    const cases: [string, string, string, string[], string][] = [
      [VOC, 'voc', 'train', ['train', 'val'], 'train'],
      [city, 'cityscapes', 'train', ['train', 'val'], 'train'],
      [ade, 'ade20k', 'training', ['training', 'validation'], 'training'],
      [coco, 'coco', 'train2017', ['train2017', 'val2017'], 'train2017'],
      [labelmap, 'colour', 'train', ['train'], 'train'],
      [cvat, 'colour', 'default', ['default'], 'default'],
    ];
    for (const [dir, format, split, splits, nodeSplit] of cases) {
      const folder = await readDroppedFolder(asDropped(dir));
      expect([folder.dir, folder.format, folder.split, folder.splits], dir).to.deep.equal([basename(dir), format, split, splits]);
      expect(folder.items.map((i) => [...i.labels]), dir).to.deep.equal(nodeLabels(dir, nodeSplit, Infinity));
    }
    // A split and a format named; COCO's VOC classes.
    const val = await readDroppedFolder(asDropped(coco), { split: 'val2017', cocoClasses: 'voc' });
    expect(val.items.map((i) => [...i.labels])).to.deep.equal(nodeLabels(coco, 'val2017', Infinity, { cocoClasses: 'voc' }));
    expect(val.classes.names).to.have.length(21);
    const json = fresh();
    await writeColourFolders(json, 'json');
    const colour = await readDroppedFolder(asDropped(json), { format: 'colour' });
    expect(colour.items.map((i) => [...i.labels])).to.deep.equal([[0, 1, 1, 255, 0, 1]]);
  });

  it("a drop's paths ('/' first) and loose files (no common folder) open too", async () => {
    const city = fresh();
    await writeCityscapes(city);
    const files = asDropped(city);
    const fromDrop = await readDroppedFolder(files.map((f) => ({ ...f, path: `/${f.path}` })), { split: 'val' });
    expect([fromDrop.dir, fromDrop.items.length]).to.deep.equal([basename(city), 1]);
    const loose = await readDroppedFolder(files.map((f) => ({ ...f, path: f.path.slice(basename(city).length + 1) })), { split: 'val' });
    expect([loose.dir, loose.items[0].imagePath]).to.deep.equal(['.', 'leftImg8bit/val/frankfurt/frankfurt_000000_000294_leftImg8bit.png']);
    expect(loose.items.map((i) => [...i.labels])).to.deep.equal(fromDrop.items.map((i) => [...i.labels]));
  });

  it("refuses as `deeplab train` does: no layout, a missing split, a colour mask or values beyond the classes where ids were expected", async () => {
    expect(await rejection(readDroppedFolder([]))).to.equal('no files: drop a data-set folder (or choose one)');
    const empty = fresh();
    writeText(join(empty, 'readme.txt'), 'nothing here');
    const noLayout = await rejection(readDroppedFolder(asDropped(empty)));
    const onDisk = expectThrows(() => openDataset(empty, 'train'), /^data set /).message;
    expect(noLayout).to.match(/^data set d\d+: neither a VOC folder \(ImageSets\/Segmentation\/\) nor image\/label folders with classes\.json, nor Cityscapes/);
    expect(noLayout, "the CLI's message, for the folder's name").to.equal(onDisk.replace(empty, basename(empty)));

    const city = fresh();
    await writeCityscapes(city);
    expect(await rejection(readDroppedFolder(asDropped(city), { split: 'test' }))).to.match(/^d\d+: no Cityscapes split 'test' \(leftImg8bit\/test\/ is missing; splits found: train, val\)$/);

    const dir = fresh();
    await writeColourFolders(dir, 'json');
    expect(await rejection(readDroppedFolder(asDropped(dir)))).to.match(/labels\/train\/a\.png: an RGB colour PNG where a class-index PNG .* was expected: it looks like a colour mask/);
    const range = fresh();
    await writeColourFolders(range, 'json');
    writeGreyPng(join(range, 'labels', 'train', 'a.png'), 3, [0, 1, 14, 1, 0, 255]);
    expect(await rejection(readDroppedFolder(asDropped(range)))).to.match(/labels\/train\/a\.png: label values 14 \(1 pixels\) are neither a class \(0\.\.1\) nor the ignore index 255$/);
    expect(await rejection(readDroppedFolder(asDropped(range), { maxImages: 0 }))).to.equal('maxImages must be a positive whole number, got 0');
  });

  it("a drop's folder entries are walked: every file with its path, folders read in batches", async () => {
    const file = (fullPath: string, text: string): DroppedEntry => ({
      isFile: true,
      isDirectory: false,
      fullPath,
      file: (ok) => setTimeout(() => ok(new File([text], basename(fullPath)))),
    });
    const folder = (fullPath: string, children: DroppedEntry[]): DroppedEntry => ({
      isFile: false,
      isDirectory: true,
      fullPath,
      // As Chromium: at most 100 entries a call, then an empty batch.
      createReader: () => {
        let at = 0;
        return { readEntries: (ok) => setTimeout(() => ok(children.slice(at, (at = Math.min(children.length, at + 100))))) };
      },
    });
    const many = Array.from({ length: 230 }, (_, i) => file(`/set/images/${i}.png`, String(i)));
    const files = await filesFromEntries([folder('/set', [file('/set/classes.json', '{}'), folder('/set/images', many)]), file('/loose.txt', 'x')]);
    expect(files.map((f) => f.path)).to.deep.equal(['set/classes.json', ...many.map((e) => e.fullPath.slice(1)), 'loose.txt']);
    expect(await files[100].file.text()).to.equal('99');
    const broken: DroppedEntry = { isFile: true, isDirectory: false, fullPath: '/set/x.png', file: (_ok, fail) => fail!(new Error('NotFoundError')) };
    expect(await rejection(filesFromEntries([broken]))).to.equal('/set/x.png: cannot read the dropped file (NotFoundError)');
  });
});
