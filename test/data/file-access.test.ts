// The data-set readers through their two file accesses: the disk (nodeFiles) and files held in
// memory (MemoryFiles, what a page builds from a dropped folder). Each tiny data set the format
// tests write, and the shared VOC and CamVid samples, copied into memory under the same paths,
// must open to the same items, classes and labels, and fail with the same errors.
import { expect } from 'chai';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Dataset, type OpenDatasetOptions, openDataset } from '../../src/data/dataset.js';
import type { FileAccess } from '../../src/data/files/file-access.js';
import { MemoryFiles } from '../../src/data/files/memory-files.js';
import { nodeFiles } from '../../src/data/files/node-files.js';
import { extName, fileStem, joinPath } from '../../src/data/files/paths.js';
import { listVocSplit } from '../../src/data/formats/voc-split.js';
import { tinyCoco } from './tiny-coco.js';
import { writeAde20k, writeCityscapes, writeColourFolders, writeGreyPng, writeJson, writePhoto, writeRgbPng, writeText } from './tiny-datasets.js';
import { sharedPath } from '../shared.js';
import { expectThrows } from '../helpers.js';

const CAMVID = sharedPath('data', 'camvid');
const VOC = sharedPath('data', 'voc-sample');

let root: string;
let n = 0;
const fresh = (): string => join(root, `d${n++}`);

/** Every file under `dir` (recursively), read into memory under its path as Node spells it. */
function inMemory(dir: string, keep: (path: string) => boolean = () => true): MemoryFiles {
  const files = new MemoryFiles();
  const walk = (d: string): void => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (keep(p)) files.add(p, new Uint8Array(readFileSync(p)));
    }
  };
  walk(dir);
  return files;
}

/** What a data set is: everything but its readLabel, and every item's label as read. */
function summary(d: Dataset): object {
  const { readLabel, ...rest } = d;
  return { ...rest, read: d.items.map((it) => readLabel(it.labelPath)) };
}

/** The split opened from the disk and from memory: the same data set, labels included. */
function expectSame(dir: string, split: string, memory: FileAccess, o: OpenDatasetOptions = {}): Dataset {
  const onDisk = openDataset(dir, split, o);
  const fromMemory = openDataset(dir, split, { ...o, files: memory });
  expect(summary(fromMemory), `${dir} split ${split}`).to.deep.equal(summary(onDisk));
  return onDisk;
}

/** The message of the error `f` throws; a test fails when it throws none. */
function errorOf(f: () => unknown): string {
  return expectThrows(f, '').message;
}

describe('data: file access (the disk, and files in memory as a page holds a dropped folder)', () => {
  before(() => {
    root = mkdtempSync(join(tmpdir(), 'deeplab-files-'));
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  it("paths join and split as node:path's do", () => {
    for (const parts of [['a', 'b'], ['/tmp/x', 'images', 'train'], ['./data/', 'classes.json'], ['a/b/../c', '.', 'd'], ['', 'x'], ['..', 'y'], ['/', '..', 'z'], ['.'], ['a', '']]) {
      expect(joinPath(...parts), JSON.stringify(parts)).to.equal(join(...parts));
    }
    expect(['a.jpg', 'x/y.PNG', '.bashrc', 'a.', 'a.b.c', 'a..b', '...', 'noext'].map((p) => [extName(p), fileStem(p)])).to.deep.equal([
      ['.jpg', 'a'], ['.PNG', 'y'], ['', '.bashrc'], ['.', 'a'], ['.c', 'a.b'], ['.b', 'a.'], ['.', '..'], ['', 'noext'],
    ]);
  });

  it('MemoryFiles lists, tests and reads as the disk does; Blobs are read by load()', async () => {
    const dir = fresh();
    mkdirSync(join(dir, 'sub', 'deeper'), { recursive: true });
    writeFileSync(join(dir, 'a.txt'), '\ufeffhé');
    writeFileSync(join(dir, 'sub', 'b.bin'), Uint8Array.of(1, 2, 3));
    writeFileSync(join(dir, 'sub', 'deeper', 'c.json'), '{}');
    const memory = inMemory(dir);
    for (const files of [nodeFiles, memory]) {
      expect(files.isDir(dir) && files.isDir(join(dir, 'sub')) && !files.isDir(join(dir, 'a.txt'))).to.equal(true);
      expect(files.exists(join(dir, 'sub', 'b.bin')) && !files.exists(join(dir, 'nope'))).to.equal(true);
      expect(files.list(dir).sort()).to.deep.equal(['a.txt', 'sub']);
      expect(files.list(join(dir, 'sub')).sort()).to.deep.equal(['b.bin', 'deeper']);
      expect([...files.readBytes(join(dir, 'sub', 'b.bin'))]).to.deep.equal([1, 2, 3]);
      expect(files.readText(join(dir, 'a.txt')), 'the byte-order mark is kept').to.equal('\ufeffhé');
      expect(files.readText(files.join(dir, 'sub', '..', 'sub', 'deeper', 'c.json'))).to.equal('{}');
    }
    expect(errorOf(() => memory.readBytes(join(dir, 'nope')))).to.equal(`${join(dir, 'nope')}: no such file`);
    expect(errorOf(() => memory.readBytes(join(dir, 'sub')))).to.equal(`${join(dir, 'sub')}: no such file (it is a folder)`);
    expect(errorOf(() => memory.list(join(dir, 'a.txt')))).to.equal(`${join(dir, 'a.txt')}: no such folder (it is a file)`);
    expect(errorOf(() => memory.add(join(dir, 'a.txt', 'x'), new Uint8Array()))).to.match(/a\.txt is a file, not a folder$/);
    expect(errorOf(() => memory.add(join(dir, 'sub'), new Uint8Array()))).to.match(/sub: a folder, not a file$/);

    // A page's files: relative paths under the folder's name, Blobs until loaded.
    const page = new MemoryFiles([['set/x/y.txt', new Blob(['text'])], ['set/z.png', new Uint8Array([9])]]);
    expect(page.list('.')).to.deep.equal(['set']);
    expect(page.list('set').sort()).to.deep.equal(['x', 'z.png']);
    expect(page.paths()).to.deep.equal(['set/x/y.txt', 'set/z.png']);
    expect(errorOf(() => page.readText('set/x/y.txt'))).to.equal('set/x/y.txt: not read into memory (MemoryFiles.load it first)');
    const before = page.version('set/x/y.txt');
    await page.load('set/x/y.txt');
    expect(page.readText('set/x/./y.txt')).to.equal('text');
    page.add('set/x/y.txt', new Uint8Array([65]));
    expect(page.version('set/x/y.txt').key).to.equal(before.key);
    expect(page.version('set/x/y.txt').version, 'a replaced file is a new version (caches read it again)').to.not.equal(before.version);
  });

  it('each format opens to the same items, classes and labels from memory as from the disk', async () => {
    const city = fresh();
    await writeCityscapes(city);
    const cityFiles = inMemory(city);
    expect(expectSame(city, 'val', cityFiles).format).to.equal('cityscapes');
    expectSame(city, 'train', cityFiles);

    const ade = fresh();
    await writeAde20k(ade);
    expect(expectSame(ade, 'train', inMemory(ade)).format).to.equal('ade20k');
    expectSame(ade, 'validation', inMemory(ade));

    const json = fresh();
    await writeColourFolders(json, 'json');
    expect(expectSame(json, 'train', inMemory(json), { format: 'colour' }).format).to.equal('colour');
    const labelmap = fresh();
    await writeColourFolders(labelmap, 'labelmap');
    expect(expectSame(labelmap, 'train', inMemory(labelmap)).format).to.equal('colour');
    const cvat = fresh();
    await writePhoto(join(cvat, 'JPEGImages', 'frame_000001.jpg'), 3, 2);
    writeRgbPng(join(cvat, 'SegmentationClass', 'frame_000001.png'), 3, [[0, 0, 0], [70, 130, 180], [70, 130, 180], [0, 0, 0], [128, 64, 128], [0, 0, 0]]);
    writeText(join(cvat, 'ImageSets', 'Segmentation', 'default.txt'), 'frame_000001\n');
    writeText(join(cvat, 'labelmap.txt'), 'background:0,0,0::\nsky:70,130,180::\nroad:128,64,128::\n');
    expect(expectSame(cvat, 'default', inMemory(cvat)).format).to.equal('colour');

    const coco = fresh();
    await tinyCoco(coco);
    const cocoFiles = inMemory(coco);
    const c = expectSame(coco, 'val2017', cocoFiles);
    expect(c.format).to.equal('coco');
    expect(c.items).to.have.length(3);
    expectSame(coco, 'val2017', cocoFiles, { cocoClasses: 'voc' });
    expectSame(coco, 'train2017', cocoFiles);

    expect(expectSame(VOC, 'val', inMemory(VOC)).items).to.have.length(9);
    expect(listVocSplit(VOC, 'train', inMemory(VOC))).to.deep.equal(listVocSplit(VOC, 'train'));
    // CamVid's val split (101 images, ignore index 11): the other split's files left on disk only.
    const camvid = expectSame(CAMVID, 'val', inMemory(CAMVID, (p) => !p.includes(`${join('images', 'train')}`) && !p.includes(`${join('labels', 'train')}`)));
    expect(camvid.items).to.have.length(101);
    expect(camvid.ignoreIndex).to.equal(11);
  });

  it('and fails with the same errors: no layout, a missing split, a colour mask or an out-of-range value where ids were expected', async () => {
    const same = (what: string, memory: FileAccess, f: (files: FileAccess) => unknown): string => {
      const onDisk = errorOf(() => f(nodeFiles));
      expect(errorOf(() => f(memory)), what).to.equal(onDisk);
      return onDisk;
    };
    const empty = fresh();
    writeText(join(empty, 'readme.txt'), 'nothing here');
    expect(same('no layout', inMemory(empty), (files) => openDataset(empty, 'train', { files }))).to.match(/neither a VOC folder .* nor image\/label folders with classes\.json/);

    const city = fresh();
    await writeCityscapes(city);
    expect(same('missing split', inMemory(city), (files) => openDataset(city, 'test', { files }))).to.match(/no Cityscapes split 'test'.*splits found: train, val/);
    expect(same('folders without classes.json', inMemory(city), (files) => openDataset(city, 'val', { format: 'folders', files }))).to.match(/needs classes\.json/);
    expect(same('VOC split', inMemory(VOC), (files) => openDataset(VOC, 'test', { files }))).to.match(/no split file .*test\.txt; available splits: train, val/);

    const dir = fresh();
    await writeColourFolders(dir, 'json');
    writeGreyPng(join(dir, 'labels', 'train', 'g.png'), 2, [0, 14]);
    writeRgbPng(join(dir, 'labels', 'train', 'odd.png'), 2, [[1, 2, 3], [70, 130, 180]]);
    const memory = inMemory(dir);
    const label = join(dir, 'labels', 'train', 'a.png');
    // RGB labels with classes.json are found to be colour masks from either file access.
    expect([openDataset(dir, 'train').format, openDataset(dir, 'train', { files: memory }).format]).to.deep.equal(['colour', 'colour']);
    expect(same('colour mask as ids', memory, (files) => openDataset(dir, 'train', { format: 'folders', files }).readLabel(label))).to.match(/a\.png: an RGB colour PNG .*looks like a colour mask.*--format colour/);
    expect(same('out of range', memory, (files) => openDataset(dir, 'train', { format: 'folders', files }).readLabel(join(dir, 'labels', 'train', 'g.png')))).to.match(
      /g\.png: label values 14 \(1 pixels\) are neither a class \(0\.\.1\) nor the ignore index 255$/,
    );
    expect(same('unknown colour', memory, (files) => openDataset(dir, 'train', { format: 'colour', files }).readLabel(join(dir, 'labels', 'train', 'odd.png')))).to.match(
      /odd\.png: 1 colours are not in the palette .*\(1,2,3\) 1 pixels/,
    );

    const coco = fresh();
    await tinyCoco(coco);
    writeJson(join(coco, 'annotations', 'instances_bad.json'), { images: [{ id: 1, file_name: 'gone.png', width: 1, height: 1 }], annotations: [], categories: [] });
    expect(same('COCO split', inMemory(coco), (files) => openDataset(coco, 'train', { files }))).to.match(/no COCO split 'train' .*splits found: bad, train2017, val2017/);
    expect(same('COCO image missing', inMemory(coco), (files) => openDataset(coco, 'bad', { files }))).to.match(/instances_bad\.json: 1 listed image is missing/);
  });
});
