import { readFileSync } from 'node:fs';
import { expect } from 'chai';
import jpegJs from 'jpeg-js';
import pngjs from 'pngjs';
import { MAX_IMAGE_PIXELS, decodeImage, readImage } from '../../src/io/image.js';
import { crc32 } from '../../src/io/png-chunks.js';
import { encodeIndexedPng } from '../../src/io/png-indexed.js';
import { rng } from '../helpers.js';
import { buildGreyDcJpeg } from './jpeg-builder.js';
import { assemblePng, buildPng, ihdrBytes } from './png-builder.js';

const VOC = '../shared/data/voc-sample';

/** Random samples in [0, 2^bits), fresh each run (seeded by the run seed). */
function randomSamples(n: number, bits: number): number[] {
  const r = rng();
  return Array.from({ length: n }, () => Math.floor(r() * 2 ** bits));
}

/** An image written by pngjs in colour type `colorType` at `bitDepth` from per-pixel samples. */
function pngjsWrite(width: number, height: number, colorType: 0 | 2 | 4 | 6, bitDepth: 8 | 16, samples: number[]): Uint8Array {
  const data = bitDepth === 16 ? Buffer.from(Uint16Array.from(samples).buffer) : Buffer.from(samples);
  const hasAlpha = colorType === 4 || colorType === 6;
  return pngjs.PNG.sync.write({ width, height, data } as pngjs.PNG, { colorType, inputColorType: colorType, inputHasAlpha: hasAlpha, bitDepth });
}

/** The expected RGB: grey replicated, alpha dropped, 16-bit reduced to its high byte. */
function expectedRgb(samples: number[], channels: number, toByte: (v: number) => number): Uint8Array {
  const n = samples.length / channels;
  const out = new Uint8Array(3 * n);
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < 3; c++) out[3 * i + c] = toByte(samples[i * channels + (channels >= 3 ? c : 0)]);
  }
  return out;
}

function expectError(fn: () => unknown, ...patterns: RegExp[]): void {
  let err: Error | undefined;
  try {
    fn();
  } catch (e) {
    err = e as Error;
  }
  expect(err, 'expected an error').to.be.instanceOf(Error);
  for (const p of patterns) expect(err!.message).to.match(p);
}

/** Offset of the first chunk of `type` (its length field). */
function chunkOffset(png: Uint8Array, type: string): number {
  for (let at = 8; at + 8 <= png.length; ) {
    const len = new DataView(png.buffer, png.byteOffset).getUint32(at);
    if (Buffer.from(png.subarray(at + 4, at + 8)).toString('latin1') === type) return at;
    at += 12 + len;
  }
  throw new Error(`no ${type} chunk`);
}

/** Offset where the first scan's entropy-coded data starts. */
function scanStart(jpg: Uint8Array): number {
  for (let i = 2; i + 3 < jpg.length; i++) {
    if (jpg[i] === 0xff && jpg[i + 1] === 0xda) return i + 2 + ((jpg[i + 2] << 8) | jpg[i + 3]);
  }
  throw new Error('no SOS');
}

describe('io: decodeImage / readImage', () => {
  it('loads the VOC sample JPEGs and PNGs with their sizes', () => {
    const a = readImage(`${VOC}/JPEGImages/2007_000033.jpg`);
    expect([a.width, a.height]).to.deep.equal([500, 366]);
    expect(a.data.length).to.equal(500 * 366 * 3);
    const b = readImage(`${VOC}/JPEGImages/2007_000032.jpg`);
    expect([b.width, b.height]).to.deep.equal([500, 281]);
    const c = readImage(`${VOC}/JPEGImages/voc12val_0294.png`);
    expect([c.width, c.height]).to.deep.equal([513, 513]);
    // A decoded photo is not flat: guards against a decoder returning zeros.
    const distinct = new Set(a.data);
    expect(distinct.size).to.be.greaterThan(100);
  });

  it('decodes an RGB PNG to the same pixels as pngjs does', () => {
    const bytes = readFileSync(`${VOC}/JPEGImages/voc12val_0001.png`);
    const ours = decodeImage(bytes, 'voc12val_0001.png');
    const ref = pngjs.PNG.sync.read(bytes);
    const n = ref.width * ref.height;
    const rgb = new Uint8Array(3 * n);
    for (let i = 0; i < n; i++) for (let c = 0; c < 3; c++) rgb[3 * i + c] = ref.data[4 * i + c];
    expect(Buffer.from(ours.data).equals(Buffer.from(rgb))).to.equal(true);
  });

  // Odd sizes so rows are not byte/word aligned.
  const W = 13;
  const H = 7;
  const cases: { name: string; type: 0 | 2 | 4 | 6; channels: number }[] = [
    { name: 'grey', type: 0, channels: 1 },
    { name: 'grey+alpha', type: 4, channels: 2 },
    { name: 'RGB', type: 2, channels: 3 },
    { name: 'RGBA', type: 6, channels: 4 },
  ];
  for (const { name, type, channels } of cases) {
    for (const depth of [8, 16] as const) {
      it(`decodes a pngjs-written ${depth}-bit ${name} PNG`, () => {
        const samples = randomSamples(W * H * channels, depth);
        const img = decodeImage(pngjsWrite(W, H, type, depth, samples), `${name}${depth}.png`);
        expect([img.width, img.height]).to.deep.equal([W, H]);
        const want = expectedRgb(samples, channels, depth === 16 ? (v) => v >> 8 : (v) => v);
        expect(Array.from(img.data)).to.deep.equal(Array.from(want));
      });
    }
  }

  it('decodes a palette PNG to the palette colours', () => {
    const r = rng();
    const palette = Uint8Array.from({ length: 256 * 3 }, () => Math.floor(r() * 256));
    const idx = Uint8Array.from({ length: W * H }, () => Math.floor(r() * 256));
    const img = decodeImage(encodeIndexedPng(idx, W, H, palette), 'palette.png');
    const want = new Uint8Array(3 * W * H);
    for (let i = 0; i < W * H; i++) want.set(palette.subarray(3 * idx[i], 3 * idx[i] + 3), 3 * i);
    expect(Array.from(img.data)).to.deep.equal(Array.from(want));
  });

  for (const depth of [1, 2, 4]) {
    it(`decodes ${depth}-bit grey and ${depth}-bit palette PNGs`, () => {
      const samples = randomSamples(W * H, depth);
      const grey = decodeImage(buildPng({ width: W, height: H, colorType: 0, bitDepth: depth, samples }));
      const scale = 255 / (2 ** depth - 1);
      expect(Array.from(grey.data)).to.deep.equal(Array.from(expectedRgb(samples, 1, (v) => v * scale)));
      const plte = Uint8Array.from(randomSamples(3 * 2 ** depth, 8));
      const pal = decodeImage(buildPng({ width: W, height: H, colorType: 3, bitDepth: depth, samples, plte }));
      const want = new Uint8Array(3 * W * H);
      for (let i = 0; i < W * H; i++) want.set(plte.subarray(3 * samples[i], 3 * samples[i] + 3), 3 * i);
      expect(Array.from(pal.data)).to.deep.equal(Array.from(want));
    });
  }

  it('keeps the colour of tRNS-transparent pixels (alpha is dropped, not composited)', () => {
    const samples = randomSamples(W * H * 3, 8);
    const [r, g, b] = samples; // pixel 0's colour is declared transparent
    const trns = Uint8Array.of(0, r, 0, g, 0, b);
    const img = decodeImage(buildPng({ width: W, height: H, colorType: 2, bitDepth: 8, samples, trns }));
    expect(Array.from(img.data)).to.deep.equal(samples);
  });

  it('decodes JPEGs written by jpeg-js close to the original pixels', () => {
    // Smooth random images (JPEG is lossy; noise would not survive): a random gradient per
    // channel, several odd sizes so partial MCUs and byte-aligned scan ends both occur.
    const r = rng();
    for (let k = 0; k < 8; k++) {
      const w = 9 + Math.floor(r() * 40);
      const h = 9 + Math.floor(r() * 40);
      const coef = Array.from({ length: 6 }, () => r());
      const rgba = new Uint8Array(w * h * 4);
      for (let y = 0; y < h; y++) {
        for (let x = 0; x < w; x++) {
          for (let c = 0; c < 3; c++) rgba[4 * (y * w + x) + c] = Math.round(40 + 85 * (coef[2 * c] * (x / w) + coef[2 * c + 1] * (y / h)));
          rgba[4 * (y * w + x) + 3] = 255;
        }
      }
      const jpg = jpegJs.encode({ width: w, height: h, data: rgba }, 95).data;
      const img = decodeImage(jpg, `gradient${k}.jpg`);
      expect([img.width, img.height]).to.deep.equal([w, h]);
      let maxDiff = 0;
      for (let i = 0; i < w * h; i++) for (let c = 0; c < 3; c++) maxDiff = Math.max(maxDiff, Math.abs(img.data[3 * i + c] - rgba[4 * i + c]));
      // Quality-95 quantisation of a smooth gradient costs a few levels (3 seen over 50 images);
      // a wrong colour transform or upsampling would cost tens.
      expect(maxDiff, `gradient${k} ${w}x${h}: max abs difference to the encoded pixels`).to.be.lessThan(8);
    }
  });

  it('decodes grey (1-component) JPEGs, with and without restart markers', () => {
    // 19x11: a 3x2 grid of blocks, the right and bottom ones partial.
    const w = 19;
    const h = 11;
    const r = rng();
    const levels = Array.from({ length: 6 }, () => Math.floor(r() * 201) - 100);
    for (const restartInterval of [0, 1, 4]) {
      const img = decodeImage(buildGreyDcJpeg(w, h, levels, restartInterval), `grey-ri${restartInterval}.jpg`);
      expect([img.width, img.height]).to.deep.equal([w, h]);
      let mismatches = 0;
      for (let y = 0; y < h; y++) {
        for (let x = 0; x < w; x++) {
          const want = 128 + levels[(y >> 3) * 3 + (x >> 3)];
          for (let c = 0; c < 3; c++) if (img.data[3 * (y * w + x) + c] !== want) mismatches++;
        }
      }
      expect(mismatches, `restart interval ${restartInterval}: samples differing from the block level`).to.equal(0);
    }
  });

  describe('errors', () => {
    const png = () => new Uint8Array(readFileSync(`${VOC}/JPEGImages/voc12val_0001.png`));
    const jpg = () => new Uint8Array(readFileSync(`${VOC}/JPEGImages/2007_000033.jpg`));

    it('corrupt PNG: flipped bytes in the middle of IDAT (CRC mismatch)', () => {
      const b = png();
      const at = chunkOffset(b, 'IDAT');
      const len = new DataView(b.buffer).getUint32(at);
      for (let i = 0; i < 16; i++) b[at + 8 + (len >> 1) + i] ^= 0xff;
      expectError(() => decodeImage(b, 'flipped.png'), /decodeImage\(flipped\.png\)/, /corrupt PNG/, /CRC mismatch in 'IDAT'/);
    });

    it('corrupt PNG: flipped compressed data with a recomputed CRC (zlib error)', () => {
      const b = png();
      const at = chunkOffset(b, 'IDAT');
      const len = new DataView(b.buffer).getUint32(at);
      for (let i = 0; i < 16; i++) b[at + 8 + (len >> 1) + i] ^= 0xff;
      new DataView(b.buffer).setUint32(at + 8 + len, crc32(b.subarray(at + 4, at + 8 + len)));
      expectError(() => decodeImage(b, 'recrc.png'), /decodeImage\(recrc\.png\): corrupt PNG/);
    });

    it('truncated PNG (cut at half)', () => {
      const b = png();
      expectError(() => decodeImage(b.subarray(0, b.length >> 1), 'half.png'), /decodeImage\(half\.png\): truncated PNG/);
    });

    it('truncated JPEG (cut at half)', () => {
      const b = jpg();
      expectError(() => decodeImage(b.subarray(0, b.length >> 1), 'half.jpg'), /decodeImage\(half\.jpg\): truncated JPEG/);
    });

    it('corrupt JPEG: flipped bytes in the middle of the scan', () => {
      // JPEG has no checksum: corruption is caught when it breaks the entropy coding (invalid
      // code, coefficient past 63, marker too early, leftover bytes). A run of 32 flipped bytes
      // does so at every one of these 20 positions spread over the scan; single-byte flips that
      // leave the Huffman structure intact are undetectable by any decoder (libjpeg included).
      const orig = jpg();
      const start = scanStart(orig);
      const span = orig.length - 2 - start - 64;
      for (let k = 0; k < 20; k++) {
        const b = orig.slice();
        const at = start + 16 + Math.floor((span * (k + 0.5)) / 20);
        for (let i = 0; i < 32; i++) b[at + i] ^= 0xff;
        expectError(() => decodeImage(b, `flip${k}.jpg`), new RegExp(`decodeImage\\(flip${k}\\.jpg\\): corrupt JPEG`));
      }
    });

    it('corrupt JPEG: a restart marker out of sequence', () => {
      const b = buildGreyDcJpeg(19, 11, [5, -5, 10, -10, 20, -20], 1);
      const rst1 = b.findIndex((v, i) => v === 0xff && b[i + 1] === 0xd1);
      b[rst1 + 1] = 0xd2;
      expectError(() => decodeImage(b, 'rst.jpg'), /decodeImage\(rst\.jpg\): corrupt JPEG: expected restart marker RST1 at byte \d+ \(MCU 2 of 6\), found 0xFFD2/);
    });

    it('unsupported formats name the magic bytes found', () => {
      const gif = Buffer.from('GIF89a\x01\x00\x01\x00\x00\x00\x00;', 'latin1');
      expectError(() => decodeImage(gif, 'x.gif'), /decodeImage\(x\.gif\): unsupported image format/, /47 49 46 38 39 61/, /'GIF89a/, /GIF/);
      const bmp = Buffer.from('BM\x3a\x00\x00\x00\x00\x00\x00\x00\x36\x00\x00\x00', 'latin1');
      expectError(() => decodeImage(bmp, 'x.bmp'), /unsupported image format/, /42 4d/, /BMP/);
      const r = rng();
      const noise = Uint8Array.from({ length: 64 }, () => 0x20 + Math.floor(r() * 0x50)); // never a PNG/JPEG magic
      expectError(() => decodeImage(noise, 'noise.bin'), /decodeImage\(noise\.bin\): unsupported image format, first bytes [0-9a-f]{2} /);
      expectError(() => decodeImage(new Uint8Array(0), 'empty.png'), /decodeImage\(empty\.png\): empty file/);
    });

    it('zero-size images', () => {
      const idat = new Uint8Array(0);
      const zeroPng = assemblePng(ihdrBytes(0, 5, 8, 2), idat);
      expectError(() => decodeImage(zeroPng, 'zero.png'), /decodeImage\(zero\.png\): zero-size image \(0x5\)/);
      // The JPEG's frame header with its width patched to 0.
      const b = jpg();
      let sof = 2;
      while (!(b[sof] === 0xff && b[sof + 1] === 0xc0)) sof++;
      b[sof + 7] = 0;
      b[sof + 8] = 0;
      expectError(() => decodeImage(b, 'zero.jpg'), /decodeImage\(zero\.jpg\): zero-size image \(0x366\)/);
    });

    it('images over the pixel limit are refused before decoding', () => {
      const big = assemblePng(ihdrBytes(20000, 20000, 8, 2), new Uint8Array(8));
      expectError(() => decodeImage(big, 'big.png'), /decodeImage\(big\.png\): image too large: 20000x20000/, new RegExp(`limit is ${MAX_IMAGE_PIXELS}`));
    });

    it('a missing file names the path', () => {
      expectError(() => readImage('/nonexistent/dir/x.png'), /readImage\(\/nonexistent\/dir\/x\.png\): cannot read file/);
    });
  });
});
