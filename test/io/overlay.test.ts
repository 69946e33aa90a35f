import { expect } from 'chai';
import pngjs from 'pngjs';
import { type RgbImage, decodeImage } from '../../src/io/image.js';
import { overlayPalette } from '../../src/io/overlay.js';
import { encodeRgbPng } from '../../src/io/png-rgb.js';
import { VOC_PALETTE } from '../../src/model/voc.js';
import { rng, expectThrows } from '../helpers.js';

function randomImage(width: number, height: number): RgbImage {
  const r = rng();
  return { width, height, data: Uint8Array.from({ length: width * height * 3 }, () => Math.floor(r() * 256)) };
}

describe('io: overlay and RGB PNG', () => {
  it('background pixels stay the photo; class pixels are the alpha blend with the palette colour', () => {
    const w = 19;
    const h = 7;
    const img = randomImage(w, h);
    const r = rng();
    const classes = Uint8Array.from({ length: w * h }, () => (r() < 0.4 ? 0 : 1 + Math.floor(r() * 20)));
    classes[1] = 255; // void has a palette colour too
    for (const alpha of [0.5, 0.3]) {
      const out = overlayPalette(img, classes, VOC_PALETTE, alpha);
      expect([out.width, out.height]).to.deep.equal([w, h]);
      for (let i = 0; i < w * h; i++) {
        for (let c = 0; c < 3; c++) {
          const photo = img.data[3 * i + c];
          const want = classes[i] === 0 ? photo : Math.round((1 - alpha) * photo + alpha * VOC_PALETTE[3 * classes[i] + c]);
          expect(out.data[3 * i + c], `pixel ${i} channel ${c} class ${classes[i]} alpha ${alpha}`).to.equal(want);
        }
      }
    }
    // A hand case: person (15) = (192,128,128) over (0,0,255) at alpha 0.5 -> (96,64,192).
    const one = overlayPalette({ width: 1, height: 1, data: Uint8Array.of(0, 0, 255) }, Uint8Array.of(15), VOC_PALETTE);
    expect(Array.from(one.data)).to.deep.equal([96, 64, 192]);
    // The input image is not modified.
    const before = img.data.slice();
    overlayPalette(img, classes, VOC_PALETTE, 1);
    expect(Buffer.from(img.data).equals(Buffer.from(before))).to.equal(true);
  });

  it('rejects mismatched inputs', () => {
    const img = randomImage(4, 3);
    expectThrows(() => overlayPalette(img, new Uint8Array(11), VOC_PALETTE), /overlayPalette: classes has 11 values, the image is 4x3 = 12 pixels/);
    expectThrows(() => overlayPalette(img, new Uint8Array(12), VOC_PALETTE, 1.5), /alpha must be in \[0, 1\], got 1.5/);
    expectThrows(() => overlayPalette(img, new Uint8Array(12).fill(30), VOC_PALETTE.subarray(0, 63)), /class 30 at pixel 0 is outside the 21-entry palette/);
  });

  it('encodeRgbPng round trips through pngjs and decodeImage', async () => {
    const img = randomImage(23, 9);
    const png = encodeRgbPng(img);
    const ref = pngjs.PNG.sync.read(Buffer.from(png));
    expect([ref.width, ref.height]).to.deep.equal([23, 9]);
    let mismatches = 0;
    for (let i = 0; i < 23 * 9; i++) for (let c = 0; c < 3; c++) if (ref.data[4 * i + c] !== img.data[3 * i + c]) mismatches++;
    expect(mismatches).to.equal(0);
    expect(Buffer.from((await decodeImage(png, 'rgb.png')).data).equals(Buffer.from(img.data))).to.equal(true);
    expectThrows(() => encodeRgbPng({ width: 2, height: 2, data: new Uint8Array(11) }), /encodeRgbPng: image data has 11 bytes, expected 2x2x3/);
  });
});
