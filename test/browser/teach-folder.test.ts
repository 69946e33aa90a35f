// The demo's teach mode given a data-set folder, in headless Chromium (SwiftShader), through the
// page's folder input: a VOC-layout folder of 15 small windows cut from the VOC samples (the page
// takes the first 12 and says so), whose labels on the page must be Node's reading of the same
// folder; a folder of two windows on which a few fine-tuning steps lower the loss; a CVAT
// colour-mask folder (the bundle's own PNG reader); and folders that cannot be read, refused on
// the page with the message `deeplab train` gives.
import { expect } from 'chai';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Page } from 'playwright-core';
import { openDataset } from '../../src/data/dataset.js';
import { PAGE_DATASET_FORMATS } from '../../src/data/formats/registry.js';
import { readImage } from '../../src/io/image.js';
import { encodeIndexedPng, readIndexedPng } from '../../src/io/png-indexed.js';
import { encodeRgbPng } from '../../src/io/png-rgb.js';
import { VOC_CLASSES, VOC_PALETTE } from '../../src/model/voc.js';
import { cropImage, cropLabels, teachWindow, VOC_SAMPLE } from '../train/teach-fixture.js';
import { type DemoPage, openDemoPage } from './chromium.js';
import { expectThrows } from '../helpers.js';

/** The windows' size, and the crop trained on. */
const SIZE = 41;
const STEPS = 6;
/** What the page takes of a folder (demo/teach.js). */
const MAX_IMAGES = 12;

interface FolderSummary {
  dir: string;
  format: string;
  split: string;
  splits: string[];
  images: number;
  classes: { names: string[]; colors: number[][] };
  items: { name: string; width: number; height: number; labels: string }[];
}

type Demo = {
  teachReady: Promise<void>;
  teachFolder(): Promise<FolderSummary>;
  teachAsIs(o: unknown): Promise<{ losses: number[]; painted: number[] }>;
};

function write(path: string, bytes: Uint8Array | string): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, bytes);
}

/**
 * A VOC-layout folder of the first `count` of: six windows of the aeroplane image around its most
 * even window, then windows at the centre of each other VOC sample (15 in all).
 */
async function vocFolder(dir: string, count = 15): Promise<void> {
  const w = await teachWindow(SIZE);
  const windows: { id: string; photo: typeof w.photo; truth: typeof w.truth; x: number; y: number }[] = [];
  const clamp = (v: number, size: number): number => Math.max(0, Math.min(size - SIZE, v));
  [[0, 0], [4, 0], [0, 4], [-4, 0], [0, -4], [4, 4]].forEach(([dx, dy], k) =>
    windows.push({ id: `plane_${k}`, photo: w.photo, truth: w.truth, x: clamp(w.x + dx, w.truth.width), y: clamp(w.y + dy, w.truth.height) }),
  );
  for (const file of readdirSync(join(VOC_SAMPLE, 'JPEGImages')).sort()) {
    const id = file.replace(/\.(jpg|png)$/, '');
    if (id === '2007_000033') continue;
    const photo = await readImage(join(VOC_SAMPLE, 'JPEGImages', file));
    const truth = readIndexedPng(readFileSync(join(VOC_SAMPLE, 'SegmentationClass', `${id}.png`)));
    windows.push({ id, photo, truth, x: (photo.width - SIZE) >> 1, y: (photo.height - SIZE) >> 1 });
  }
  expect(windows.length).to.equal(15);
  windows.splice(count);
  for (const win of windows) {
    write(join(dir, 'JPEGImages', `${win.id}.png`), encodeRgbPng(cropImage(win.photo, win.x, win.y, SIZE, SIZE)));
    write(join(dir, 'SegmentationClass', `${win.id}.png`), encodeIndexedPng(cropLabels(win.truth, win.x, win.y, SIZE, SIZE), SIZE, SIZE, VOC_PALETTE));
  }
  write(join(dir, 'ImageSets', 'Segmentation', 'train.txt'), windows.map((win) => win.id).join('\n') + '\n');
  write(join(dir, 'ImageSets', 'Segmentation', 'val.txt'), `${windows[0].id}\n`);
}

/** CVAT's VOC-like export: RGB colour masks, the colours in labelmap.txt. */
function cvatFolder(dir: string): void {
  const colours: [number, number, number][] = [[0, 0, 0], [250, 50, 83], [36, 179, 83]];
  write(join(dir, 'labelmap.txt'), '# label:color_rgb:parts:actions\nbackground:0,0,0::\ncat:250,50,83::\ngrass:36,179,83::\n');
  const ids = ['frame_000000', 'frame_000001'];
  ids.forEach((id, k) => {
    const mask = Array.from({ length: 12 * 9 }, (_, p) => colours[((p % 12) + k * Math.floor(p / 12)) % 3]);
    write(join(dir, 'SegmentationClass', `${id}.png`), encodeRgbPng({ width: 12, height: 9, data: Uint8Array.from(mask.flat()) }));
    write(join(dir, 'JPEGImages', `${id}.png`), encodeRgbPng({ width: 12, height: 9, data: new Uint8Array(12 * 9 * 3).fill(90 + k) }));
  });
  write(join(dir, 'ImageSets', 'Segmentation', 'default.txt'), ids.join('\n'));
}

describe("browser: teaching from a data-set folder (the demo's teach mode) @slow", function () {
  this.timeout(300_000);
  let demo: DemoPage;
  let page: Page;
  let pageErrors: string[];
  let root: string;

  /** Chooses `dir` in the page's folder input; the page's reading of it, or its error's message. */
  async function chooseFolder(dir: string): Promise<FolderSummary | string> {
    await page.setInputFiles('#teach-folder', dir);
    return page.evaluate(async () => {
      try {
        return await (window as unknown as { deeplabDemo: Demo }).deeplabDemo.teachFolder();
      } catch (e) {
        return (e as Error).message;
      }
    });
  }

  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'deeplab-folders-'));
    demo = await openDemoPage();
    ({ page, pageErrors } = demo);
    await page.evaluate(() => (window as unknown as { deeplabDemo: Demo }).deeplabDemo.teachReady);
  });

  after(async () => {
    await demo?.close();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  /** Expects the page's labels of the folder's images to be Node's reading of the folder (the first `count` items). */
  function expectNodeLabels(dir: string, folder: FolderSummary, count: number): number {
    const node = openDataset(dir, 'train');
    expect(folder.items.map((i) => i.name)).to.deep.equal(node.items.slice(0, count).map((i) => i.id));
    let ignored = 0;
    folder.items.forEach((item, k) => {
      const label = node.readLabel(node.items[k].labelPath);
      expect([item.width, item.height]).to.deep.equal([label.width, label.height]);
      expect(Buffer.from(item.labels, 'base64').equals(Buffer.from(label.indices)), `labels of ${item.name}`).to.equal(true);
      ignored += label.indices.filter((v) => v === 255).length;
    });
    return ignored;
  }

  it("the format picker lists the page's formats, from the bundle's records", async () => {
    const values = await page.locator('#teach-format option').evaluateAll((options) => options.map((o) => (o as HTMLOptionElement).value));
    expect(values).to.deep.equal(['', ...PAGE_DATASET_FORMATS]);
  });

  it("a VOC folder: the first 12 images with Node's labels, and the data set's classes to paint", async () => {
    const dir = join(root, 'voc-mini');
    await vocFolder(dir);
    const folder = await chooseFolder(dir);
    if (typeof folder === 'string') throw new Error(`the page refused the folder: ${folder}`);
    expect([folder.dir, folder.format, folder.split, folder.splits, folder.images]).to.deep.equal(['voc-mini', 'voc', 'train', ['train', 'val'], 15]);
    expect(folder.classes.names).to.deep.equal(VOC_CLASSES);
    expect(expectNodeLabels(dir, folder, MAX_IMAGES), 'the VOC borders (255) come through as unlabelled').to.be.greaterThan(0);
    expect(await page.textContent('#status')).to.equal(
      "voc-mini: voc, split 'train' (splits: train, val): its first 12 of 15 images (teach mode takes at most 12; deeplab train takes them all), labelled, 21 classes; edit the labels or Train",
    );
    expect(await page.inputValue('#teach-classes')).to.equal(VOC_CLASSES.join(', '));
    expect(await page.locator('#teach-class option').count(), 'the 21 classes and the eraser').to.equal(22);
    expect(await page.locator('.teach-card').count()).to.equal(MAX_IMAGES);
    mkdirSync('out', { recursive: true });
    await page.screenshot({ path: join('out', 'teach-folder.png'), fullPage: true });
  });

  it('a folder of two windows: 6 steps (3 on each) lower the loss on each', async () => {
    const dir = join(root, 'voc-two');
    await vocFolder(dir, 2);
    const folder = await chooseFolder(dir);
    if (typeof folder === 'string') throw new Error(`the page refused the folder: ${folder}`);
    expectNodeLabels(dir, folder, 2);
    const run = await page.evaluate(
      ({ steps, size }) => (window as unknown as { deeplabDemo: Demo }).deeplabDemo.teachAsIs({ recipe: 'plain', steps, crop: size, batch: 1, lr: 0.0003, seed: 1, augment: false }),
      { steps: STEPS, size: SIZE },
    );
    console.log(`      (${run.painted.join(', ')} pixels labelled in the two windows; loss ${run.losses.map((l) => l.toFixed(3)).join(' ')})`);
    expect(run.losses).to.have.length(STEPS);
    expect(run.painted).to.have.length(2);
    // Steps 1, 3, 5 train on the first window, 2, 4, 6 on the second.
    expect(run.losses[4], 'the first window, step 5 against step 1').to.be.lessThan(0.5 * run.losses[0]);
    expect(run.losses[5], 'the second window, step 6 against step 2').to.be.lessThan(0.5 * run.losses[1]);
    expect(await page.textContent('#status')).to.match(/^taught in 6 steps/);
  });

  it('a CVAT colour-mask folder: its colours read by the bundle as Node reads them', async () => {
    const dir = join(root, 'cvat');
    cvatFolder(dir);
    const folder = await chooseFolder(dir);
    if (typeof folder === 'string') throw new Error(`the page refused the folder: ${folder}`);
    expect([folder.format, folder.split, folder.classes.names]).to.deep.equal(['colour', 'default', ['background', 'cat', 'grass']]);
    const node = openDataset(dir, 'default');
    expect(folder.items.map((i) => [...Buffer.from(i.labels, 'base64')])).to.deep.equal(node.items.map((it) => [...node.readLabel(it.labelPath).indices]));
    expect(new Set(folder.items.flatMap((i) => [...Buffer.from(i.labels, 'base64')]))).to.deep.equal(new Set([0, 1, 2]));
  });

  it('a folder in no known layout, with colour masks where class ids belong, or an image and label of different sizes is refused on the page as `deeplab train` refuses it', async () => {
    const cards = await page.locator('.teach-card').count();
    const junk = join(root, 'junk');
    write(join(junk, 'notes.txt'), 'not a data set');
    write(join(junk, 'photos', 'a.png'), encodeRgbPng({ width: 2, height: 2, data: new Uint8Array(12) }));
    const onDisk = expectThrows(() => openDataset(junk, 'train'), /^data set /).message;
    const refused = await chooseFolder(junk);
    expect(refused, 'the page must refuse the folder').to.be.a('string');
    expect(refused).to.equal(onDisk.replace(junk, 'junk'));
    expect(refused).to.match(/^data set junk: neither a VOC folder \(ImageSets\/Segmentation\/\) nor image\/label folders with classes\.json/);
    expect(await page.textContent('#status')).to.equal(refused);
    expect(await page.getAttribute('#status', 'class')).to.equal('error');
    expect(await page.locator('.teach-card').count(), 'the images already there stay').to.equal(cards);

    // Colour masks in an images/labels/classes.json folder: class ids expected.
    const masks = join(root, 'masks');
    write(join(masks, 'classes.json'), JSON.stringify({ names: ['sky', 'road'], colors: [[70, 130, 180], [128, 64, 128]] }));
    write(join(masks, 'images', 'train', 'a.png'), encodeRgbPng({ width: 2, height: 1, data: new Uint8Array(6) }));
    write(join(masks, 'labels', 'train', 'a.png'), encodeRgbPng({ width: 2, height: 1, data: Uint8Array.of(70, 130, 180, 128, 64, 128) }));
    const colourMask = await chooseFolder(masks);
    expect(colourMask).to.equal(
      'masks/labels/train/a.png: an RGB colour PNG where a class-index PNG (one class id per pixel) was expected: it looks like a colour mask; if its colours mark the classes, open the data set with --format colour (colours from classes.json or a CVAT labelmap.txt)',
    );
    expect(await page.textContent('#status')).to.equal(colourMask);

    // An image and its label of different sizes.
    const sizes = join(root, 'sizes');
    write(join(sizes, 'classes.json'), JSON.stringify({ names: ['a', 'b'], colors: [[0, 0, 0], [255, 255, 255]] }));
    write(join(sizes, 'images', 'train', 'a.png'), encodeRgbPng({ width: 3, height: 2, data: new Uint8Array(18) }));
    write(join(sizes, 'labels', 'train', 'a.png'), encodeIndexedPng(Uint8Array.of(0, 1, 1, 0), 2, 2, VOC_PALETTE));
    expect(await chooseFolder(sizes)).to.equal('sizes/labels/train/a.png: the label is 2x2 but its image sizes/images/train/a.png is 3x2');
    expect(pageErrors, 'no uncaught errors in the page').to.deep.equal([]);
  });
});
