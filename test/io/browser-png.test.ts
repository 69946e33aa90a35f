// The browser bundle's zlib inflate (fflate, with zlib's output bound and checksum) and colour-PNG
// reader (src/browser/inflate.ts and png-rgba.ts, which stand in for node:zlib and pngjs there),
// run here in Node against those two:
// every compression level and strategy zlib has, every PNG filter and colour type, the label
// files of the shared data, and broken streams refused.
import { expect } from 'chai';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { constants, deflateSync, inflateSync } from 'node:zlib';
import { PNG } from 'pngjs';
import { adler32, inflateZlib } from '../../src/browser/inflate.js';
import { decodePngRgba } from '../../src/browser/png-rgba.js';
import { joinIdat, readPngChunks } from '../../src/io/png-chunks.js';
import { rng, expectThrows } from '../helpers.js';
import { buildPng } from './png-builder.js';
import { sharedPath } from '../shared.js';

const LABEL_DIRS = [sharedPath('data', 'voc-sample', 'SegmentationClass'), sharedPath('data', 'camvid', 'labels', 'val')];

/** A few label PNGs of the shared data (palette and grey). */
function labelFiles(): string[] {
  return LABEL_DIRS.flatMap((d) => readdirSync(d).sort().slice(0, 4).map((f) => join(d, f)));
}

/**
 * A damaged stream refused, or inflated to the bytes zlib gives it (a damage Adler-32 cannot see,
 * or one that leaves the output as it was, passes zlib's checks too). fflate is laxer than zlib
 * in one way: it takes a Huffman code set zlib calls invalid (an incomplete distance code, say)
 * where no symbol decoded needs the missing codes; then the output must be the original bytes
 * (the Adler-32 check passed on them), never other bytes: 'lenient'.
 */
function refusedOrAsZlib(bad: Uint8Array, original: Uint8Array): 'refused' | 'same' | 'other' | 'lenient' {
  let out: Uint8Array;
  try {
    out = inflateZlib(bad, 10_000);
  } catch {
    return 'refused';
  }
  let theirs: Buffer;
  try {
    theirs = inflateSync(bad);
  } catch (e) {
    expect(Buffer.from(out).equals(original), `zlib refuses a damaged stream (${(e as Error).message}) that inflated to other bytes`).to.equal(true);
    return 'lenient';
  }
  expect(Buffer.from(out).equals(theirs), 'the damaged stream inflates as zlib inflates it').to.equal(true);
  return Buffer.from(out).equals(original) ? 'same' : 'other';
}

describe('io: the browser bundle\'s inflate and colour-PNG reader, against node:zlib and pngjs', () => {
  it('inflates what zlib deflates: every level and strategy, empty to 200 KB, stored, fixed and dynamic blocks', () => {
    const r = rng();
    const random = Uint8Array.from({ length: 200_000 }, () => Math.floor(r() * 256));
    const text = new TextEncoder().encode('the quick brown fox jumps over the lazy dog; '.repeat(3000));
    const runs = Uint8Array.from({ length: 150_000 }, (_, i) => Math.floor(i / 700) % 5);
    const small = Uint8Array.from({ length: 300 }, () => Math.floor(r() * 4));
    const inputs = { empty: new Uint8Array(0), one: Uint8Array.of(7), small, random, text, runs };
    let streams = 0;
    for (const [name, data] of Object.entries(inputs)) {
      for (const level of [0, 1, 6, 9]) {
        for (const strategy of [constants.Z_DEFAULT_STRATEGY, constants.Z_FILTERED, constants.Z_HUFFMAN_ONLY, constants.Z_RLE, constants.Z_FIXED]) {
          const z = deflateSync(data, { level, strategy });
          const out = inflateZlib(z, data.length);
          expect(Buffer.from(out).equals(Buffer.from(data)), `${name}, level ${level}, strategy ${strategy}`).to.equal(true);
          streams++;
        }
      }
    }
    // The label PNGs' image data, as their writers compressed it.
    for (const path of labelFiles()) {
      const idat = joinIdat(readPngChunks(readFileSync(path), path), path);
      expect(Buffer.from(inflateZlib(idat, 10_000_000)).equals(inflateSync(idat)), path).to.equal(true);
      streams++;
    }
    expect(adler32(new TextEncoder().encode('Wikipedia'))).to.equal(0x11e60398); // the worked example of Adler-32's Wikipedia article
    console.log(`      (${streams} streams inflated as zlib inflates them)`);
  });

  it('refuses broken streams: every truncation, damaged bits (unless zlib takes them too), a bad header, too much output', () => {
    const r = rng();
    const data = Uint8Array.from({ length: 3000 }, (_, i) => (i % 97 < 40 ? 1 : Math.floor(r() * 8)));
    const z = deflateSync(data, { level: 9 });
    for (let cut = 0; cut < z.length; cut++) expectThrows(() => inflateZlib(z.subarray(0, cut), 10_000), '', `cut at ${cut} of ${z.length}`);
    const outcomes = { refused: 0, same: 0, other: 0, lenient: 0 };
    for (let at = 0; at < z.length; at++) {
      const bad = Uint8Array.from(z);
      bad[at] ^= 1 << (at % 8);
      outcomes[refusedOrAsZlib(bad, data)]++;
    }
    console.log(
      `      (${z.length} single-bit damages: ${outcomes.refused} refused; ${outcomes.same + outcomes.other} inflated as zlib inflates them, ${outcomes.same} to the original bytes; ${outcomes.lenient} refused by zlib alone, inflated to the original bytes)`,
    );
    expect(outcomes.lenient, 'damages only zlib refuses').to.be.at.most(0.01 * z.length);
    expect(outcomes.refused).to.be.greaterThan(0.95 * z.length);
    expectThrows(() => inflateZlib(Uint8Array.of(0x78, 0x9d, 1, 2), 10), /incorrect header check/);
    expectThrows(() => inflateZlib(z, data.length - 1), /inflates to more than 2999 bytes/);
    expect(inflateZlib(z, data.length)).to.have.length(3000);
    const wrongSum = Uint8Array.from(z);
    wrongSum[wrongSum.length - 1] ^= 0xff;
    expectThrows(() => inflateZlib(wrongSum, 10_000), /Adler-32 mismatch/);
  });

  it('decodes PNGs to RGBA as pngjs does: grey, grey + alpha, RGB, RGBA, palette; every filter type', () => {
    const r = rng();
    const width = 13;
    const height = 7;
    const rgba = Buffer.from(Array.from({ length: width * height * 4 }, (_, i) => (i % 4 === 3 ? 128 + Math.floor(r() * 128) : Math.floor(r() * 256))));
    let files = 0;
    for (const colorType of [0, 2, 4, 6]) {
      for (const filterType of [0, 1, 2, 3, 4, -1]) {
        const png = new PNG({ width, height });
        png.data = rgba;
        const bytes = PNG.sync.write(png, { colorType, filterType } as never);
        expect(Buffer.from(decodePngRgba(bytes).data).equals(PNG.sync.read(bytes).data), `colour type ${colorType}, filter ${filterType}`).to.equal(true);
        files++;
      }
    }
    const palette = buildPng({ width: 3, height: 2, colorType: 3, bitDepth: 8, samples: [0, 1, 2, 2, 1, 0], plte: Uint8Array.of(10, 20, 30, 40, 50, 60, 70, 80, 90) });
    expect([...decodePngRgba(palette).data]).to.deep.equal([10, 20, 30, 255, 40, 50, 60, 255, 70, 80, 90, 255, 70, 80, 90, 255, 40, 50, 60, 255, 10, 20, 30, 255]);
    for (const path of labelFiles()) {
      const bytes = readFileSync(path);
      const mine = decodePngRgba(bytes);
      const theirs = PNG.sync.read(bytes);
      expect([mine.width, mine.height]).to.deep.equal([theirs.width, theirs.height]);
      expect(Buffer.from(mine.data).equals(theirs.data), path).to.equal(true);
      files++;
    }
    console.log(`      (${files} PNGs decoded as pngjs decodes them)`);
  });

  it('refuses the PNGs masks are not, saying what they are', () => {
    const deep = buildPng({ width: 2, height: 1, colorType: 2, bitDepth: 16, samples: [1, 2, 3, 4, 5, 6] });
    expectThrows(() => decodePngRgba(deep), /^bit depth 16 \(colour type 2\) is not read in the browser; masks are 8-bit$/);
    const noPalette = buildPng({ width: 2, height: 1, colorType: 3, bitDepth: 8, samples: [0, 1] });
    expectThrows(() => decodePngRgba(noPalette), /palette image without a PLTE chunk/);
    const beyond = buildPng({ width: 2, height: 1, colorType: 3, bitDepth: 8, samples: [0, 5], plte: Uint8Array.of(1, 2, 3) });
    expectThrows(() => decodePngRgba(beyond), /pixel \(1, 0\) is palette entry 5 of 1/);
    expectThrows(() => decodePngRgba(new TextEncoder().encode('not a png')), /not a PNG file/);
  });
});
