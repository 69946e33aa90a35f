import { readFileSync } from 'node:fs';
import { expect } from 'chai';
import pngjs from 'pngjs';
import { parseIhdr, readPngChunks } from '../../src/io/png-chunks.js';
import { encodeIndexedPng, readIndexedPng } from '../../src/io/png-indexed.js';
import { VOC_CLASSES, VOC_PALETTE } from '../../src/model/voc.js';
import { expectThrows, rng } from '../helpers.js';
import { buildPng } from './png-builder.js';
import { sharedPath } from '../shared.js';

const VOC = sharedPath('data', 'voc-sample');
const TFLITE = sharedPath('fixtures', 'tflite');
const VAL_IDS = readFileSync(`${VOC}/ImageSets/Segmentation/val.txt`, 'utf8').split(/\s+/).filter(Boolean);

function randomIndices(n: number, max: number): Uint8Array {
  const r = rng();
  return Uint8Array.from({ length: n }, () => Math.floor(r() * (max + 1)));
}

describe('io: indexed PNG', () => {
  it('round trip: encode then read gives the indices back; pngjs sees the palette colours', () => {
    for (const [w, h] of [
      [1, 1],
      [37, 23],
      [257, 5],
    ]) {
      const idx = randomIndices(w * h, 255);
      idx[0] = 255; // void label present
      const png = encodeIndexedPng(idx, w, h, VOC_PALETTE);
      const back = readIndexedPng(png, 'roundtrip.png');
      expect([back.width, back.height]).to.deep.equal([w, h]);
      expect(Buffer.from(back.indices).equals(Buffer.from(idx))).to.equal(true);
      // An independent decoder: colour type 3, 8-bit, and each pixel shows its palette colour.
      const ref = pngjs.PNG.sync.read(Buffer.from(png));
      const header = parseIhdr(readPngChunks(png, 'test'), 'test');
      expect([header.colorType, header.bitDepth]).to.deep.equal([3, 8]);
      let mismatches = 0;
      for (let i = 0; i < w * h; i++) {
        for (let c = 0; c < 3; c++) if (ref.data[4 * i + c] !== VOC_PALETTE[3 * idx[i] + c]) mismatches++;
        if (ref.data[4 * i + 3] !== 255) mismatches++;
      }
      expect(mismatches, `${w}x${h}: pixels pngjs decodes to another colour`).to.equal(0);
    }
  });

  it('reads grey PNGs written by pngjs with each PNG filter type', () => {
    // pngjs filters every row with the type asked for, so this checks all five unfilterings.
    const w = 31;
    const h = 9;
    for (let filterType = 0; filterType <= 4; filterType++) {
      const idx = randomIndices(w * h, 255);
      const png = pngjs.PNG.sync.write({ width: w, height: h, data: Buffer.from(idx) } as pngjs.PNG, {
        colorType: 0,
        inputColorType: 0,
        inputHasAlpha: false,
        bitDepth: 8,
        filterType,
      });
      const back = readIndexedPng(png, `filter${filterType}.png`);
      expect(Buffer.from(back.indices).equals(Buffer.from(idx)), `filter type ${filterType}`).to.equal(true);
    }
  });

  it('VOC ground-truth masks read as class indices in {0..20, 255}, matching their palette colours', () => {
    for (const id of ['2007_000032', ...VAL_IDS]) {
      const bytes = readFileSync(`${VOC}/SegmentationClass/${id}.png`);
      const m = readIndexedPng(bytes, `${id}.png`);
      const values = new Set(m.indices);
      for (const v of values) expect(v <= 20 || v === 255, `${id}: value ${v}`).to.equal(true);
      expect(values.has(0), `${id} has background`).to.equal(true);
      expect(values.size, `${id} has an object class`).to.be.greaterThan(1);
      // pngjs expands the same file to colours: each must be VOC_PALETTE[index].
      const ref = pngjs.PNG.sync.read(bytes);
      expect([ref.width, ref.height]).to.deep.equal([m.width, m.height]);
      let mismatches = 0;
      for (let i = 0; i < m.indices.length; i++) {
        for (let c = 0; c < 3; c++) if (ref.data[4 * i + c] !== VOC_PALETTE[3 * m.indices[i] + c]) mismatches++;
      }
      expect(mismatches, `${id}: pixels whose colour is not VOC_PALETTE[index]`).to.equal(0);
    }
    const m = readIndexedPng(readFileSync(`${VOC}/SegmentationClass/2007_000033.png`));
    expect([m.width, m.height]).to.deep.equal([500, 366]);
  });

  it('reads the TFLite fixture argmax and prediction PNGs (8-bit grey)', () => {
    for (const id of VAL_IDS) {
      const a = readIndexedPng(readFileSync(`${TFLITE}/${id}_argmax257.png`), `${id}_argmax257.png`);
      expect([a.width, a.height]).to.deep.equal([257, 257]);
      for (const v of new Set(a.indices)) expect(v).to.be.lessThan(VOC_CLASSES.length);
      const p = readIndexedPng(readFileSync(`${TFLITE}/${id}_pred_full.png`), `${id}_pred_full.png`);
      const gt = readIndexedPng(readFileSync(`${VOC}/SegmentationClass/${id}.png`));
      expect([p.width, p.height]).to.deep.equal([gt.width, gt.height]);
    }
  });

  it('the VOC masks carry exactly the VOC palette', () => {
    const chunks = readPngChunks(readFileSync(`${VOC}/SegmentationClass/2007_000033.png`), 'gt');
    const plte = chunks.find((c) => c.type === 'PLTE')!;
    expect(Buffer.from(plte.data).equals(Buffer.from(VOC_PALETTE))).to.equal(true);
    expect(VOC_CLASSES).to.have.length(21);
    expect([VOC_CLASSES[0], VOC_CLASSES[15], VOC_CLASSES[20]]).to.deep.equal(['background', 'person', 'tvmonitor']);
    expect(Array.from(VOC_PALETTE.subarray(3 * 255, 3 * 256))).to.deep.equal([224, 224, 192]);
  });

  describe('errors', () => {
    it('refuses non-index colour types and bit depths, naming what it found', () => {
      const rgb = buildPng({ width: 3, height: 2, colorType: 2, bitDepth: 8, samples: randomIndices(18, 255) });
      expectThrows(() => readIndexedPng(rgb, 'rgb.png'), /readIndexedPng\(rgb\.png\): colour type 2 is not an index map/);
      const grey16 = buildPng({ width: 3, height: 2, colorType: 0, bitDepth: 16, samples: [1, 2, 3, 4, 5, 6] });
      expectThrows(() => readIndexedPng(grey16, 'g16.png'), /readIndexedPng\(g16\.png\): bit depth 16 is not supported/);
      const pal4 = buildPng({ width: 3, height: 2, colorType: 3, bitDepth: 4, samples: [1, 2, 3, 4, 5, 6], plte: VOC_PALETTE.subarray(0, 48) });
      expectThrows(() => readIndexedPng(pal4, 'p4.png'), /bit depth 4 is not supported/);
    });

    it('corrupt and truncated files', () => {
      const png = encodeIndexedPng(randomIndices(40 * 30, 20), 40, 30, VOC_PALETTE);
      expectThrows(() => readIndexedPng(png.subarray(0, png.length >> 1), 'half.png'), /readIndexedPng\(half\.png\): truncated PNG/);
      const flipped = png.slice();
      flipped[png.length - 30] ^= 0xff; // inside IDAT (the IEND chunk is the last 12 bytes)
      expectThrows(() => readIndexedPng(flipped, 'flip.png'), /readIndexedPng\(flip\.png\): corrupt PNG: CRC mismatch in 'IDAT'/);
      expectThrows(() => readIndexedPng(new Uint8Array([1, 2, 3]), 'x'), /readIndexedPng\(x\): not a PNG file/);
    });

    it('encodeIndexedPng validates its arguments', () => {
      expectThrows(() => encodeIndexedPng(new Uint8Array(5), 2, 3, VOC_PALETTE), /encodeIndexedPng: indices has 5 values, expected 2x3 = 6/);
      expectThrows(() => encodeIndexedPng(new Uint8Array(6), 2, 3, new Uint8Array(10)), /palette must hold 1\.\.256 RGB triples, got 10 bytes/);
      expectThrows(() => encodeIndexedPng(Uint8Array.of(0, 1, 21, 0, 0, 0), 2, 3, VOC_PALETTE.subarray(0, 63)), /index 21 is outside the 21-entry palette/);
      expectThrows(() => encodeIndexedPng(new Uint8Array(0), 0, 3, VOC_PALETTE), /positive integers, got 0x3/);
    });
  });
});
