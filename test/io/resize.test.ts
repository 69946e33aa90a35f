import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { resizeBands } from '../../src/io/resize-bands.js';
import { type RgbImage, readImage } from '../../src/io/image.js';
import { IMAGENET_MEAN, IMAGENET_STD, normalizeImagenet, normalizeToMinusOneOne, normalizeToUnit, resizeRgb, resizeRgbPil } from '../../src/io/resize-cpu.js';
import { INPUT_NORMALIZATIONS, INPUT_NORMALIZATION_NAMES } from '../../src/io/input-normalization.js';
import { normalizeFusedF32, normalizeHalfFused, normalizeRescaleF32 } from '../../src/io/hub-input.js';
import { normalizeMeanStd255 } from '../../src/io/mmseg-input.js';
import { readNpy } from '../../src/model/weights/import/npy.js';
import { rng, expectThrows } from '../helpers.js';
import { sharedPath } from '../shared.js';

const VOC = sharedPath('data', 'voc-sample', 'JPEGImages');

/** A little-endian float32 .npy file: its shape and data. */
function readNpyF32(path: string): { shape: number[]; data: Float32Array } {
  const b = readFileSync(path);
  const headerLen = b.readUInt16LE(8);
  const header = b.subarray(10, 10 + headerLen).toString('latin1');
  expect(header).to.include("'descr': '<f4'");
  expect(header).to.include("'fortran_order': False");
  const shape = header.match(/'shape': \(([^)]*)\)/)![1].split(',').filter((s) => s.trim()).map(Number);
  const start = 10 + headerLen;
  return { shape, data: new Float32Array(b.buffer.slice(b.byteOffset + start, b.byteOffset + b.length)) };
}

/** Per-channel values of a single-channel-looking image: every pixel grey (r = g = b). */
function grey(width: number, height: number, values: number[]): RgbImage {
  const data = new Uint8Array(width * height * 3);
  values.forEach((v, i) => data.fill(v, 3 * i, 3 * i + 3));
  return { width, height, data };
}

function channel0(img: RgbImage): number[] {
  return Array.from({ length: img.width * img.height }, (_, i) => img.data[3 * i]);
}

interface Agreement {
  maxAbs: number;
  exactFraction: number;
  floatExactFraction: number;
}

/** Compares our resize+normalise with a TFLite fixture input (x/127.5 - 1 of PIL's resize). */
async function compareWithFixture(image: string, fixture: string): Promise<Agreement> {
  const ref = readNpyF32(sharedPath('fixtures', 'tflite', `${fixture}_input257.npy`));
  expect(ref.shape).to.deep.equal([1, 257, 257, 3]);
  const ours = resizeRgbPil(await readImage(`${VOC}/${image}`), 257, 257);
  const norm = normalizeToMinusOneOne(ours);
  let maxAbs = 0;
  let exact = 0;
  let floatExact = 0;
  for (let i = 0; i < ref.data.length; i++) {
    const u8 = Math.round((ref.data[i] + 1) * 127.5); // the fixture's uint8 pixel
    const d = Math.abs(u8 - ours.data[i]);
    maxAbs = Math.max(maxAbs, d);
    if (d === 0) exact++;
    if (norm[i] === ref.data[i]) floatExact++;
  }
  return { maxAbs, exactFraction: exact / ref.data.length, floatExactFraction: floatExact / ref.data.length };
}

describe('io: PIL-exact bilinear resize and input normalisation', () => {
  it('reproduces the TFLite fixture input for the PNG image exactly (uint8 and float32 bits)', async () => {
    const a = await compareWithFixture('voc12val_0294.png', 'voc12val_0294');
    expect(a.maxAbs, 'max abs uint8 difference').to.equal(0);
    expect(a.floatExactFraction, 'fraction of bit-identical float32 inputs').to.equal(1);
  });

  it('reproduces the TFLite fixture input for the JPEG image exactly: sharp decodes as PIL does', async () => {
    // The fixture decoded the JPEG with libjpeg through PIL; sharp's decoder gives the same
    // pixels (our own jpeg-js path before it was within 3 levels, 89.9 % identical).
    const a = await compareWithFixture('2007_000033.jpg', '2007_000033');
    expect(a.maxAbs, 'max abs uint8 difference').to.equal(0);
    expect(a.floatExactFraction, 'fraction of bit-identical float32 inputs').to.equal(1);
  });

  it('reproduces the torchvision fixture input (PIL resize to 129x97, ImageNet normalisation)', async () => {
    const ref = readNpyF32(sharedPath('fixtures', 'torchvision', 'input_97x129.npy'));
    expect(ref.shape).to.deep.equal([1, 3, 97, 129]);
    const [H, W] = [97, 129];
    const img = resizeRgbPil(await readImage(`${VOC}/2007_000033.jpg`), W, H);
    const ours = normalizeImagenet(img);
    let maxAbs = 0;
    let exact = 0;
    for (let c = 0; c < 3; c++) {
      for (let i = 0; i < H * W; i++) {
        const r = ref.data[c * H * W + i]; // NCHW
        const u8 = Math.round((r * IMAGENET_STD[c] + IMAGENET_MEAN[c]) * 255);
        maxAbs = Math.max(maxAbs, Math.abs(u8 - img.data[3 * i + c]));
        if (ours[3 * i + c] === r) exact++;
      }
    }
    // Same JPEG decoder difference as above (measured: max 2 levels, 89.8% bit-identical).
    expect(maxAbs, 'max abs uint8 difference').to.be.at.most(3);
    expect(exact / (3 * H * W), 'fraction of bit-identical float32 inputs').to.be.at.least(0.89);
  });

  it('upscale 2x2 -> 3x3 by hand: edges copy, middles average with rounding between passes', () => {
    // Pillow's windows for 2 -> 3: output 0 and 2 see only input 0 and 1 respectively (weight 1),
    // output 1 sees both with weight 1/2; fixed-point rounding is half-up. Horizontal first:
    // rows [1, 2] -> [1, 2, 2] (1.5 rounds up) and [2, 3] -> [2, 3, 3]; then vertically the
    // middle row is [2, 3, 3] (1.5 -> 2, 2.5 -> 3, 2.5 -> 3). A one-step bilinear would give the
    // centre (1+2+2+3)/4 = 2, not 3: the intermediate rounding is part of PIL's result.
    const out = resizeRgbPil(grey(2, 2, [1, 2, 2, 3]), 3, 3);
    expect([out.width, out.height]).to.deep.equal([3, 3]);
    expect(channel0(out)).to.deep.equal([1, 2, 2, 2, 3, 3, 2, 3, 3]);
    expect(Array.from(out.data.subarray(0, 3))).to.deep.equal([1, 1, 1]);
  });

  it('downscale 4 -> 2 by hand: the triangle filter widens (antialiasing)', () => {
    // Scale 2: support 2, output 0 centred at 1 covers inputs 0..2 with weights 3/7, 3/7, 1/7;
    // output 1 centred at 3 covers inputs 1..3 with 1/7, 3/7, 3/7. [0, 70, 140, 210] gives
    // (0*3 + 70*3 + 140)/7 = 50 and (70 + 140*3 + 210*3)/7 = 160 (plain sampling would give 35, 175).
    const out = resizeRgbPil(grey(4, 1, [0, 70, 140, 210]), 2, 1);
    expect(channel0(out)).to.deep.equal([50, 160]);
    const col = resizeRgbPil(grey(1, 4, [0, 70, 140, 210]), 1, 2);
    expect(channel0(col)).to.deep.equal([50, 160]);
  });

  it("torch's int16 fixed point on a downscale: transformers' bicubic 128x96 -> 64x64 to the bit (weights under 1/2 take over 15 fraction bits)", () => {
    // test/fixtures/hub-onnx/dpt: the DPT processor's pixel values (its fast, torch backend) of a 128x96 photo.
    const dir = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'test', 'fixtures', 'hub-onnx', 'dpt');
    const photo = readNpy(join(dir, 'image_96x128_uint8.npy'));
    const ref = readNpyF32(join(dir, 'pixel_values_96x128.npy'));
    const ours = normalizeHalfFused(resizeRgb({ width: 128, height: 96, data: Uint8Array.from(photo.data) }, 64, 64, { filter: 'bicubic', fixedPoint: 'torch' }));
    let differ = 0;
    for (let c = 0; c < 3; c++) for (let i = 0; i < 64 * 64; i++) if (!Object.is(ours[i * 3 + c], ref.data[c * 64 * 64 + i])) differ++;
    expect(differ, 'values whose bits differ from the processor\'s').to.equal(0);
  });

  it("bands resize as Pillow resizes float ('F') images: bit-exact on upscales, antialiased downscales and skipped passes, each band on its own", () => {
    // scripts/fixtures/pil-float-resize: Pillow's BILINEAR on mode 'F', three images a case as the bands of one.
    const path = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'test', 'fixtures', 'pil-float-resize', 'cases.json');
    const { cases } = JSON.parse(readFileSync(path, 'utf8')) as { cases: { width: number; height: number; outWidth: number; outHeight: number; input: number[]; output: number[] }[] };
    expect(cases).to.have.length(5);
    for (const c of cases) {
      const out = resizeBands({ width: c.width, height: c.height, channels: 3, normalized: Float32Array.from(c.input) }, c.outWidth, c.outHeight);
      expect([out.width, out.height, out.channels]).to.deep.equal([c.outWidth, c.outHeight, 3]);
      const differ = Array.from(out.normalized).filter((v, i) => v !== Math.fround(c.output[i])).length;
      expect(differ, `${c.width}x${c.height} -> ${c.outWidth}x${c.outHeight}: values unlike Pillow's`).to.equal(0);
    }
    // Without the 8-bit resize's rounding between passes: 2x2 -> 3x3's centre is (1 + 2 + 2 + 3) / 4.
    expect(Array.from(resizeBands({ width: 2, height: 2, channels: 1, normalized: Float32Array.of(1, 2, 2, 3) }, 3, 3).normalized)).to.deep.equal([1, 1.5, 2, 1.5, 2, 2.5, 2, 2.5, 3]);
    expectThrows(() => resizeBands({ width: 2, height: 2, channels: 1, normalized: new Float32Array(4) }, 0, 3), /resizeBands: output size must be positive integers, got 0x3/);
  });

  it('identity size returns the same pixels (a copy)', () => {
    const r = rng();
    const img: RgbImage = { width: 17, height: 11, data: Uint8Array.from({ length: 17 * 11 * 3 }, () => Math.floor(r() * 256)) };
    const out = resizeRgbPil(img, 17, 11);
    expect(Buffer.from(out.data).equals(Buffer.from(img.data))).to.equal(true);
    expect(out.data).to.not.equal(img.data);
    // Only the height changes: no horizontal pass, and output row 0 (whose window holds input
    // row 0 alone when upscaling 11 -> 23) is input row 0 exactly.
    const tall = resizeRgbPil(img, 17, 23);
    expect(Array.from(tall.data.subarray(0, 17 * 3))).to.deep.equal(Array.from(img.data.subarray(0, 17 * 3)));
  });

  it('a constant image stays constant at any size (weights sum to one after rounding)', () => {
    const r = rng();
    for (let k = 0; k < 5; k++) {
      const v = Math.floor(r() * 256);
      const w = 1 + Math.floor(r() * 60);
      const h = 1 + Math.floor(r() * 60);
      const ow = 1 + Math.floor(r() * 60);
      const oh = 1 + Math.floor(r() * 60);
      const out = resizeRgbPil({ width: w, height: h, data: new Uint8Array(w * h * 3).fill(v) }, ow, oh);
      expect(new Set(out.data), `${w}x${h} -> ${ow}x${oh} of ${v}`).to.deep.equal(new Set([v]));
    }
  });

  it('normalisations: values by hand and NHWC layout', () => {
    const img: RgbImage = { width: 2, height: 1, data: Uint8Array.of(0, 255, 51, 127, 128, 255) };
    // float32 arithmetic as NumPy does it (each step rounded): 127 -> f32(127/127.5) - 1 is
    // -0.0039215684 (not the -0.0039215689 of double arithmetic), as the fixtures contain.
    const f = Math.fround;
    expect(Array.from(normalizeToMinusOneOne(img))).to.deep.equal([-1, 1, f(f(51 / 127.5) - 1), -0.003921568393707275, 0.003921627998352051, 1]);
    const n = normalizeImagenet(img);
    const want = [0, 255, 51, 127, 128, 255].map((x, i) => (x / 255 - IMAGENET_MEAN[i % 3]) / IMAGENET_STD[i % 3]);
    for (let i = 0; i < 6; i++) expect(n[i]).to.be.closeTo(want[i], 1e-6);
  });

  it("every normalisation record gives its function's float32 results bit for bit (looked up by byte value and channel)", () => {
    // Every byte value in every channel, twice (a table made once serves later calls), in an odd-sized image.
    const data = Uint8Array.from({ length: 3 * 257 * 2 }, (_, i) => (i * 7 + (i >> 3)) % 256);
    const img: RgbImage = { width: 257, height: 2, data };
    const direct: Record<string, (img: RgbImage) => Float32Array> = {
      imagenet: normalizeImagenet,
      imagenet_255: normalizeMeanStd255,
      minus_one_one: normalizeToMinusOneOne,
      unit: normalizeToUnit,
      unit_f32: normalizeRescaleF32,
      minus_one_one_f32: normalizeHalfFused,
      imagenet_f32: normalizeFusedF32(IMAGENET_MEAN, IMAGENET_STD),
    };
    expect(Object.keys(direct).sort()).to.deep.equal([...INPUT_NORMALIZATION_NAMES].sort());
    for (const name of INPUT_NORMALIZATION_NAMES) {
      for (let round = 0; round < 2; round++) {
        const got = INPUT_NORMALIZATIONS[name].normalize(img);
        const want = direct[name](img);
        expect(got.length, name).to.equal(want.length);
        const differ = got.findIndex((v, i) => !Object.is(v, want[i]));
        expect(differ, `${name}: first element that differs`).to.equal(-1);
      }
    }
    expectThrows(() => INPUT_NORMALIZATIONS.imagenet.normalize({ width: 1, height: 1, data: new Uint8Array(4) }), /normalizeImagenet: image data has 4 bytes/);
  });

  it('rejects bad sizes with clear errors', () => {
    const img = grey(2, 2, [1, 2, 3, 4]);
    expectThrows(() => resizeRgbPil(img, 0, 3), /resizeRgbPil: output size must be positive integers, got 0x3/);
    expectThrows(() => resizeRgbPil(img, 2.5, 3), /resizeRgbPil: output size/);
    expectThrows(() => resizeRgbPil({ width: 3, height: 2, data: new Uint8Array(12) }, 2, 2), /image data has 12 bytes, expected 3x2x3 = 18/);
    expectThrows(() => normalizeImagenet({ width: 1, height: 1, data: new Uint8Array(4) }), /normalizeImagenet: image data has 4 bytes/);
  });
});
