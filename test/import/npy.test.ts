import { expect } from 'chai';
import { parseNpy, readNpy, readNpyDir } from '../../src/model/weights/import/npy.js';
import { rng, expectThrows } from '../helpers.js';
import { buildNpy, concat } from './builders.js';
import { sharedPath } from '../shared.js';

const WEIGHTS = sharedPath('weights', 'tf-deeplabv3-mnv2-pascal-trainval-513');
const TV = sharedPath('fixtures', 'torchvision');
const TFL = sharedPath('fixtures', 'tflite');

function minMax(a: Float32Array): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of a) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return [lo, hi];
}

describe('import: npy', () => {
  it('loads every tensor of the TF DeepLab MobileNetV2 checkpoint (110 files, OHWI convs)', () => {
    const m = readNpyDir(WEIGHTS);
    expect(m.size).to.equal(110);
    expect(m.get('MobilenetV2_Conv_Conv2D')!.shape).to.deep.equal([32, 3, 3, 3]);
    expect(m.get('logits_semantic_Conv2D')!.shape).to.deep.equal([21, 1, 1, 256]);
    expect(m.get('logits_semantic_biases')!.shape).to.deep.equal([21]);
    expect(m.has('aspp0_Conv2D') && m.has('image_pooling_Conv2D') && m.has('concat_projection_Conv2D')).to.equal(true);
    let params = 0;
    for (const [name, t] of m) {
      expect(t.sourceDType, name).to.equal('f32');
      expect(t.data.length, name).to.equal(t.shape.reduce((a, b) => a * b, 1));
      expect(t.data.every(Number.isFinite), `${name} finite`).to.equal(true);
      params += t.data.length;
    }
    expect(params).to.equal(2097013); // "about 2.1M parameters"; counted independently with numpy
  });

  it('loads the torchvision and TFLite fixtures with their documented shapes', () => {
    const cases: Array<[string, number[]]> = [
      [`${TV}/input_97x129.npy`, [1, 3, 97, 129]],
      [`${TV}/deeplabv3_resnet50_os8_out.npy`, [1, 21, 97, 129]],
      [`${TV}/deeplabv3_resnet50_os8_aux.npy`, [1, 21, 97, 129]],
      [`${TV}/deeplabv3_resnet50_os8_layer4.npy`, [1, 2048, 13, 17]],
      [`${TV}/deeplabv3_resnet50_os16_rates6-12-18_out.npy`, [1, 21, 97, 129]],
      [`${TV}/deeplabv3_mobilenet_v3_large_out.npy`, [1, 21, 97, 129]],
      [`${TV}/deeplabv3_mobilenet_v3_large_aux.npy`, [1, 21, 97, 129]],
      [`${TFL}/2007_000033_input257.npy`, [1, 257, 257, 3]],
      [`${TFL}/2007_000033_logits257.npy`, [1, 257, 257, 21]],
    ];
    for (const [path, shape] of cases) {
      const t = readNpy(path);
      expect(t.shape, path).to.deep.equal(shape);
      expect(t.data.length, path).to.equal(shape.reduce((a, b) => a * b, 1));
    }
    // Value ranges that follow from how the fixtures were made (normalisation, ReLU, x/127.5-1).
    const [lo, hi] = minMax(readNpy(`${TV}/input_97x129.npy`).data);
    expect(lo).to.be.at.least(-0.485 / 0.229 - 1e-5);
    expect(hi).to.be.at.most((1 - 0.406) / 0.225 + 1e-5);
    expect(minMax(readNpy(`${TV}/deeplabv3_resnet50_os8_layer4.npy`).data)[0]).to.be.at.least(0);
    const [tlo, thi] = minMax(readNpy(`${TFL}/2007_000033_input257.npy`).data);
    expect(tlo).to.be.at.least(-1);
    expect(thi).to.be.at.most(1);
  });

  it('decodes a v1 header <f4 array exactly (fresh random values)', () => {
    const ref = new Float32Array(2 * 3 * 5);
    const r = rng();
    for (let i = 0; i < ref.length; i++) ref[i] = (r() - 0.5) * 1000;
    const t = parseNpy(buildNpy("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3, 5), }", new Uint8Array(ref.buffer)));
    expect(t.shape).to.deep.equal([2, 3, 5]);
    expect(t.sourceDType).to.equal('f32');
    expect([...t.data]).to.deep.equal([...ref]);
  });

  it('decodes <f2 exactly (normal, subnormal, max, -0, inf)', () => {
    const bits = [0x3c00, 0xc000, 0x3555, 0x0001, 0x03ff, 0x7bff, 0x8000, 0x7c00, 0xfc00];
    const want = [1, -2, 0.333251953125, 2 ** -24, 1023 * 2 ** -24, 65504, -0, Infinity, -Infinity];
    const t = parseNpy(buildNpy("{'descr': '<f2', 'fortran_order': False, 'shape': (9,), }", new Uint8Array(new Uint16Array(bits).buffer)));
    expect(t.sourceDType).to.equal('f16');
    expect([...t.data]).to.deep.equal(want);
    expect(Object.is(t.data[6], -0)).to.equal(true);
  });

  it('decodes a v2 header <f8 (rounded to f32) and a scalar shape ()', () => {
    const r = rng();
    const ref = Float64Array.from({ length: 7 }, () => (r() - 0.5) * 1e6);
    const t = parseNpy(buildNpy("{'descr': '<f8', 'fortran_order': False, 'shape': (7,), }", new Uint8Array(ref.buffer), 2));
    expect(t.sourceDType).to.equal('f64');
    expect([...t.data]).to.deep.equal([...ref].map(Math.fround));
    const s = parseNpy(buildNpy("{'descr': '<f8', 'fortran_order': False, 'shape': (), }", new Uint8Array(new Float64Array([2.5]).buffer)));
    expect(s.shape).to.deep.equal([]);
    expect([...s.data]).to.deep.equal([2.5]);
  });

  it('decodes <i8, <i4 and |u1 (v3 header)', () => {
    const i64 = new BigInt64Array([-5n, 0n, 1n << 40n, -(1n << 33n)]);
    const a = parseNpy(buildNpy("{'descr': '<i8', 'fortran_order': False, 'shape': (2, 2), }", new Uint8Array(i64.buffer)));
    expect(a.sourceDType).to.equal('i64');
    expect([...a.data]).to.deep.equal([-5, 0, 2 ** 40, -(2 ** 33)]);
    const b = parseNpy(buildNpy("{'descr': '<i4', 'fortran_order': False, 'shape': (3,), }", new Uint8Array(new Int32Array([-7, 70000, 3]).buffer), 3));
    expect([...b.data]).to.deep.equal([-7, 70000, 3]);
    const c = parseNpy(buildNpy("{'descr': '|u1', 'fortran_order': False, 'shape': (3,), }", Uint8Array.from([0, 128, 255])));
    expect(c.sourceDType).to.equal('u8');
    expect([...c.data]).to.deep.equal([0, 128, 255]);
  });

  it('rejects bad input with clear errors', () => {
    const hdr = (descr: string, extra = "'fortran_order': False") => `{'descr': '${descr}', ${extra}, 'shape': (2,), }`;
    const data = new Uint8Array(16);
    expectThrows(() => parseNpy(concat([[0x93, 0x4e, 0x55, 0x4d, 0x50, 0x5a, 1, 0], new Uint8Array(60)]), 'x.npy'), /x\.npy: not an npy file \(bad magic/);
    expectThrows(() => parseNpy(buildNpy(hdr('>f4'), data)), /unsupported npy dtype '>f4'/);
    expectThrows(() => parseNpy(buildNpy(hdr('<c8'), data)), /unsupported npy dtype '<c8'/);
    expectThrows(() => parseNpy(buildNpy(hdr('<f4', "'fortran_order': True"), data)), /fortran_order/);
    expectThrows(() => parseNpy(buildNpy(hdr('<f8'), new Uint8Array(15))), /truncated npy data .*needs 16 bytes, file has 15/);
    expectThrows(() => parseNpy(buildNpy(hdr('<f4'), data).subarray(0, 40)), /truncated npy header/);
    expectThrows(() => readNpy(`${WEIGHTS}/no_such_file.npy`), /no_such_file/);
    expectThrows(() => readNpyDir(`${WEIGHTS}/nope`), /is not a directory/);
  });
});
