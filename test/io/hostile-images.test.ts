// Hostile images and labels: mutated copies of the real data (VOC and CamVid JPEGs, a VOC PNG,
// WebP/GIF/TIFF re-encodings of a VOC photo, VOC and CamVid label PNGs) through decodeImage and
// readIndexedPng / readLabel. Each mutant must be refused with an error naming the file, or
// decode to a consistent picture (see test/hostile.ts). Truncations are always refused; so is any
// damaged byte of a PNG (CRC-checked). A label that decodes must decode to exactly the original
// labels: never a partial or shifted label map.
import { expect } from 'chai';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { readLabel } from '../../src/data/dataset.js';
import { type RgbImage, decodeImage, readImage } from '../../src/io/image.js';
import { crc32 } from '../../src/util/crc32.js';
import { readIndexedPng } from '../../src/io/png-indexed.js';
import { HOSTILE_SEED, Rand, Tally, hostileValues, readUint, truncationLengths, unclearError, withPatch, writeInt } from '../hostile.js';
import { sharedName, sharedPath } from '../shared.js';
import { expectRejects } from '../helpers.js';

const VOC = sharedPath('data', 'voc-sample');
const CAMVID = sharedPath('data', 'camvid');

function readBytes(path: string): Uint8Array {
  return new Uint8Array(readFileSync(path));
}

/** The chunks of a PNG: where each starts (its length field), its type, data length. */
function pngChunks(png: Uint8Array): Array<{ at: number; type: string; length: number }> {
  const out = [];
  for (let at = 8; at + 12 <= png.length; ) {
    const length = readUint(png, at, 4, true);
    const type = Buffer.from(png.subarray(at + 4, at + 8)).toString('latin1');
    out.push({ at, type, length });
    at += 12 + length;
    if (type === 'IEND') break;
  }
  return out;
}

/** Writes a chunk's CRC for its current type and data. */
function fixCrc(png: Uint8Array, chunk: { at: number; length: number }): void {
  writeInt(png, chunk.at + 8 + chunk.length, 4, BigInt(crc32(png.subarray(chunk.at + 4, chunk.at + 8 + chunk.length))), true);
}

interface Field {
  kind: string;
  at: number;
  bytes: 1 | 2 | 4;
  be: boolean;
}

/** Header fields worth corrupting, per format, and where the compressed body lies. */
function layout(bytes: Uint8Array, format: string): { fields: Field[]; headerEnd: number; body: [number, number] } {
  const fields: Field[] = [];
  if (format === 'jpeg') {
    let p = 2;
    let headerEnd = 2;
    while (p + 4 <= bytes.length && bytes[p] === 0xff) {
      const marker = bytes[p + 1];
      const len = readUint(bytes, p + 2, 2, true);
      fields.push({ kind: 'JPEG marker length', at: p + 2, bytes: 2, be: true });
      if (marker === 0xc0 || marker === 0xc2) {
        fields.push({ kind: 'JPEG frame header', at: p + 4, bytes: 1, be: true }); // precision
        fields.push({ kind: 'JPEG frame header', at: p + 5, bytes: 2, be: true }); // height
        fields.push({ kind: 'JPEG frame header', at: p + 7, bytes: 2, be: true }); // width
        fields.push({ kind: 'JPEG frame header', at: p + 9, bytes: 1, be: true }); // components
        for (let c = 0; c < bytes[p + 9]; c++) fields.push({ kind: 'JPEG frame header', at: p + 10 + 3 * c + 1, bytes: 1, be: true }); // sampling
      }
      if (marker === 0xdb) fields.push({ kind: 'JPEG quantisation table', at: p + 4, bytes: 1, be: true });
      if (marker === 0xc4) fields.push({ kind: 'JPEG Huffman table', at: p + 4 + 1 + (len > 20 ? 3 : 0), bytes: 1, be: true });
      p += 2 + len;
      headerEnd = p;
      if (marker === 0xda) break;
    }
    return { fields, headerEnd, body: [headerEnd, bytes.length - 2] };
  }
  if (format === 'png') {
    const chunks = pngChunks(bytes);
    const ihdr = chunks[0];
    for (const [o, n] of [[0, 4], [4, 4], [8, 1], [9, 1], [10, 1], [11, 1], [12, 1]] as const) fields.push({ kind: 'PNG IHDR field', at: ihdr.at + 8 + o, bytes: n, be: true });
    for (const c of chunks) fields.push({ kind: 'PNG chunk length', at: c.at, bytes: 4, be: true });
    const idat = chunks.filter((c) => c.type === 'IDAT');
    return { fields, headerEnd: idat[0].at, body: [idat[0].at + 8, idat[idat.length - 1].at + 8 + idat[idat.length - 1].length] };
  }
  if (format === 'webp') {
    fields.push({ kind: 'RIFF size', at: 4, bytes: 4, be: false });
    for (let i = 8; i < 16; i++) fields.push({ kind: 'WebP fourcc', at: i, bytes: 1, be: false });
    fields.push({ kind: 'WebP chunk size', at: 16, bytes: 4, be: false });
    for (let i = 20; i < 30; i++) fields.push({ kind: 'WebP frame header', at: i, bytes: 1, be: false });
    return { fields, headerEnd: 30, body: [30, bytes.length] };
  }
  return { fields, headerEnd: Math.min(64, bytes.length), body: [Math.min(64, bytes.length), bytes.length] };
}

const imageConsistent = (size?: [number, number]) => (img: RgbImage): string | null => {
  if (!(img.width >= 1 && img.height >= 1) || img.data.length !== 3 * img.width * img.height) return `decoded to ${img.width}x${img.height} with ${img.data.length} bytes`;
  if (size && (img.width !== size[0] || img.height !== size[1])) return `decoded to ${img.width}x${img.height}, the original is ${size[0]}x${size[1]}`;
  return null;
};

describe('hostile files: images and labels', function () {
  this.timeout(600_000);

  const camvidJpg = readdirSync(`${CAMVID}/images/val`).sort()[0];
  const sources: Array<{ label: string; bytes: () => Promise<Uint8Array>; format: string; truncations: number; mutations: number }> = [
    { label: sharedName(`${VOC}/JPEGImages/2007_000032.jpg`), bytes: async () => readBytes(`${VOC}/JPEGImages/2007_000032.jpg`), format: 'jpeg', truncations: 60, mutations: 40 },
    { label: sharedName(`${CAMVID}/images/val/${camvidJpg}`), bytes: async () => readBytes(`${CAMVID}/images/val/${camvidJpg}`), format: 'jpeg', truncations: 40, mutations: 30 },
    { label: sharedName(`${VOC}/JPEGImages/voc12val_0001.png`), bytes: async () => readBytes(`${VOC}/JPEGImages/voc12val_0001.png`), format: 'png', truncations: 60, mutations: 40 },
    { label: 'WebP (lossy) of 2007_000032.jpg', bytes: async () => new Uint8Array(await sharp(readBytes(`${VOC}/JPEGImages/2007_000032.jpg`)).webp({ quality: 80 }).toBuffer()), format: 'webp', truncations: 60, mutations: 40 },
    { label: 'WebP (lossless) of 2007_000032.jpg', bytes: async () => new Uint8Array(await sharp(readBytes(`${VOC}/JPEGImages/2007_000032.jpg`)).webp({ lossless: true }).toBuffer()), format: 'webp', truncations: 30, mutations: 20 },
    { label: 'GIF of 2007_000032.jpg', bytes: async () => new Uint8Array(await sharp(readBytes(`${VOC}/JPEGImages/2007_000032.jpg`)).gif().toBuffer()), format: 'gif', truncations: 30, mutations: 0 },
    { label: 'TIFF (deflate) of 2007_000032.jpg', bytes: async () => new Uint8Array(await sharp(readBytes(`${VOC}/JPEGImages/2007_000032.jpg`)).tiff({ compression: 'deflate' }).toBuffer()), format: 'tiff', truncations: 30, mutations: 0 },
  ];

  for (const [k, src] of sources.entries()) {
    it(`decodeImage, ${src.label}: truncations, header fields, damaged body bytes`, async () => {
      const orig = await src.bytes();
      const r = new Rand(HOSTILE_SEED + 100 + k);
      const what = `hostile.${src.format}`;
      const name = `decodeImage(${what})`;
      const first = await decodeImage(orig, what);
      const size: [number, number] = [first.width, first.height];
      const tally = new Tally(src.label, 5000, Infinity);
      const work = orig.slice();
      const { fields, headerEnd, body } = layout(orig, src.format);

      // A GIF's last byte is its trailer (';'): giflib decodes without it, to the same pixels.
      const identical = (img: RgbImage) => (img.width === first.width && img.height === first.height && Buffer.from(img.data).equals(Buffer.from(first.data)) ? null : 'pixels differ from the original');
      for (const n of truncationLengths(orig.length, Math.min(headerEnd, 48), src.truncations, r)) {
        const trailer = src.format === 'gif' && n === orig.length - 1;
        await tally.checkAsync(trailer ? 'truncation of the trailer byte' : 'truncation', `to ${n}`, () => decodeImage(work.subarray(0, n), what), { name, mustRefuse: !trailer, consistent: identical });
      }
      if (src.mutations === 0) {
        tally.assert();
        return;
      }
      const byKind = new Map<string, Field[]>();
      for (const f of fields) byKind.set(f.kind, [...(byKind.get(f.kind) ?? []), f]);
      for (const [kind, fs] of byKind) {
        for (const f of r.sample(fs, 6)) {
          const v = readUint(orig, f.at, f.bytes, f.be);
          for (const nv of hostileValues(v, f.bytes, orig.length, r, 2)) {
            const patch = new Uint8Array(f.bytes);
            writeInt(patch, 0, f.bytes, nv, f.be);
            // PNG: the damaged field as is (the CRC catches it) and with its chunk's CRC made right.
            await withPatchAsync(work, f.at, patch, () =>
              tally.checkAsync(kind, `at ${f.at}: ${v} -> ${nv}`, () => decodeImage(work, what), { name, mustRefuse: src.format === 'png', consistent: imageConsistent() }),
            );
            if (src.format === 'png') {
              const fixed = orig.slice();
              fixed.set(patch, f.at);
              const chunk = pngChunks(orig).find((c) => f.at >= c.at + 8 && f.at < c.at + 8 + c.length);
              if (!chunk) continue;
              fixCrc(fixed, chunk);
              await tally.checkAsync(`${kind} (CRC made right)`, `at ${f.at}: ${v} -> ${nv}`, () => decodeImage(fixed, what), { name, consistent: imageConsistent() });
            }
          }
        }
      }
      for (let m = 0; m < src.mutations; m++) {
        const at = headerEnd > 2 ? r.int(headerEnd) : 0;
        const b = orig[at] ^ (1 + r.int(255));
        await withPatchAsync(work, at, Uint8Array.of(b), () =>
          tally.checkAsync('header byte', `at ${at}: ${orig[at]} -> ${b}`, () => decodeImage(work, what), { name, mustRefuse: src.format === 'png', consistent: imageConsistent() }),
        );
      }
      for (let m = 0; m < src.mutations; m++) {
        const at = body[0] + r.int(body[1] - body[0]);
        const b = orig[at] ^ (1 + r.int(255));
        await withPatchAsync(work, at, Uint8Array.of(b), () =>
          tally.checkAsync('body byte', `at ${at}: ${orig[at]} -> ${b}`, () => decodeImage(work, what), { name, mustRefuse: src.format === 'png', consistent: imageConsistent(size) }),
        );
      }
      tally.assert();
    });
  }

  const labels = [
    ...readdirSync(`${VOC}/SegmentationClass`).sort().slice(0, 2).map((f) => `${VOC}/SegmentationClass/${f}`),
    ...readdirSync(`${CAMVID}/labels/val`).sort().slice(0, 2).map((f) => `${CAMVID}/labels/val/${f}`),
  ];
  for (const [k, file] of labels.entries()) {
    it(`readIndexedPng, ${sharedName(file)}: every truncation, every byte damaged, header fields with CRCs made right`, () => {
      const orig = readBytes(file);
      const r = new Rand(HOSTILE_SEED + 200 + k);
      const what = 'hostile-label.png';
      const name = `readIndexedPng(${what})`;
      const original = readIndexedPng(orig, what);
      // A label that decodes must be exactly the original: same size, same class of every pixel.
      const same = (l: typeof original): string | null =>
        l.width === original.width && l.height === original.height && Buffer.from(l.indices).equals(Buffer.from(original.indices)) ? null : 'labels differ from the original';
      const tally = new Tally(file, 1000, 8 * orig.length + 4 * original.width * original.height);
      for (let n = 0; n < orig.length; n++) {
        tally.check('truncation', `to ${n}`, () => readIndexedPng(orig.subarray(0, n), what), { name, mustRefuse: true });
      }
      const work = orig.slice();
      for (let at = 0; at < orig.length; at++) {
        const b = orig[at] ^ (1 + r.int(255));
        withPatch(work, at, Uint8Array.of(b), () => tally.check('damaged byte', `at ${at}: ${orig[at]} -> ${b}`, () => readIndexedPng(work, what), { name, mustRefuse: true }));
      }
      // The same damage with the chunk's CRC recomputed: only the decoder's own checks remain.
      const chunks = pngChunks(orig);
      const ihdr = chunks[0];
      const fields: Field[] = [];
      for (const [o, n] of [[0, 4], [4, 4], [8, 1], [9, 1], [10, 1], [11, 1], [12, 1]] as const) fields.push({ kind: 'IHDR field (CRC made right)', at: ihdr.at + 8 + o, bytes: n, be: true });
      for (const f of fields) {
        const v = readUint(orig, f.at, f.bytes, true);
        for (const nv of hostileValues(v, f.bytes, orig.length, r, 8)) {
          const bytes = orig.slice();
          writeInt(bytes, f.at, f.bytes, nv, true);
          fixCrc(bytes, ihdr);
          tally.check(f.kind, `at ${f.at}: ${v} -> ${nv}`, () => readIndexedPng(bytes, what), { name, consistent: same });
        }
      }
      for (const c of chunks.filter((c) => c.type !== 'IHDR' && c.length > 0)) {
        for (let m = 0; m < (c.type === 'IDAT' ? 150 : 20); m++) {
          const at = c.at + 8 + r.int(c.length);
          const bytes = orig.slice();
          bytes[at] ^= 1 + r.int(255);
          fixCrc(bytes, c);
          tally.check(`${c.type} byte (CRC made right)`, `at ${at}`, () => readIndexedPng(bytes, what), { name, consistent: same });
        }
      }
      tally.assert();
    });
  }

  it('readImage and readLabel name the file for truncated and damaged files', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hostile-img-'));
    try {
      const r = new Rand(HOSTILE_SEED + 300);
      const jpg = readBytes(`${VOC}/JPEGImages/2007_000033.jpg`);
      const label = readBytes(labels[0]);
      const cases: Array<[string, Uint8Array, 'image' | 'label']> = [
        ['cut.jpg', jpg.subarray(0, 1 + r.int(jpg.length - 1)), 'image'],
        ['cut-label.png', label.subarray(0, 1 + r.int(label.length - 1)), 'label'],
        ['iend-cut-label.png', label.subarray(0, label.length - 4), 'label'],
        ['flipped-label.png', (() => { const b = label.slice(); b[40 + r.int(label.length - 60)] ^= 0x20; return b; })(), 'label'],
        ['empty.png', new Uint8Array(0), 'image'],
      ];
      for (const [file, bytes, kind] of cases) {
        const path = join(dir, file);
        writeFileSync(path, bytes);
        const prefix = kind === 'image' ? `decodeImage(${path})` : `readIndexedPng(${path})`;
        const err = await expectRejects(async () => (kind === 'image' ? await readImage(path) : readLabel(path, 21, 255)), prefix, file);
        expect(unclearError(err, prefix), file).to.equal(null);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

async function withPatchAsync<T>(buf: Uint8Array, at: number, bytes: Uint8Array, fn: () => Promise<T>): Promise<T> {
  const saved = Uint8Array.from(buf.subarray(at, at + bytes.length));
  buf.set(bytes, at);
  try {
    return await fn();
  } finally {
    buf.set(saved, at);
  }
}
