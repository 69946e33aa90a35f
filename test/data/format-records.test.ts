// Every data-set format record, enumerated: a record added to the registry is tested here by
// being listed (TINY fails to compile without a tiny data set of its layout). Each is recognised
// from its own layout, opens its split with the decoding it names, lists its splits, and opens
// the same items from a dropped folder where the page has it. Recognition is by explicit
// priorities: no two rules share one, and a folder holding two layouts is the higher one's.
import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DATASET_FORMATS, type DatasetFormat, openDataset } from '../../src/data/dataset.js';
import { readDroppedFolder } from '../../src/data/dropped-folder.js';
import { detectFormat } from '../../src/data/formats/detect.js';
import { DATASET_FORMAT_RECORDS, datasetFormat } from '../../src/data/formats/registry.js';
import { nodeFiles } from '../../src/data/files/node-files.js';
import { tinyCoco } from './tiny-coco.js';
import { asDropped, writeAde20k, writeCityscapes, writeColourFolders, writeGreyPng, writeJson, writePalettePng, writePhoto, writeText } from './tiny-datasets.js';
import { expectThrows } from '../helpers.js';

/** A tiny data set of each format's layout, and a split it holds. */
const TINY: { [F in DatasetFormat]: { split: string; write(dir: string): Promise<void> } } = {
  voc: {
    split: 'train',
    async write(dir) {
      await writePhoto(join(dir, 'JPEGImages', 'a.jpg'), 3, 2);
      writePalettePng(join(dir, 'SegmentationClass', 'a.png'), 3, [0, 1, 15, 255, 0, 1]);
      writeText(join(dir, 'ImageSets', 'Segmentation', 'train.txt'), 'a\n');
    },
  },
  folders: {
    split: 'train',
    async write(dir) {
      await writePhoto(join(dir, 'images', 'train', 'a.png'), 3, 2);
      writeGreyPng(join(dir, 'labels', 'train', 'a.png'), 3, [0, 1, 1, 255, 0, 1]);
      writeJson(join(dir, 'classes.json'), { names: ['sky', 'road'], colors: [[0, 0, 255], [90, 90, 90]], ignoreIndex: 255 });
    },
  },
  cityscapes: { split: 'val', write: writeCityscapes },
  ade20k: { split: 'training', write: writeAde20k },
  // A CVAT labelmap.txt: the page recognises it from names alone (classes.json's colour masks
  // are told by a label's PNG header, which the page has not read when it detects).
  colour: { split: 'train', write: (dir) => writeColourFolders(dir, 'labelmap') },
  coco: { split: 'val2017', write: tinyCoco },
};

describe('data: every data-set format record', () => {
  let root: string;
  let n = 0;
  const fresh = (): string => join(root, `d${n++}`);
  before(() => {
    root = mkdtempSync(join(tmpdir(), 'deeplab-format-records-'));
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  it('one record per name, in the order --format lists them; no two recognition rules share a priority', () => {
    expect(DATASET_FORMAT_RECORDS.map((f) => f.name)).to.deep.equal([...DATASET_FORMATS]);
    expect(Object.keys(TINY).sort()).to.deep.equal([...DATASET_FORMATS].sort());
    const priorities = DATASET_FORMAT_RECORDS.flatMap((f) => f.recognise.map((r) => r.priority));
    expect(new Set(priorities).size, `priorities ${priorities.join(', ')}`).to.equal(priorities.length);
    expectThrows(() => datasetFormat('pascal', 'data set x'), `data set x: unknown format 'pascal' (formats: ${DATASET_FORMATS.join(', ')})`);
  });

  for (const record of DATASET_FORMAT_RECORDS) {
    const { split, write } = TINY[record.name];

    it(`${record.name}: recognised from its layout, opened with the decoding it names, its splits listed`, async () => {
      const dir = fresh();
      await write(dir);
      expect(detectFormat(dir)).to.equal(record.name);
      const d = openDataset(dir, split);
      expect(d.format).to.equal(record.name);
      expect(d.items.length).to.be.greaterThan(0);
      expect(record.labels).to.include(d.labels.kind);
      const label = d.readLabel(d.items[0].labelPath);
      expect(label.indices.every((v) => v < d.classes.names.length || v === d.ignoreIndex), 'class ids or the ignore index').to.equal(true);
      expect(record.splits(nodeFiles, dir)).to.include(split);
      expect(openDataset(dir, split, { format: record.name }).items).to.deep.equal(d.items);
    });

    if (record.page) {
      it(`${record.name}: a dropped folder of it opens in the page as on disk`, async () => {
        const dir = fresh();
        await write(dir);
        const folder = await readDroppedFolder(asDropped(dir), { split });
        expect(folder.format).to.equal(record.name);
        expect(folder.splits).to.deep.equal(record.splits(nodeFiles, dir));
        const onDisk = openDataset(dir, split);
        expect(folder.items.map((i) => i.id)).to.deep.equal(onDisk.items.map((i) => i.id));
      });
    }
  }

  it('a folder holding two layouts is the format whose rule has the higher priority', async () => {
    const dir = fresh();
    await writeCityscapes(dir);
    writeJson(join(dir, 'classes.json'), { names: ['a'], colors: [[1, 2, 3]] });
    // Cityscapes' rule ranks above classes.json's.
    expect(detectFormat(dir)).to.equal('cityscapes');
    const both = fresh();
    await tinyCoco(both);
    await writePhoto(join(both, 'images', 'training', 'x.jpg'), 2, 1);
    // COCO's annotations/instances_<split>.json rank above ADE20K's images/ and annotations/.
    expect(detectFormat(both)).to.equal('coco');
  });
});
