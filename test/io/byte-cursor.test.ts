// The bounded byte cursor every file reader shares (src/io/byte-cursor.ts) and gzip as RFC 1952
// reads (src/io/gunzip.ts): each check refuses what it must with the file and the field named,
// and passes what is valid; gzip's optional header fields, several members and zero padding.
import { expect } from 'chai';
import { deflateRawSync, gzipSync } from 'node:zlib';
import { ByteCursor } from '../../src/io/byte-cursor.js';
import { checkCount, checkRange, checkShape, checkTensorBytes } from '../../src/io/reader-rules.js';
import { gunzip, isGzip } from '../../src/io/gunzip.js';
import { crc32 } from '../../src/util/crc32.js';
import { expectThrows, rng } from '../helpers.js';

const concat = (parts: ArrayLike<number>[]): Uint8Array => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
};
const u32le = (v: number): number[] => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff];

describe('io: byte cursor', () => {
  it('counts, ranges and shapes are checked before use, naming the file and the field', () => {
    expect(checkCount(5, 5, 'n', 'f')).to.equal(5);
    expectThrows(() => checkCount(6, 5, 'entry count', 'f.bin'), /^f\.bin: entry count 6 is more than the 5 the data allows$/);
    expectThrows(() => checkCount(-1, 5, 'n', 'f'), /^f: n is -1, not a count/);
    expectThrows(() => checkCount(2 ** 53, 2 ** 60, 'n', 'f'), /not a count/);
    expect(checkRange(2, 3, 5, 'x', 'f')).to.equal(5);
    expectThrows(() => checkRange(2, 4, 5, 'block', 'f.index'), /^f\.index: block \(bytes 2\.\.6\) runs past the end of the file \(5 bytes\): truncated or damaged$/);
    expectThrows(() => checkRange(-1, 1, 5, 'x', 'f'), /starts at -1, not a byte offset/);
    expectThrows(() => checkRange(0, 2 ** 60, 5, 'x', 'f'), /not a byte count/);
    expect(checkShape([3, 0, 2], 'shape', 'f')).to.deep.equal([3, 0, 2]);
    expectThrows(() => checkShape([3, 3, -3, -32], 'shape', 'g.pb'), /^g\.pb: shape \[3,3,-3,-32\] is a bad shape: dimension 2 is -3, not a non-negative integer$/);
    expectThrows(() => checkShape([NaN], 'shape', 'f'), /dimension 0 is not a number, not a non-negative integer/);
    expectThrows(() => checkShape([1.5], 'shape', 'f'), /dimension 0 is 1\.5/);
    expectThrows(() => checkShape(['3'], 'shape', 'f'), /dimension 0 is "3"/);
    expectThrows(() => checkShape([2 ** 31, 2 ** 31, 2 ** 31], 'shape', 'f'), /more elements than can be counted \(overflow\)/);
    expectThrows(() => checkShape(new Array(33).fill(1), 'shape', 'f'), /33 dimensions \(at most 32\)/);
    expectThrows(() => checkShape(null, 'shape', 'f'), /not a list of dimensions/);
    expect(checkTensorBytes([2, 3], 4, 24, 't', 'f')).to.deep.equal({ count: 6, bytes: 24 });
    expectThrows(() => checkTensorBytes([2 ** 31], 4, 4, "'w'", 'f.pb'), /^f\.pb: 'w' shape \[2147483648\] needs 8589934592 bytes, but only 4 are there$/);
    expectThrows(() => checkTensorBytes([2 ** 26, 2 ** 26], 8, 2 ** 60, 't', 'f'), /needs more bytes than can be counted/);
  });

  it('reads integers and varints within its range; a length must fit what remains', () => {
    const b = Uint8Array.from([1, 2, 0, 3, 0, 0, 0, 0xac, 0x02, 5, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]);
    const c = new ByteCursor(b, 'f.bin');
    expect([c.u8('a'), c.u16('b'), c.u32('c'), c.varint('v'), c.length('len')]).to.deep.equal([1, 2, 3, 300, 5]);
    expectThrows(() => c.varint('key length'), /^f\.bin: key length at byte 10 is too large \(2\^53 or more\)$/);
    const short = new ByteCursor(Uint8Array.from([0x80, 0x80]), 'f');
    expectThrows(() => short.varint('size'), /^f: size \(a varint at byte 0\) runs past the end: truncated or damaged$/);
    const long = new ByteCursor(new Uint8Array(11).fill(0x80), 'f');
    expectThrows(() => long.varint('size'), /is not a varint \(more than 10 bytes\)/);
    // A length of 2^40 with 4 bytes left is refused before anything is taken or allocated.
    const big = new ByteCursor(Uint8Array.from([0x80, 0x80, 0x80, 0x80, 0x80, 0x20, 0, 0, 0, 0]), 'x.index: data block 0');
    expectThrows(() => big.length('key length'), /^x\.index: data block 0: key length 1099511627776 is more than the 4 the data allows$/);
    const sub = new ByteCursor(Uint8Array.from([9, 9, 9, 9]), 'f', 1, 3);
    expect(sub.take(2, 'x')).to.deep.equal(Uint8Array.from([9, 9]));
    expectThrows(() => sub.u8('tail'), /^f: tail \(1 bytes at byte 3\) runs past the end \(0 bytes remain\)/);
    expectThrows(() => new ByteCursor(new Uint8Array(4), 'f', 2, 9), /runs past the end of the data/);
    expectThrows(() => sub.seek(7, 'offset'), /offset 7 is outside the 3 bytes there are/);
  });
});

describe('io: gunzip (RFC 1952)', () => {
  const r = rng();
  const data = Uint8Array.from({ length: 5000 }, () => Math.floor(r() * 16));
  const gz = (b: Uint8Array) => new Uint8Array(gzipSync(b));

  it('reads one member, several members as one stream, and zero padding after the last', () => {
    expect(isGzip(gz(data))).to.equal(true);
    expect(gunzip(gz(data), 'a.gz')).to.deep.equal(data);
    const three = concat([gz(data.subarray(0, 1000)), gz(new Uint8Array(0)), gz(data.subarray(1000))]);
    expect(gunzip(three, 'cat.gz')).to.deep.equal(data);
    for (const pad of [1, 8, 512]) expect(gunzip(concat([three, new Uint8Array(pad)]), 'pad.gz')).to.deep.equal(data);
  });

  it("reads a header's optional fields (extra, name, comment, header CRC)", () => {
    const header = [0x1f, 0x8b, 8, 2 | 4 | 8 | 16, 0, 0, 0, 0, 0, 3, 3, 0, 1, 2, 3, ...new TextEncoder().encode('name'), 0, ...new TextEncoder().encode('note'), 0];
    const withCrc = [...header, ...[crc32(Uint8Array.from(header)) & 0xff, (crc32(Uint8Array.from(header)) >>> 8) & 0xff]];
    const file = concat([withCrc, deflateRawSync(data), u32le(crc32(data)), u32le(data.length)]);
    expect(gunzip(file, 'opt.gz')).to.deep.equal(data);
    const badCrc = file.slice();
    badCrc[withCrc.length - 1] ^= 1;
    expectThrows(() => gunzip(badCrc, 'opt.gz'), /^opt\.gz: gzip member at byte 0: damaged header \(its CRC-16 does not match\)$/);
  });

  it('checks the CRC and the length both, and refuses other trailing bytes, bad headers and a bomb past its bound', () => {
    const good = gz(data);
    const badLength = good.slice();
    badLength[badLength.length - 4] ^= 1;
    expectThrows(() => gunzip(badLength, 'len.gz'), /^len\.gz: damaged gzip data \(the member inflates to 5000 bytes, its trailer says 5001 mod 2\^32\)$/);
    const badCrc = good.slice();
    badCrc[badCrc.length - 8] ^= 1;
    expectThrows(() => gunzip(badCrc, 'crc.gz'), /^crc\.gz: damaged gzip data \(CRC-32 [0-9a-f]{8}, the trailer says [0-9a-f]{8}\)$/);
    // The first of two members damaged: named as the trailer before the second member.
    const twoBad = concat([badCrc, good]);
    expectThrows(() => gunzip(twoBad, 'two.gz'), /^two\.gz: damaged gzip data \(CRC-32/);
    expectThrows(() => gunzip(concat([good, [7]]), 'junk.gz'), /^junk\.gz: /);
    expectThrows(() => gunzip(concat([good, [0x1f, 0x8b, 8]]), 'junk.gz'), /^junk\.gz: /);
    expectThrows(() => gunzip(good.subarray(0, good.length - 3), 'cut.gz'), /^cut\.gz: /);
    expectThrows(() => gunzip(good.subarray(0, 9), 'cut.gz'), /^cut\.gz: gzip member at byte 0: header \(10 bytes at byte 0\) runs past the end/);
    const method = good.slice();
    method[2] = 7;
    expectThrows(() => gunzip(method, 'm.gz'), /compression method 7 is not deflate \(8\)/);
    const extra = good.slice();
    extra[3] = 4;
    extra[10] = 0xff;
    extra[11] = 0xff;
    expectThrows(() => gunzip(extra.subarray(0, 200), 'x.gz'), /^x\.gz: gzip member at byte 0: extra field \(65535 bytes at byte 12\) runs past the end/);
    expectThrows(() => gunzip(gz(new Uint8Array(1 << 22)), 'bomb.gz', 1 << 20), /^bomb\.gz: the gzip data inflates to more than 1048576 bytes$/);
  });
});
