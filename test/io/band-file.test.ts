// Multi-band TIFFs read as bands through sharp (src/io/band-file.ts): every sample as written, 8-bit
// and 16-bit, any sample count, no colour conversion; and the bands' normalisation rule.
import { expect } from 'chai';
import { decodeBands } from '../../src/io/band-file.js';
import { checkBandArray, cropBands, flipBands, normalizeBandArray } from '../../src/io/band-image.js';
import { expectRejects, expectThrows } from '../helpers.js';
import { encodeBandTiff } from './tiff-writer.js';

describe('band files: multi-band TIFF through sharp', () => {
  for (const [channels, bits] of [[1, 16], [2, 8], [4, 8], [5, 16], [7, 8]] as const) {
    it(`reads a ${channels}-sample ${bits}-bit TIFF as ${channels} bands, every sample as written`, async () => {
      const [w, h] = [7, 5];
      const samples = Array.from({ length: w * h * channels }, (_, i) => (i * 7919) % (bits === 8 ? 256 : 65536));
      const bands = await decodeBands(encodeBandTiff(w, h, channels, samples, bits), 'probe.tif');
      expect([bands.width, bands.height, bands.channels, bands.layout]).to.deep.equal([w, h, channels, 'interleaved']);
      expect(bands.data).to.be.instanceOf(bits === 8 ? Uint8Array : Uint16Array);
      expect(Array.from(bands.data)).to.deep.equal(samples);
    });
  }

  it('refuses bytes that are no image, naming the source', async () => {
    await expectRejects(decodeBands(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]), 'junk.tif'), /decodeBands\(junk\.tif\): not an image/);
    await expectRejects(decodeBands(new Uint8Array(0), 'empty.tif'), /empty file/);
  });
});

describe('band arrays: checks and the normalisation rule', () => {
  const base = { width: 2, height: 1, channels: 2, layout: 'interleaved' as const };

  it('8-bit bands are x / 255 then (x - mean) / std; 16-bit and float ones are taken as they are; planar equals interleaved', () => {
    const u8 = normalizeBandArray({ ...base, data: Uint8Array.of(0, 255, 51, 102) }, [0.5, 0.25], [0.5, 0.25]);
    expect(Array.from(u8.normalized)).to.deep.equal([-1, 3, -0.6, 0.6].map(Math.fround));
    const u16 = normalizeBandArray({ ...base, data: Uint16Array.of(1000, 3000, 1200, 2000) }, [1100, 2500], [100, 500]);
    expect(Array.from(u16.normalized)).to.deep.equal([-1, 1, 1, -1]);
    const planar = normalizeBandArray({ ...base, layout: 'planar', data: Float32Array.of(1000, 1200, 3000, 2000) }, [1100, 2500], [100, 500]);
    expect(Array.from(planar.normalized)).to.deep.equal([-1, 1, 1, -1]);
  });

  it('crops and mirrors keep each pixel\'s bands together', () => {
    const img = { width: 3, height: 1, channels: 2, normalized: Float32Array.of(1, 2, 3, 4, 5, 6) };
    expect(Array.from(flipBands(img).normalized)).to.deep.equal([5, 6, 3, 4, 1, 2]);
    expect(Array.from(cropBands(img, 1, 0, 2, 1).normalized)).to.deep.equal([3, 4, 5, 6]);
  });

  it('refuses a missing layout, a wrong length, an unsupported type and non-finite floats, naming each', () => {
    const check = (x: object) => () => checkBandArray(x, 'segment');
    expectThrows(check({ ...base, layout: undefined, data: new Uint8Array(4) }), /layout 'interleaved' .* or 'planar'/);
    expectThrows(check({ ...base, data: new Uint8Array(5) }), /5 values, expected 2x1x2 = 4/);
    expectThrows(check({ ...base, data: new Int16Array(4) }), /Uint8Array, Uint16Array or Float32Array, got Int16Array/);
    expectThrows(check({ ...base, data: Float32Array.of(0, NaN, 0, 0) }), /NaN at index 1/);
    expectThrows(check({ ...base, channels: 0, data: new Uint8Array(0) }), /channels, a positive whole number/);
  });
});
