import { expect } from 'chai';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readPth } from '../../src/model/weights/import/pth.js';
import type { HostTensor, TensorMap } from '../../src/model/weights/import/tensor-map.js';
import { readZip } from '../../src/model/weights/import/zip.js';
import { rng, expectThrows } from '../helpers.js';
import { P, ascii, buildZip, concat } from './builders.js';
import { sharedPath } from '../shared.js';

const TV = sharedPath('fixtures', 'torchvision');
const RESNET = `${TV}/deeplabv3_resnet50_random_fp16.pth`;
const MOBILENET = `${TV}/deeplabv3_mobilenet_v3_large_random.pth`;

/** Independent half decoder (bit fields + Math.pow) to check the table-driven one. */
function halfToNumber(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 31;
  const f = h & 1023;
  if (e === 0) return s * Math.pow(2, -14) * (f / 1024);
  if (e === 31) return f ? NaN : s * Infinity;
  return s * Math.pow(2, e - 15) * (1 + f / 1024);
}

/** Pickle ops for `_rebuild_tensor_v2(('storage', torch.<type>, key, 'cpu', numel), offset, size, stride, False, OrderedDict()[, {}])`. */
function tensorOps(type: string, key: string, numel: number, offset: number, size: number[], stride: number[], withMetadata = false): number[][] {
  return [
    P.global('torch._utils', '_rebuild_tensor_v2'), P.mark,
    P.mark, P.str('storage'), P.global('torch', type), P.str(key), P.str('cpu'), P.int(numel), P.tuple, P.binPersId,
    P.int(offset), P.mark, ...size.map(P.int), P.tuple, P.mark, ...stride.map(P.int), P.tuple,
    P.newFalse, P.global('collections', 'OrderedDict'), P.emptyTuple, P.reduce,
    ...(withMetadata ? [P.emptyDict] : []),
    P.tuple, P.reduce,
  ];
}

function checkpoint(pickle: Uint8Array, storages: Record<string, Uint8Array>, prefix = 'my_model'): Uint8Array {
  return buildZip(
    [
      { name: `${prefix}/data.pkl`, data: pickle, deflate: true },
      { name: `${prefix}/byteorder`, data: ascii('little') },
      ...Object.entries(storages).map(([k, data]) => ({ name: `${prefix}/data/${k}`, data, pad: 40 })),
      { name: `${prefix}/version`, data: ascii('3\n') },
    ],
    { zip64: true },
  );
}

function bytesOf(a: ArrayBufferView): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

function shapeOf(m: TensorMap, k: string): number[] | undefined {
  return m.get(k)?.shape;
}

describe('import: zip', () => {
  const r = rng();
  const big = Uint8Array.from({ length: 5000 }, () => Math.floor(r() * 256));
  const text = ascii('hello hello hello hello '.repeat(40));
  const entries = [
    { name: 'a/stored.bin', data: big, pad: 13 },
    { name: 'a/dir/', data: new Uint8Array(0) },
    { name: 'a/deflated.txt', data: text, deflate: true },
    { name: 'a/empty', data: new Uint8Array(0) },
  ];

  for (const zip64 of [false, true]) {
    it(`reads stored and deflated entries${zip64 ? ' through zip64 records' : ''}`, () => {
      const archive = buildZip(entries, { zip64 });
      const z = readZip(archive);
      expect([...z.keys()]).to.deep.equal(['a/stored.bin', 'a/deflated.txt', 'a/empty']);
      expect(z.get('a/stored.bin')).to.deep.equal(big);
      expect(z.get('a/stored.bin')!.buffer).to.equal(archive.buffer); // a view, no copy
      expect(new TextDecoder().decode(z.get('a/deflated.txt'))).to.equal(new TextDecoder().decode(text));
      expect(z.get('a/empty')!.length).to.equal(0);
    });
  }

  it('rejects non-zips, truncation, corruption and unknown methods', () => {
    const archive = buildZip(entries);
    const r2 = rng();
    expectThrows(() => readZip(Uint8Array.from({ length: 4096 }, () => Math.floor(r2() * 256))), /not a zip archive/);
    expectThrows(() => readZip(new Uint8Array(3)), /not a zip archive/);
    expectThrows(() => readZip(archive.subarray(0, archive.length - 30)), /truncated zip archive/);
    const corrupt = archive.slice();
    corrupt[100] ^= 0xff; // inside a/stored.bin's data
    expectThrows(() => readZip(corrupt), /CRC mismatch for entry a\/stored\.bin/);
    const method = buildZip([{ name: 'x', data: ascii('abc') }]);
    const view = new DataView(method.buffer);
    view.setUint16(method.length - 22 - (46 + 1) + 10, 12, true); // central header's method -> bzip2
    expectThrows(() => readZip(method), /x is compressed with method 12 in the central directory, 0 in its local header/);
    view.setUint16(8, 12, true); // and the local header's
    expectThrows(() => readZip(method), /unsupported compression method 12 for entry x/);
  });
});

describe('import: pth', () => {
  it('reads the fp16 ResNet-50 DeepLabv3 checkpoint', function () {
    const t0 = performance.now();
    const m = readPth(RESNET);
    this.test!.title += ` (${(performance.now() - t0).toFixed(0)} ms)`;
    expect(m.size).to.equal(370);
    expect(shapeOf(m, 'backbone.conv1.weight')).to.deep.equal([64, 3, 7, 7]);
    expect(shapeOf(m, 'backbone.layer1.0.conv1.weight')).to.deep.equal([64, 64, 1, 1]);
    expect(shapeOf(m, 'backbone.layer1.0.downsample.0.weight')).to.deep.equal([256, 64, 1, 1]);
    expect(shapeOf(m, 'backbone.layer4.2.conv3.weight')).to.deep.equal([2048, 512, 1, 1]);
    expect(shapeOf(m, 'classifier.0.convs.1.0.weight')).to.deep.equal([256, 2048, 3, 3]);
    expect(shapeOf(m, 'classifier.4.weight')).to.deep.equal([21, 256, 1, 1]);
    expect(shapeOf(m, 'aux_classifier.0.weight')).to.deep.equal([256, 1024, 3, 3]);
    expect(shapeOf(m, 'aux_classifier.4.weight')).to.deep.equal([21, 256, 1, 1]);
    const nbt = m.get('backbone.bn1.num_batches_tracked')!;
    expect(nbt.sourceDType).to.equal('i64');
    expect(nbt.shape).to.deep.equal([]);
    expect(nbt.data.length).to.equal(1);
    for (const [k, t] of m) {
      if (k.endsWith('num_batches_tracked')) continue;
      expect(t.sourceDType, k).to.equal('f16');
      if (k.endsWith('running_var')) expect(t.data.every((v) => v > 0), `${k} > 0`).to.equal(true);
    }
    // Cross-check the decoder against an independent one on the first storage's raw bytes.
    const raw = readZip(readFileSync(RESNET)).get('deeplabv3_resnet50_random_fp16/data/0')!;
    const halves = new Uint16Array(new Uint8Array(raw).buffer); // aligned copy
    const conv1 = m.get('backbone.conv1.weight')!.data;
    expect(halves.length).to.equal(conv1.length);
    for (let i = 0; i < conv1.length; i++) if (conv1[i] !== halfToNumber(halves[i])) expect.fail(`conv1[${i}]`);
  });

  it('reads the f32 MobileNetV3 DeepLabv3 checkpoint (values on the bf16 grid)', function () {
    const t0 = performance.now();
    const m = readPth(MOBILENET);
    this.test!.title += ` (${(performance.now() - t0).toFixed(0)} ms)`;
    expect(m.size).to.equal(360);
    expect(shapeOf(m, 'backbone.0.0.weight')).to.deep.equal([16, 3, 3, 3]);
    expect(shapeOf(m, 'classifier.0.convs.0.0.weight')).to.deep.equal([256, 960, 1, 1]);
    expect(shapeOf(m, 'classifier.4.weight')).to.deep.equal([21, 256, 1, 1]);
    expect(shapeOf(m, 'aux_classifier.0.weight')).to.deep.equal([10, 40, 3, 3]);
    for (const [k, t] of m) {
      if (t.sourceDType === 'i64') continue;
      expect(t.sourceDType, k).to.equal('f32');
      // Weights were rounded to bfloat16 precision: the low 16 bits of every f32 are zero,
      // which a misaligned or mis-typed decode would not preserve.
      const bits = new Uint32Array(t.data.buffer, t.data.byteOffset, t.data.length);
      if (!bits.every((b) => (b & 0xffff) === 0)) expect.fail(`${k} is not on the bf16 grid`);
    }
  });

  it('decodes f16, bf16, i64 and strided views from a hand-built checkpoint', () => {
    const halfBits = [0x3c00, 0xc000, 0x3555, 0x0001, 0x03ff, 0x7bff, 0x8000, 0xfc00];
    const halfValues = [1, -2, 0.333251953125, 2 ** -24, 1023 * 2 ** -24, 65504, -0, -Infinity];
    const bfBits = [0x3f80, 0x4049, 0xc2f7, 0x0001, 0x7f80];
    const bfValues = [1, 3.140625, -123.5, 2 ** -133, Infinity];
    const r = rng();
    const f32 = Float32Array.from({ length: 14 }, () => r() * 2 - 1);
    const longs = new BigInt64Array([-5n, 1n << 40n]);

    const pickle = concat([
      P.proto(2), P.global('collections', 'OrderedDict'), P.emptyTuple, P.reduce, P.mark,
      P.str('half'), ...tensorOps('HalfStorage', '0', 8, 0, [2, 4], [4, 1], true),
      P.str('half_tail'), ...tensorOps('HalfStorage', '0', 8, 5, [3], [1]),
      P.str('bf'), P.global('torch._utils', '_rebuild_parameter'), P.mark,
      ...tensorOps('BFloat16Storage', '1', 5, 0, [5], [1]), P.newTrue, P.global('collections', 'OrderedDict'),
      P.emptyTuple, P.reduce, P.tuple, P.reduce,
      P.str('transposed'), ...tensorOps('FloatStorage', '2', 14, 1, [3, 4], [1, 3]),
      P.str('expanded'), ...tensorOps('FloatStorage', '2', 14, 2, [2, 3], [0, 1]),
      P.str('permuted'), ...tensorOps('FloatStorage', '2', 14, 0, [2, 3, 2], [1, 4, 2]),
      P.str('count'), ...tensorOps('LongStorage', '3', 2, 1, [], []),
      P.str('longs'), ...tensorOps('LongStorage', '3', 2, 0, [2], [1]),
      P.str('note'), P.str('not a tensor'),
      P.setItems,
      P.emptyDict, P.str('_metadata'), P.emptyDict, P.setItem, P.build,
      P.stop,
    ]);
    const ckpt = checkpoint(pickle, {
      '0': bytesOf(new Uint16Array(halfBits)),
      '1': bytesOf(new Uint16Array(bfBits)),
      '2': bytesOf(f32),
      '3': bytesOf(longs),
    });
    const m = readPth(ckpt);
    const get = (k: string): HostTensor => m.get(k)!;
    expect([...m.keys()]).to.deep.equal(['half', 'half_tail', 'bf', 'transposed', 'expanded', 'permuted', 'count', 'longs']);
    expect(get('half').shape).to.deep.equal([2, 4]);
    expect(get('half').sourceDType).to.equal('f16');
    expect([...get('half').data]).to.deep.equal(halfValues);
    expect(Object.is(get('half').data[6], -0)).to.equal(true);
    expect([...get('half_tail').data]).to.deep.equal(halfValues.slice(5));
    expect(get('bf').sourceDType).to.equal('bf16');
    expect([...get('bf').data]).to.deep.equal(bfValues);

    const expectView = (k: string, offset: number, size: number[], stride: number[]): void => {
      const want: number[] = [];
      const walk = (d: number, at: number): void => {
        if (d === size.length) {
          want.push(f32[at]);
          return;
        }
        for (let i = 0; i < size[d]; i++) walk(d + 1, at + i * stride[d]);
      };
      walk(0, offset);
      expect(get(k).shape, k).to.deep.equal(size);
      expect([...get(k).data], k).to.deep.equal(want);
    };
    expectView('transposed', 1, [3, 4], [1, 3]);
    expectView('expanded', 2, [2, 3], [0, 1]);
    expectView('permuted', 0, [2, 3, 2], [1, 4, 2]);

    expect(get('count').shape).to.deep.equal([]);
    expect([...get('count').data]).to.deep.equal([2 ** 40]);
    expect(get('longs').sourceDType).to.equal('i64');
    expect([...get('longs').data]).to.deep.equal([-5, 2 ** 40]);
  });

  describe('corrupt and unsupported checkpoints', () => {
    const one = (type: string, numel: number, size: number[], stride: number[], offset = 0): Uint8Array =>
      concat([P.proto(2), P.emptyDict, P.str('w'), ...tensorOps(type, '0', numel, offset, size, stride), P.setItem, P.stop]);

    it('names the problem', () => {
      const real = readFileSync(MOBILENET);
      expectThrows(() => readPth(real.subarray(0, 1 << 20)), /^pth: truncated zip archive/);
      const r = rng();
      expectThrows(() => readPth(Uint8Array.from({ length: 10000 }, () => Math.floor(r() * 256))), /not a zip archive/);
      const noPkl = buildZip([{ name: 'm/data/0', data: new Uint8Array(8) }, { name: 'm/version', data: ascii('3') }]);
      expectThrows(() => readPth(noPkl), /not a PyTorch checkpoint \(no data\.pkl\)/);
      const legacyMagic = P.long1([0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19]);
      // A legacy (torch < 1.6) file that stops after its magic number.
      expectThrows(() => readPth(concat([P.proto(2), legacyMagic, P.stop])), /^pth: truncated legacy checkpoint: it ends before its protocol version/);
      const f4 = bytesOf(new Float32Array(6));
      expectThrows(() => readPth(checkpoint(one('FloatStorage', 6, [2, 3], [3, 1]), {})), /storage my_model\/data\/0 is missing/);
      expectThrows(() => readPth(checkpoint(one('ShortStorage', 6, [6], [1]), { '0': f4 })), /unsupported storage type torch\.ShortStorage/);
      expectThrows(() => readPth(checkpoint(one('FloatStorage', 6, [2, 3], [3, 1], 1), { '0': f4 })), /reaches element 6 of storage 0 which has 6/);
      expectThrows(() => readPth(checkpoint(one('FloatStorage', 7, [7], [1]), { '0': f4 })), /storage 0 is truncated/);
      const evil = concat([P.proto(2), P.global('builtins', 'eval'), P.str('1'), P.tuple1, P.reduce, P.stop]);
      expectThrows(() => readPth(checkpoint(evil, {})), /my_model\/data\.pkl: unsupported global builtins\.eval/);
      expectThrows(() => readPth(checkpoint(concat([P.proto(2), P.emptyList, P.stop]), {})), /not a state_dict/);
    });

    it('names the file when given a path', () => {
      const dir = mkdtempSync(join(tmpdir(), 'pth-test-'));
      try {
        const r = rng();
        const path = join(dir, 'random.pth');
        writeFileSync(path, Uint8Array.from({ length: 2048 }, () => Math.floor(r() * 256)));
        expectThrows(() => readPth(path), `${path}: not a zip archive`);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
});
