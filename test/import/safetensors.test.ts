import { expect } from 'chai';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readSafetensors, writeSafetensors } from '../../src/model/weights/import/safetensors.js';
import { sha256File } from '../../src/util/sha256.js';
import type { TensorMap } from '../../src/model/weights/import/tensor-map.js';
import { randomArray, expectThrows } from '../helpers.js';
import { ascii, concat } from './builders.js';

/** A safetensors file from a header object and a data section, byte for byte. */
function rawFile(header: object, data: Uint8Array): Uint8Array {
  const h = ascii(JSON.stringify(header));
  const len = new Uint8Array(8);
  new DataView(len.buffer).setBigUint64(0, BigInt(h.length), true);
  return concat([len, h, data]);
}

describe('import: safetensors', () => {
  let dir = '';
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'safetensors-test-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('round-trips tensors and metadata (fresh random values, odd shapes, scalar, empty)', async () => {
    const tensors: TensorMap = new Map([
      ['backbone.conv.weight', { shape: [7, 3, 3, 5], data: randomArray(7 * 3 * 3 * 5, -3, 3), sourceDType: 'f32' as const }],
      ['head.bias', { shape: [13], data: randomArray(13), sourceDType: 'f32' as const }],
      ['scalar', { shape: [], data: randomArray(1), sourceDType: 'f32' as const }],
      ['empty', { shape: [0, 4], data: new Float32Array(0), sourceDType: 'f32' as const }],
    ]);
    const metadata = { format: 'deeplab-webgpu', note: 'unicode ✓ "quoted"' };
    const path = join(dir, 'model.safetensors');
    writeSafetensors(path, tensors, metadata);
    expect(readdirSync(dir)).to.deep.equal(['model.safetensors']); // no temp file left behind
    const bytes = readFileSync(path);
    const headerLen = Number(bytes.readBigUInt64LE(0));
    expect((8 + headerLen) % 8).to.equal(0); // data section aligned
    for (const source of [path, new Uint8Array(bytes)]) {
      const back = readSafetensors(source);
      expect(back.metadata).to.deep.equal(metadata);
      expect([...back.tensors.keys()]).to.deep.equal([...tensors.keys()]);
      for (const [k, t] of tensors) {
        const got = back.tensors.get(k)!;
        expect(got.shape, k).to.deep.equal(t.shape);
        expect(got.sourceDType, k).to.equal('f32');
        expect([...got.data], k).to.deep.equal([...t.data]);
      }
    }
    // Rewriting replaces the file atomically.
    const before = await sha256File(path);
    writeSafetensors(path, new Map([['x', { shape: [2], data: randomArray(2), sourceDType: 'f32' as const }]]));
    expect(await sha256File(path)).to.not.equal(before);
    expect([...readSafetensors(path).tensors.keys()]).to.deep.equal(['x']);
    expect(readdirSync(dir)).to.deep.equal(['model.safetensors']);
  });

  it('reads other dtypes (F16, BF16, I64) from files written elsewhere', () => {
    const f16 = new Uint16Array([0x3c00, 0xc500]); // 1, -5
    const bf16 = new Uint16Array([0x4049]); // 3.140625
    const i64 = new BigInt64Array([-3n, 1n << 35n]);
    const data = concat([new Uint8Array(f16.buffer), new Uint8Array(bf16.buffer), new Uint8Array(i64.buffer)]);
    const file = rawFile(
      {
        h: { dtype: 'F16', shape: [2], data_offsets: [0, 4] },
        b: { dtype: 'BF16', shape: [1, 1], data_offsets: [4, 6] },
        n: { dtype: 'I64', shape: [2], data_offsets: [6, 22] },
      },
      data,
    );
    const { tensors, metadata } = readSafetensors(file);
    expect(metadata).to.deep.equal({});
    expect([...tensors.get('h')!.data]).to.deep.equal([1, -5]);
    expect(tensors.get('h')!.sourceDType).to.equal('f16');
    expect([...tensors.get('b')!.data]).to.deep.equal([3.140625]);
    expect(tensors.get('b')!.shape).to.deep.equal([1, 1]);
    expect([...tensors.get('n')!.data]).to.deep.equal([-3, 2 ** 35]);
  });

  it('rejects truncated files, bad headers and out-of-range offsets', () => {
    const path = join(dir, 'm.safetensors');
    writeSafetensors(path, new Map([['w', { shape: [4, 4], data: randomArray(16), sourceDType: 'f32' as const }]]));
    const good = readFileSync(path);
    expectThrows(() => readSafetensors(good.subarray(0, 5)), /truncated safetensors file/);
    expectThrows(() => readSafetensors(good.subarray(0, 20)), /header length \d+ is beyond the file \(20 bytes\)/);
    expectThrows(() => readSafetensors(good.subarray(0, good.length - 4)), /tensor w data range \[0, 64\] is out of bounds \(data section is 60 bytes\)/);
    const cut = join(dir, 'cut.safetensors');
    writeFileSync(cut, good.subarray(0, 30));
    expectThrows(() => readSafetensors(cut), `${cut}: safetensors header length`);

    const data = new Uint8Array(16);
    expectThrows(() => readSafetensors(rawFile({ w: { dtype: 'F32', shape: [4], data_offsets: [8, 24] } }, data)), /data range \[8, 24\] is out of bounds/);
    expectThrows(() => readSafetensors(rawFile({ w: { dtype: 'F32', shape: [4], data_offsets: [12, 4] } }, data)), /out of bounds/);
    expectThrows(() => readSafetensors(rawFile({ w: { dtype: 'F32', shape: [3], data_offsets: [0, 16] } }, data)), /holds 16 bytes, shape \[3\] F32 needs 12/);
    expectThrows(() => readSafetensors(rawFile({ w: { dtype: 'C64', shape: [2], data_offsets: [0, 16] } }, data)), /unsupported dtype "C64"/);
    expectThrows(() => readSafetensors(rawFile({ w: { dtype: 'F32', shape: [-4], data_offsets: [0, 16] } }, data)), /bad shape/);
    expectThrows(() => readSafetensors(rawFile({ __metadata__: { n: 3 } }, data)), /metadata n is not a string/);
    const notJson = concat([rawFile({}, data).subarray(0, 8), ascii('{x'), data]);
    new DataView(notJson.buffer).setBigUint64(0, 2n, true);
    expectThrows(() => readSafetensors(notJson), /header is not valid JSON/);
  });

  it('refuses to write inconsistent tensors and leaves nothing behind', () => {
    const path = join(dir, 'bad.safetensors');
    expectThrows(() => writeSafetensors(path, new Map([['w', { shape: [3, 3], data: randomArray(8), sourceDType: 'f32' as const }]])), /tensor w has 8 values for shape \[3,3\]/);
    expectThrows(() => writeSafetensors(join(dir, 'missing-dir', 'x.safetensors'), new Map()), /ENOENT/);
    expect(existsSync(path)).to.equal(false);
    expect(readdirSync(dir)).to.deep.equal([]);
  });
});
