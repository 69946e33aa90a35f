// The training data path: both layouts, label checks, the paper's augmentation, and batches
// that depend only on (seed, step).
import { expect } from 'chai';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MEAN_PIXEL, augment, augmentBands } from '../../src/data/augment.js';
import { openDataset, readLabel } from '../../src/data/dataset.js';
import { TrainLoader } from '../../src/data/loader.js';
import { SamplePool } from '../../src/data/sample-pool.js';
import type { SampleSpec } from '../../src/data/sample.js';
import { Rng } from '../../src/util/random.js';
import { expectRejects, rng } from '../helpers.js';
import { sharedPath } from '../shared.js';

const CAMVID = sharedPath('data', 'camvid');
const VOC = sharedPath('data', 'voc-sample');

describe('data: data sets, augmentation, batches', () => {
  it('opens both layouts with their classes and ignore index', () => {
    const camvid = openDataset(CAMVID, 'train');
    expect(camvid.layout).to.equal('folders');
    expect(camvid.items).to.have.length(367);
    expect(camvid.classes.names[0]).to.equal('Sky');
    expect(camvid.ignoreIndex).to.equal(11);
    const voc = openDataset(VOC, 'val');
    expect(voc.layout).to.equal('voc');
    expect(voc.classes.names).to.have.length(21);
    expect(voc.ignoreIndex).to.equal(255);
  });

  it('names a missing split (listing those found) and a folder that is no data set', async () => {
    await expectRejects(() => openDataset(CAMVID, 'test'), /no split 'test' .*splits found: .*train.*val/);
    const dir = mkdtempSync(join(tmpdir(), 'deeplab-data-'));
    try {
      await expectRejects(() => openDataset(dir, 'train'), /neither a VOC folder .* nor image\/label folders with classes\.json/);
      mkdirSync(join(dir, 'images', 'train'), { recursive: true });
      mkdirSync(join(dir, 'labels', 'train'), { recursive: true });
      writeFileSync(join(dir, 'classes.json'), JSON.stringify({ names: ['a', 'b'], colors: [[0, 0, 0]], ignoreIndex: 255 }));
      await expectRejects(() => openDataset(dir, 'train'), /1 class colours for a model with 2 classes/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('augments image and label together: padding with the mean pixel and the ignore label, labels never interpolated, flips in step', () => {
    // A 6x4 image whose label is its column (0..5), so a flip and a crop show in the label.
    const w = 6;
    const h = 4;
    const data = new Uint8Array(w * h * 3);
    const indices = new Uint8Array(w * h);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
      data.set([x * 40, y * 60, 7], (y * w + x) * 3);
      indices[y * w + x] = x;
    }
    let flips = 0;
    for (let seed = 0; seed < 40; seed++) {
      const a = augment({ width: w, height: h, data }, { width: w, height: h, indices }, new Rng(seed), { crop: 9, ignoreIndex: 255 });
      const present = new Set(a.label.indices);
      for (const v of present) expect(v === 255 || (v >= 0 && v < 6), `label value ${v}`).to.equal(true);
      // Where the label is the ignore index the image is the mean pixel, and only there.
      for (let i = 0; i < 81; i++) {
        const pixel = [...a.image.data.subarray(3 * i, 3 * i + 3)];
        if (a.label.indices[i] === 255) expect(pixel).to.deep.equal(MEAN_PIXEL);
        else expect(pixel[2]).to.equal(7);
      }
      // Along a row the label (the source column) rises, or falls when flipped.
      const row = [...a.label.indices.subarray(0, 9)].filter((v) => v !== 255);
      if (row.length > 1 && row[0] > row[row.length - 1]) flips++;
    }
    expect(flips, 'flipped crops among 40').to.be.within(5, 35);
  });

  it('bands take the same augmentation as RGB: the same draws, crop, flip and labels; scaled without rounding to bytes; padded with 0 (the normalised mean)', () => {
    const r = rng();
    const [w, h] = [23, 17];
    const data = Uint8Array.from({ length: w * h * 3 }, () => Math.floor(r() * 256));
    const indices = Uint8Array.from({ length: w * h }, () => Math.floor(r() * 4));
    const label = { width: w, height: h, indices };
    // The bands are the bytes as floats: what the RGB crop holds, unrounded.
    const bands = { width: w, height: h, channels: 3, normalized: Float32Array.from(data) };
    for (const [seed, scale] of [[1, [1, 1]], [2, [1, 1]], [3, undefined], [4, undefined], [5, [0.5, 0.7]]] as const) {
      const o = { crop: 19, ignoreIndex: 255, scale: scale as [number, number] | undefined };
      const a = augment({ width: w, height: h, data }, label, new Rng(seed), o);
      const b = augmentBands(bands, label, new Rng(seed), o);
      expect([...b.label.indices], `seed ${seed}: labels`).to.deep.equal([...a.label.indices]);
      expect([b.image.width, b.image.height, b.image.channels]).to.deep.equal([19, 19, 3]);
      let worst = 0;
      for (let i = 0; i < 19 * 19; i++) {
        const px = b.image.normalized.subarray(3 * i, 3 * i + 3);
        if (a.label.indices[i] === 255) expect([...px], `seed ${seed}: padding at ${i}`).to.deep.equal([0, 0, 0]);
        else for (let c = 0; c < 3; c++) worst = Math.max(worst, Math.abs(px[c] - a.image.data[3 * i + c]));
      }
      // Unscaled, the same values; scaled, Pillow's 8-bit resize rounds after each of its two passes (at most a level apart).
      if (scale?.[0] === 1) expect(worst, `seed ${seed}: unscaled`).to.equal(0);
      else expect(worst, `seed ${seed}: scaled`).to.be.at.most(1);
    }
  });

  it('batch k is the same from a fresh loader as after batches 0..k-1, and differs with the seed', async () => {
    const data = openDataset(CAMVID, 'train');
    const options = { batch: 2, crop: 17, seed: 9, normalization: 'minus_one_one' as const, workers: 0 };
    const a = new TrainLoader(data, options);
    for (let k = 0; k < 3; k++) await a.batch(k);
    const third = await a.batch(3);
    const fresh = await new TrainLoader(data, options).batch(3);
    expect(third.ids).to.deep.equal(fresh.ids);
    expect([...third.images]).to.deep.equal([...fresh.images]);
    expect([...third.labels]).to.deep.equal([...fresh.labels]);
    const other = await new TrainLoader(data, { ...options, seed: 10 }).batch(3);
    expect([...other.images]).to.not.deep.equal([...third.images]);
  });

  it('bootstrapping: images holding a chosen class appear repeatFactor times in each epoch', async () => {
    const full = openDataset(CAMVID, 'train');
    // Every 16th image: frames far apart (neighbouring frames hold the same classes).
    const data = { ...full, items: full.items.filter((_, i) => i % 16 === 0).slice(0, 23) };
    const present = data.items.map((it) => new Set(readLabel(it.labelPath, 11, 11).indices));
    // A class that some images hold and others not.
    const rare = [...Array(11).keys()].find((c) => present.some((p) => p.has(c)) && present.some((p) => !p.has(c)))!;
    expect(rare, 'a class held by some of these images only').to.not.equal(undefined);
    const holders = data.items.filter((_, i) => present[i].has(rare)).map((it) => it.id);
    const loader = new TrainLoader(data, { batch: 1, crop: 9, seed: 1, normalization: 'imagenet', workers: 0, repeatClasses: [rare], repeatFactor: 3 });
    expect(loader.epochLength).to.equal(23 + 2 * holders.length);
    const seen = new Map<string, number>();
    for (let k = 0; k < loader.epochLength; k++) {
      const id = (await loader.batch(k)).ids[0];
      seen.set(id, (seen.get(id) ?? 0) + 1);
    }
    for (const it of data.items) expect(seen.get(it.id), it.id).to.equal(holders.includes(it.id) ? 3 : 1);
  });

  it('worker threads make the same batches as the main thread, and pass on errors naming the file', async () => {
    const data = openDataset(CAMVID, 'train');
    const options = { batch: 3, crop: 33, seed: 4, normalization: 'imagenet' as const };
    const inline = new TrainLoader(data, { ...options, workers: 0 });
    const pooled = new TrainLoader(data, { ...options, workers: 2 });
    try {
      expect(pooled.workers).to.equal(2);
      pooled.prefetch(1); // a batch made ahead is the same batch
      for (const k of [0, 1, 5]) {
        const [want, got] = [await inline.batch(k), await pooled.batch(k)];
        expect(got.ids).to.deep.equal(want.ids);
        expect(Buffer.from(got.images.buffer).equals(Buffer.from(want.images.buffer)), `images of batch ${k}`).to.equal(true);
        expect([...got.labels]).to.deep.equal([...want.labels]);
      }
    } finally {
      await pooled.close();
    }
    const missing = { ...data, items: [{ id: 'gone', imagePath: join(CAMVID, 'images/train/gone.jpg'), labelPath: join(CAMVID, 'labels/train/gone.png') }] };
    const broken = new TrainLoader(missing, { ...options, batch: 1, workers: 1 });
    try {
      await expectRejects(() => broken.batch(0), /gone\.png/);
    } finally {
      await broken.close();
    }
    await expectRejects(() => broken.batch(1), /sample pool: closed/);
  });

  it('closing the pool while its workers are decoding: samples under way finish, the rest are rejected, every thread ends (none torn down mid-sample, which could abort the process)', async () => {
    const data = openDataset(CAMVID, 'train');
    const spec = (n: number): SampleSpec => ({
      imagePath: data.items[n % data.items.length].imagePath,
      labelPath: data.items[n % data.items.length].labelPath,
      labels: data.labels,
      ignoreIndex: data.ignoreIndex,
      normalization: 'imagenet',
      crop: 33,
      seed: 5,
      n,
    });
    for (let round = 0; round < 8; round++) {
      const pool = new SamplePool(2);
      const owed = Array.from({ length: 6 }, (_, n) => pool.make(spec(n)).then(() => 'made', (e: Error) => e.message));
      // Close at a different moment each round: at once, or while the first samples are being decoded.
      await new Promise((resolve) => setTimeout(resolve, round * 15));
      await pool.close();
      expect(pool.running, 'threads left running').to.equal(0);
      for (const r of await Promise.all(owed)) expect(r).to.be.oneOf(['made', 'sample pool: closed before the sample was made']);
      await expectRejects(() => pool.make(spec(0)), /sample pool: closed/);
    }
  });
});
