import { readFileSync } from 'node:fs';
import { expect } from 'chai';
import sharp from 'sharp';
import pngjs from 'pngjs';
import { MAX_IMAGE_PIXELS, decodeImage, readImage } from '../../src/io/image.js';
import { crc32 } from '../../src/util/crc32.js';
import { encodeIndexedPng } from '../../src/io/png-indexed.js';
import { rng, expectRejects } from '../helpers.js';
import { assemblePng, buildPng, ihdrBytes } from './png-builder.js';
import { sharedPath } from '../shared.js';

const VOC = sharedPath('data', 'voc-sample');

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
  it('loads the VOC sample JPEGs and PNGs with their sizes', async () => {
    const a = await readImage(`${VOC}/JPEGImages/2007_000033.jpg`);
    expect([a.width, a.height]).to.deep.equal([500, 366]);
    expect(a.data.length).to.equal(500 * 366 * 3);
    const b = await readImage(`${VOC}/JPEGImages/2007_000032.jpg`);
    expect([b.width, b.height]).to.deep.equal([500, 281]);
    const c = await readImage(`${VOC}/JPEGImages/voc12val_0294.png`);
    expect([c.width, c.height]).to.deep.equal([513, 513]);
    // A decoded photo is not flat: guards against a decoder returning zeros.
    const distinct = new Set(a.data);
    expect(distinct.size).to.be.greaterThan(100);
  });

  it('decodes an RGB PNG to the same pixels as pngjs does', async () => {
    const bytes = readFileSync(`${VOC}/JPEGImages/voc12val_0001.png`);
    const ours = await decodeImage(bytes, 'voc12val_0001.png');
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
      it(`decodes a pngjs-written ${depth}-bit ${name} PNG`, async () => {
        const samples = randomSamples(W * H * channels, depth);
        const img = await decodeImage(pngjsWrite(W, H, type, depth, samples), `${name}${depth}.png`);
        expect([img.width, img.height]).to.deep.equal([W, H]);
        const want = expectedRgb(samples, channels, depth === 16 ? (v) => v >> 8 : (v) => v);
        expect(Array.from(img.data)).to.deep.equal(Array.from(want));
      });
    }
  }

  it('decodes a palette PNG to the palette colours', async () => {
    const r = rng();
    const palette = Uint8Array.from({ length: 256 * 3 }, () => Math.floor(r() * 256));
    const idx = Uint8Array.from({ length: W * H }, () => Math.floor(r() * 256));
    const img = await decodeImage(encodeIndexedPng(idx, W, H, palette), 'palette.png');
    const want = new Uint8Array(3 * W * H);
    for (let i = 0; i < W * H; i++) want.set(palette.subarray(3 * idx[i], 3 * idx[i] + 3), 3 * i);
    expect(Array.from(img.data)).to.deep.equal(Array.from(want));
  });

  for (const depth of [1, 2, 4]) {
    it(`decodes ${depth}-bit grey and ${depth}-bit palette PNGs`, async () => {
      const samples = randomSamples(W * H, depth);
      const grey = await decodeImage(buildPng({ width: W, height: H, colorType: 0, bitDepth: depth, samples }));
      const scale = 255 / (2 ** depth - 1);
      expect(Array.from(grey.data)).to.deep.equal(Array.from(expectedRgb(samples, 1, (v) => v * scale)));
      const plte = Uint8Array.from(randomSamples(3 * 2 ** depth, 8));
      const pal = await decodeImage(buildPng({ width: W, height: H, colorType: 3, bitDepth: depth, samples, plte }));
      const want = new Uint8Array(3 * W * H);
      for (let i = 0; i < W * H; i++) want.set(plte.subarray(3 * samples[i], 3 * samples[i] + 3), 3 * i);
      expect(Array.from(pal.data)).to.deep.equal(Array.from(want));
    });
  }

  it('keeps the colour of tRNS-transparent pixels (alpha is dropped, not composited)', async () => {
    const samples = randomSamples(W * H * 3, 8);
    const [r, g, b] = samples; // pixel 0's colour is declared transparent
    const trns = Uint8Array.of(0, r, 0, g, 0, b);
    const img = await decodeImage(buildPng({ width: W, height: H, colorType: 2, bitDepth: 8, samples, trns }));
    expect(Array.from(img.data)).to.deep.equal(samples);
  });

  /** A smooth random gradient (JPEG is lossy: noise would not survive), `channels` 1 or 3. */
  function gradient(w: number, h: number, channels: 1 | 3, r: () => number): Uint8Array {
    const coef = Array.from({ length: 6 }, () => r());
    const px = new Uint8Array(w * h * channels);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        for (let c = 0; c < channels; c++) px[channels * (y * w + x) + c] = Math.round(40 + 85 * (coef[2 * c] * (x / w) + coef[2 * c + 1] * (y / h)));
      }
    }
    return px;
  }

  it('decodes colour and grey JPEGs close to the pixels they were made from, at odd sizes', async () => {
    const r = rng();
    for (let k = 0; k < 6; k++) {
      const w = 9 + Math.floor(r() * 40);
      const h = 9 + Math.floor(r() * 40);
      const channels = k % 2 === 0 ? 3 : 1;
      const px = gradient(w, h, channels, r);
      const jpg = await sharp(px, { raw: { width: w, height: h, channels } }).jpeg({ quality: 95 }).toBuffer();
      const img = await decodeImage(jpg, `gradient${k}.jpg`);
      expect([img.width, img.height]).to.deep.equal([w, h]);
      let maxDiff = 0;
      for (let i = 0; i < w * h; i++) for (let c = 0; c < 3; c++) maxDiff = Math.max(maxDiff, Math.abs(img.data[3 * i + c] - px[channels * i + (channels === 3 ? c : 0)]));
      // Quality-95 quantisation of a smooth gradient costs a few levels; a wrong colour
      // transform, channel order or grey expansion would cost tens.
      expect(maxDiff, `gradient${k} ${w}x${h}x${channels}: max abs difference`).to.be.lessThan(8);
    }
  });

  it('decodes lossless WebP and TIFF to exactly their pixels', async () => {
    const [w, h] = [W, H];
    const px = Uint8Array.from(randomSamples(w * h * 3, 8));
    const raw = { raw: { width: w, height: h, channels: 3 as const } };
    for (const [name, encoded] of [
      ['webp', await sharp(px, raw).webp({ lossless: true }).toBuffer()],
      ['tiff', await sharp(px, raw).tiff({ compression: 'lzw' }).toBuffer()],
    ] as const) {
      const img = await decodeImage(encoded, `random.${name}`);
      expect([img.width, img.height], name).to.deep.equal([w, h]);
      expect(Buffer.from(img.data).equals(Buffer.from(px)), `${name} pixels`).to.equal(true);
    }
  });

  it('applies EXIF orientation: an orientation-6 photo comes out turned as viewers show it', async () => {
    // 40x24 stored: left half red, right half blue. Orientation 6 means "rotate 90 degrees
    // clockwise to display": 24x40, red on top, blue at the bottom.
    const [w, h] = [40, 24];
    const px = new Uint8Array(w * h * 3);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) px.set(x < w / 2 ? [230, 20, 20] : [20, 20, 230], 3 * (y * w + x));
    const jpg = await sharp(px, { raw: { width: w, height: h, channels: 3 } }).jpeg({ quality: 95 }).withMetadata({ orientation: 6 }).toBuffer();
    expect((await sharp(jpg).metadata()).orientation, 'the test file carries orientation 6').to.equal(6);
    const img = await decodeImage(jpg, 'rotated.jpg');
    expect([img.width, img.height]).to.deep.equal([h, w]);
    const at = (x: number, y: number) => Array.from(img.data.subarray(3 * (y * img.width + x), 3 * (y * img.width + x) + 3));
    expect(at(12, 5)[0], 'top is red').to.be.greaterThan(180);
    expect(at(12, 34)[2], 'bottom is blue').to.be.greaterThan(180);
  });
  describe('errors', () => {
    const png = () => new Uint8Array(readFileSync(`${VOC}/JPEGImages/voc12val_0001.png`));
    const jpg = () => new Uint8Array(readFileSync(`${VOC}/JPEGImages/2007_000033.jpg`));

    it('corrupt PNG: flipped bytes in the middle of IDAT (CRC mismatch)', async () => {
      const b = png();
      const at = chunkOffset(b, 'IDAT');
      const len = new DataView(b.buffer).getUint32(at);
      for (let i = 0; i < 16; i++) b[at + 8 + (len >> 1) + i] ^= 0xff;
      await expectRejects(() => decodeImage(b, 'flipped.png'), /^decodeImage\(flipped\.png\): corrupt PNG: CRC mismatch in 'IDAT' chunk at byte \d+$/);
    });

    it('corrupt PNG: flipped compressed data with a recomputed CRC (zlib error)', async () => {
      const b = png();
      const at = chunkOffset(b, 'IDAT');
      const len = new DataView(b.buffer).getUint32(at);
      for (let i = 0; i < 16; i++) b[at + 8 + (len >> 1) + i] ^= 0xff;
      new DataView(b.buffer).setUint32(at + 8 + len, crc32(b.subarray(at + 4, at + 8 + len)));
      await expectRejects(() => decodeImage(b, 'recrc.png'), /^decodeImage\(recrc\.png\): corrupt or truncated png: /);
    });

    it('truncated PNG (cut at half)', async () => {
      const b = png();
      await expectRejects(() => decodeImage(b.subarray(0, b.length >> 1), 'half.png'), /^decodeImage\(half\.png\): truncated PNG: chunk 'IDAT' at byte \d+ needs \d+ bytes/);
    });

    it('truncated PNG (cut inside IEND, which libpng alone lets through) and a bad IHDR CRC', async () => {
      const b = png();
      await expectRejects(() => decodeImage(b.subarray(0, b.length - 2), 'iend.png'), /^decodeImage\(iend\.png\): truncated PNG: chunk 'IEND' at byte \d+ needs 12 bytes, only 10 left/);
      b[30] ^= 0x01; // IHDR's CRC
      await expectRejects(() => decodeImage(b, 'ihdr.png'), /^decodeImage\(ihdr\.png\): corrupt PNG: CRC mismatch in 'IHDR' chunk at byte 8/);
    });

    it('truncated JPEG (cut at half)', async () => {
      const b = jpg();
      await expectRejects(() => decodeImage(b.subarray(0, b.length >> 1), 'half.jpg'), /^decodeImage\(half\.jpg\): corrupt or truncated jpeg: .*premature end/);
    });

    it('corrupt JPEG: damage that libjpeg reports is refused (JPEG has no checksum)', async () => {
      // 32 flipped bytes at 20 places in the scan. libjpeg reports broken entropy coding only as
      // warnings, which fail a JPEG here; damage that keeps the coding valid cannot be seen by
      // any decoder. Measured: 8 of these 20 are reported. Every one either fails, naming the
      // file, or decodes to a picture of the right size.
      const orig = jpg();
      const start = scanStart(orig);
      const span = orig.length - 2 - start - 64;
      let refused = 0;
      for (let k = 0; k < 20; k++) {
        const b = orig.slice();
        const at = start + 16 + Math.floor((span * (k + 0.5)) / 20);
        for (let i = 0; i < 32; i++) b[at + i] ^= 0xff;
        try {
          const img = await decodeImage(b, `flip${k}.jpg`);
          expect([img.width, img.height]).to.deep.equal([500, 366]);
        } catch (e) {
          expect((e as Error).message).to.match(new RegExp(`^decodeImage\\(flip${k}\\.jpg\\): corrupt or truncated jpeg: `));
          refused++;
        }
      }
      expect(refused, 'flipped-byte files refused').to.be.at.least(5);
    });

    it('truncated WebP (cut at half)', async () => {
      const webp = await sharp(jpg()).webp({ quality: 80 }).toBuffer();
      expect((await expectRejects(() => decodeImage(webp.subarray(0, webp.length >> 1), 'half.webp'), /^decodeImage\(half\.webp\): /)).message).to.match(/truncated|corrupt|unsupported/i);
    });

    it('unsupported formats name the magic bytes found', async () => {
      // A GIF is decoded; a broken one is called a corrupt GIF.
      const gif = Buffer.from('GIF89a\x01\x00\x01\x00\x00\x00\x00;', 'latin1');
      await expectRejects(() => decodeImage(gif, 'x.gif'), /^decodeImage\(x\.gif\): corrupt GIF header: /);
      const bmp = Buffer.from('BM\x3a\x00\x00\x00\x00\x00\x00\x00\x36\x00\x00\x00', 'latin1');
      const bmpError = (await expectRejects(() => decodeImage(bmp, 'x.bmp'), /unsupported image format/)).message;
      for (const p of [/42 4d/, /BMP/, /PNG, JPEG, WebP, TIFF, GIF and AVIF are supported/]) expect(bmpError).to.match(p);
      const r = rng();
      const noise = Uint8Array.from({ length: 64 }, () => 0x20 + Math.floor(r() * 0x50)); // never a known magic
      await expectRejects(() => decodeImage(noise, 'noise.bin'), /decodeImage\(noise\.bin\): unsupported image format, first bytes [0-9a-f]{2} /);
      await expectRejects(() => decodeImage(new Uint8Array(0), 'empty.png'), /decodeImage\(empty\.png\): empty file/);
    });

    it('zero-size images', async () => {
      const idat = new Uint8Array(0);
      const zeroPng = assemblePng(ihdrBytes(0, 5, 8, 2), idat);
      await expectRejects(() => decodeImage(zeroPng, 'zero.png'), /^decodeImage\(zero\.png\): corrupt PNG header: /);
      // The JPEG's frame header with its width patched to 0.
      const b = jpg();
      let sof = 2;
      while (!(b[sof] === 0xff && b[sof + 1] === 0xc0)) sof++;
      b[sof + 7] = 0;
      b[sof + 8] = 0;
      await expectRejects(() => decodeImage(b, 'zero.jpg'), /^decodeImage\(zero\.jpg\): corrupt JPEG header: .*Empty JPEG image/);
    });

    it('images over the pixel limit are refused before decoding', async () => {
      const big = assemblePng(ihdrBytes(20000, 20000, 8, 2), new Uint8Array(8));
      expect((await expectRejects(() => decodeImage(big, 'big.png'), /decodeImage\(big\.png\): image too large: 20000x20000/)).message).to.match(new RegExp(`limit is ${MAX_IMAGE_PIXELS}`));
    });

    it('a missing file names the path', async () => {
      await expectRejects(() => readImage('/nonexistent/dir/x.png'), /readImage\(\/nonexistent\/dir\/x\.png\): cannot read file/);
    });
  });
});
