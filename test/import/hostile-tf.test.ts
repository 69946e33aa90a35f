// Hostile TF model-zoo files, field by field: checkpoint bundles (the `.index` SSTable's block
// entries, restart arrays, block handles and footer; each BundleEntryProto's dtype, shape,
// shard, offset and size), frozen graphs (each Const's dtype, shape, tensor_content and typed
// values, broadcast included), tar headers and gzip members. Every mutant is written with its
// checksums right, so it reaches the field it damages; each must be refused with a clear error
// naming the file (test/hostile.ts says what clear means), or read to a consistent result, in
// bounded time and without allocating what a field claims. Seeded by HOSTILE_SEED.
import { expect } from 'chai';
import { gzipSync } from 'node:zlib';
import { gunzip } from '../../src/io/gunzip.js';
import { readTar } from '../../src/model/weights/import/tar.js';
import { type TensorMap, shapeNumel } from '../../src/model/weights/import/tensor-map.js';
import { readBundleIndex, readTfCheckpoint } from '../../src/model/weights/import/tf-bundle.js';
import { readFrozenGraph } from '../../src/model/weights/import/tf-graph.js';
import { GraphDefType } from '../../src/model/weights/import/tf-proto.js';
import { HOSTILE_SEED, Rand, Tally, truncationLengths, withPatch } from '../hostile.js';
import { concat } from './builders.js';
import { type BundleEntryFields, type BundleTensorIn, buildBundle, buildTar, rawBlock, sstable, varint } from './tf-writers.js';

/** Values a size, count or dimension field is set to: edges, overflows and the issue's. */
const HOSTILE_NUMBERS = [-1, -32, 0, 1, 2 ** 31 - 1, 2 ** 31, 2 ** 32, 2 ** 40, 2 ** 53 - 1, 2 ** 53 + 2, 2 ** 62];

const f32 = (shape: number[], r: Rand): BundleTensorIn => ({
  dtype: 1,
  shape,
  bytes: new Uint8Array(Float32Array.from({ length: shapeNumel(shape) }, () => r.next() - 0.5).buffer),
});

/** A small checkpoint's tensors: a conv, its batch norm, a depthwise weight, a step counter. */
function smallCheckpoint(r: Rand): Map<string, BundleTensorIn> {
  return new Map([
    ['a/weights', f32([3, 3, 2, 4], r)],
    ['a/BatchNorm/beta', f32([4], r)],
    ['a/BatchNorm/moving_mean', f32([4], r)],
    ['a/BatchNorm/moving_variance', f32([4], r)],
    ['b/depthwise_weights', f32([3, 3, 4, 1], r)],
    ['global_step', { dtype: 9, shape: [], bytes: new Uint8Array(new BigInt64Array([5n]).buffer) }],
  ]);
}

function readBundle(index: Uint8Array, data: Uint8Array): TensorMap {
  return readTfCheckpoint({ index, indexName: 'hostile.index', shard: () => ({ bytes: data, name: 'hostile.data-00000-of-00001' }) });
}

/** Null when every tensor's data has as many values as its shape says. */
function consistent(m: TensorMap): string | null {
  for (const [k, t] of m) {
    if (!t.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) return `${k} has shape [${t.shape}]`;
    if (t.data.length !== shapeNumel(t.shape)) return `${k} has ${t.data.length} values for shape [${t.shape}]`;
  }
  return null;
}

/** Errors from either file of a bundle name one of them. */
const bundleNames = ['hostile.index', 'hostile.data-00000-of-00001'];
function bundleTally(tally: Tally, kind: string, label: string, read: () => TensorMap, mustRefuse = false): void {
  // The error names the index or the data shard: judge it against the one it starts with.
  let name = bundleNames[0];
  try {
    read();
  } catch (e) {
    name = bundleNames.find((n) => (e as Error).message?.startsWith?.(`${n}: `)) ?? name;
  }
  tally.check(kind, label, read, { name, mustRefuse, consistent });
}

describe('hostile files: TF zoo readers, field by field', function () {
  this.timeout(60_000);

  it('checkpoint bundles: every BundleEntryProto field (dtype, shape, shard, offset, size) with hostile values', () => {
    const r = new Rand(HOSTILE_SEED + 10);
    const tensors = smallCheckpoint(r);
    const tally = new Tally('bundle entries (generated)', 1000, 1 << 20);
    const good = buildBundle(tensors);
    expect(consistent(readBundle(good.index, good.data))).to.equal(null);
    const mutate = (kind: string, label: string, target: string, change: (f: BundleEntryFields) => BundleEntryFields, mustRefuse = false) => {
      const { index, data } = buildBundle(tensors, 262144, (name, f) => (name === target ? change(f) : f));
      bundleTally(tally, kind, `${target}: ${label}`, () => readBundle(index, data), mustRefuse);
    };
    for (const target of tensors.keys()) {
      for (const dtype of [0, 2, 3, 4, 5, 6, 7, 9, 10, 14, 19, 99, -1, 2 ** 31 - 1]) mutate('dtype', String(dtype), target, (f) => ({ ...f, dtype }));
      const dims = tensors.get(target)!.shape;
      const shapes: number[][] = [[-1], [3, 3, -3, -32], [2 ** 31], [2 ** 40, 2 ** 40], [2 ** 53 + 2], [...dims, 2], [...dims, 0], Array(40).fill(1)];
      for (const n of r.sample(HOSTILE_NUMBERS, 4)) shapes.push(dims.length ? dims.map((d, i) => (i === dims.length - 1 ? n : d)) : [n]);
      for (const shape of shapes) mutate('shape', `[${shape}]`, target, (f) => ({ ...f, shape: { dim: shape.map((size) => ({ size })) } }));
      mutate('shape', 'unknown rank', target, (f) => ({ ...f, shape: { dim: [], unknown_rank: true } }));
      for (const n of HOSTILE_NUMBERS) {
        mutate('offset', String(n), target, (f) => ({ ...f, offset: n }));
        mutate('size', String(n), target, (f) => ({ ...f, size: n }));
      }
      for (const n of [-1, 1, 7, 2 ** 31 - 1]) mutate('shard_id', String(n), target, (f) => ({ ...f, shard_id: n }), true);
      mutate('crc32c', 'off by one', target, (f) => ({ ...f, crc32c: (f.crc32c + 1) >>> 0 }), true);
    }
    tally.assert();
  });

  it('checkpoint index: SSTable entry lengths, restart arrays, block handles and footer', () => {
    const r = new Rand(HOSTILE_SEED + 11);
    const tally = new Tally('checkpoint index (generated)', 1000, 1 << 20);
    // One data block of three entries (the header under the empty key, two tensors), built raw.
    const { index: goodIndex, data } = buildBundle(smallCheckpoint(r));
    const entries = [...readBundleIndex(goodIndex, 'good').entries];
    expect(entries.length).to.equal(6);
    // The block's raw entries (header and each tensor's record) from the good index.
    const block0 = readBundleIndex(goodIndex, 'good').blocks[0];
    const raw = goodIndex.subarray(block0.offset, block0.offset + block0.size);
    const restartCount = new DataView(raw.buffer, raw.byteOffset + raw.length - 4, 4).getUint32(0, true);
    const entryBytes = raw.subarray(0, raw.length - 4 - 4 * restartCount);
    const restarts = Array.from({ length: restartCount }, (_, i) => new DataView(raw.buffer, raw.byteOffset + entryBytes.length + 4 * i, 4).getUint32(0, true));
    /** The three varints of the entry at `at` (shared key length, key length, value length) and where they end. */
    const entryHeader = (at: number): { vals: number[]; end: number } => {
      const vals: number[] = [];
      let p = at;
      for (let k = 0; k < 3; k++) {
        let v = 0;
        let s = 1;
        for (;;) {
          const b = entryBytes[p++];
          v += (b & 0x7f) * s;
          s *= 128;
          if (!(b & 0x80)) break;
        }
        vals.push(v);
      }
      return { vals, end: p };
    };
    // Where each entry's three varints start (the test's own walk, independent of the reader).
    const headers: number[] = [];
    for (let p = 0; p < entryBytes.length; ) {
      headers.push(p);
      const { vals, end } = entryHeader(p);
      p = end + vals[1] + vals[2];
    }
    const withEntryField = (at: number, field: number, value: number): Uint8Array => {
      // Re-encode the entry's varints with one replaced (the rest of the block shifts; restarts follow).
      const { vals, end: p } = entryHeader(at);
      vals[field] = value;
      const head = Uint8Array.from(vals.flatMap((v) => varint(v)));
      const shift = head.length - (p - at);
      return rawBlock(concat([entryBytes.subarray(0, at), head, entryBytes.subarray(p)]), restarts.map((o) => (o > at ? o + shift : o)));
    };
    const fields = ['shared key length', 'key length', 'value length'];
    for (const at of headers) {
      for (let field = 0; field < 3; field++) {
        for (const v of [...r.sample(HOSTILE_NUMBERS.filter((n) => n >= 0), 5), 2 ** 40, entryBytes.length, 255]) {
          const index = sstable([withEntryField(at, field, v)]);
          bundleTally(tally, fields[field], `entry at ${at} = ${v}`, () => readBundle(index, data));
        }
      }
    }
    for (const count of [0, 1, 2 ** 32 - 1, 2 ** 30, restartCount + 1, Math.floor(raw.length / 4)]) {
      const index = sstable([rawBlock(entryBytes, restarts, count)]);
      bundleTally(tally, 'restart count', String(count), () => readBundle(index, data));
    }
    for (const off of [1, entryBytes.length, 2 ** 32 - 1]) {
      const index = sstable([rawBlock(entryBytes, [0, off])]);
      bundleTally(tally, 'restart offset', String(off), () => readBundle(index, data));
    }
    // The footer's and the index block's handles (varints), each set to a hostile value.
    const good = sstable([raw]);
    const footerAt = good.length - 48;
    for (const [k, v] of r.sample([0, 1, 2, 3], 4).flatMap((k) => [2 ** 40, 2 ** 53 + 2, good.length, 0].map((v) => [k, v]))) {
      const footer = new Uint8Array(40);
      const c = [...readVarints(good, footerAt, 4)];
      c[k] = v;
      footer.set(c.flatMap((x) => varint(x)).slice(0, 40));
      const bad = good.slice();
      bad.set(footer, footerAt);
      bundleTally(tally, 'footer handle', `${k} = ${v}`, () => readBundle(bad, data));
    }
    for (const n of truncationLengths(good.length, 64, 40, r)) bundleTally(tally, 'truncation', `to ${n}`, () => readBundle(good.subarray(0, n), data), true);
    tally.assert();
  });

  it('frozen graphs: every Const field (dtype, shape, tensor_content, typed values and their broadcast)', () => {
    const r = new Rand(HOSTILE_SEED + 12);
    const tally = new Tally('frozen graph (generated)', 2000, 1 << 20);
    const weights = new Uint8Array(Float32Array.from({ length: 72 }, () => r.next() - 0.5).buffer);
    type Tensor = Record<string, unknown>;
    const baseConsts: Record<string, Tensor> = {
      'a/weights': { dtype: 1, tensor_shape: { dim: [3, 3, 2, 4].map((size) => ({ size })) }, tensor_content: weights },
      'a/zeros': { dtype: 1, tensor_shape: { dim: [4, 4].map((size) => ({ size })) }, float_val: [0] },
      'a/ints': { dtype: 3, tensor_shape: { dim: [{ size: 2 }] }, int_val: [7, 8] },
      'a/halves': { dtype: 19, tensor_shape: { dim: [{ size: 3 }] }, half_val: [0x3c00] },
      'msg': { dtype: 7, string_val: [new TextEncoder().encode('assert')] },
    };
    const graph = (consts: Record<string, Tensor>, epsilon = 1e-3): Uint8Array =>
      GraphDefType.encode(
        GraphDefType.fromObject({
          node: [
            ...Object.entries(consts).map(([name, tensor]) => ({ name, op: 'Const', attr: { value: { tensor } } })),
            { name: 'a/BatchNorm/FusedBatchNorm', op: 'FusedBatchNorm', input: ['x'], attr: { epsilon: { f: epsilon } } },
          ],
        }),
      ).finish();
    const name = 'hostile.pb';
    const good = graph(baseConsts);
    expect(readFrozenGraph(good, name).consts.get('a/zeros')!.data.length).to.equal(16);
    const judge = { name, consistent: (g: ReturnType<typeof readFrozenGraph>) => consistent(g.consts) };
    const edit = (kind: string, label: string, target: string, change: (t: Tensor) => Tensor) => {
      const bytes = graph({ ...baseConsts, [target]: change({ ...baseConsts[target] }) });
      tally.check(kind, `${target}: ${label}`, () => readFrozenGraph(bytes, name), judge);
    };
    for (const target of Object.keys(baseConsts)) {
      for (const dtype of [0, 1, 2, 3, 4, 6, 7, 9, 10, 14, 19, 5, 99, -1]) edit('dtype', String(dtype), target, (t) => ({ ...t, dtype }));
      const shapes: number[][] = [[-1], [3, 3, -3, -32], [2 ** 31], [2 ** 31, 2 ** 31], [2 ** 53 + 2], [2 ** 62], [0], [], Array(100).fill(1)];
      for (const shape of shapes) edit('shape', `[${shape.length > 8 ? `${shape.length} dims` : shape}]`, target, (t) => ({ ...t, tensor_shape: { dim: shape.map((size) => ({ size })) } }));
      edit('shape', 'unknown rank', target, (t) => ({ ...t, tensor_shape: { unknown_rank: true } }));
    }
    for (const cut of [0, 1, 4, 71 * 4, 73 * 4]) {
      edit('tensor_content', `${cut} bytes`, 'a/weights', (t) => ({ ...t, tensor_content: cut <= weights.length ? weights.subarray(0, cut) : concat([weights, new Uint8Array(cut - weights.length)]) }));
    }
    for (const n of [0, 1, 2, 15, 16, 17, 100]) edit('float_val', `${n} values`, 'a/zeros', (t) => ({ ...t, float_val: Array(n).fill(0.5) }));
    for (const n of [0, 1, 3, 4]) edit('half_val', `${n} values`, 'a/halves', (t) => ({ ...t, half_val: Array(n).fill(0x3c00) }));
    // The issue's case: [2^31] with one float_val is refused before anything of that size exists.
    const broadcast = graph({ ...baseConsts, big: { dtype: 1, tensor_shape: { dim: [{ size: 2 ** 31 }] }, float_val: [1] } });
    tally.check('broadcast', '[2^31] from one float_val', () => readFrozenGraph(broadcast, name), { ...judge, mustRefuse: true });
    // Bytes of the encoded graph: truncations and random bytes (protobuf's own structure).
    for (const n of truncationLengths(good.length, 32, 40, r)) tally.check('truncation', `to ${n}`, () => readFrozenGraph(good.subarray(0, n), name), judge);
    const work = good.slice();
    for (let k = 0; k < 200; k++) {
      const at = r.int(good.length);
      withPatch(work, at, Uint8Array.of(r.int(256)), () => tally.check('random byte', `at ${at}`, () => readFrozenGraph(work, name), judge));
    }
    tally.assert();
  });

  it('tarballs: tar header fields and gzip members, trailers and padding', () => {
    const r = new Rand(HOSTILE_SEED + 13);
    const name = 'hostile.tar.gz';
    const tally = new Tally('tarball (generated)', 2000, 1 << 22);
    const files = new Map([
      ['m/a.bin', Uint8Array.from({ length: 700 }, () => r.int(256))],
      ['m/b.bin', Uint8Array.from({ length: 20 }, () => r.int(256))],
    ]);
    const tar = buildTar(files, false);
    const same = (m: Map<string, Uint8Array>): string | null =>
      [...files].every(([k, v]) => m.get(k) !== undefined && Buffer.compare(m.get(k)!, v) === 0) && m.size === files.size ? null : 'files differ from the original';
    const judge = { name, consistent: same };
    // A tar header's fields carry no checksum of the data: a changed size or type reads other
    // files, which must still be views within the archive.
    const within = { name, consistent: (m: Map<string, Uint8Array>) => ([...m.values()].every((v) => v.length <= tar.length) ? null : 'a file larger than the archive') };
    // Header fields rewritten with the header's checksum fixed, so each reaches its field.
    const withHeader = (at: number, field: number, bytes: Uint8Array): Uint8Array => {
      const t = tar.slice();
      t.set(bytes, at + field);
      t.fill(0x20, at + 148, at + 156);
      let sum = 0;
      for (let i = 0; i < 512; i++) sum += t[at + i];
      t.set(new TextEncoder().encode(sum.toString(8).padStart(6, '0') + '\0 '), at + 148);
      return t;
    };
    const octal = (v: number) => new TextEncoder().encode(v.toString(8).padStart(11, '0') + '\0');
    const base256 = (v: bigint) => Uint8Array.from({ length: 12 }, (_, i) => (i === 0 ? 0x80 : Number((v >> BigInt(8 * (11 - i))) & 0xffn)));
    for (const at of [0, 512 * 3]) {
      for (const v of [0, 1, 699, 701, 2048, 2 ** 33 - 1]) tally.check('size (octal)', `header ${at}: ${v}`, () => readTar(gz(withHeader(at, 124, octal(v))), name), within);
      for (const v of [2n ** 40n, 2n ** 60n, 2n ** 87n - 1n]) tally.check('size (base-256)', `header ${at}: ${v}`, () => readTar(gz(withHeader(at, 124, base256(v))), name), within);
      for (const t of ['L', 'x', '5', '\0', 'g']) tally.check('type', `header ${at}: ${JSON.stringify(t)}`, () => readTar(gz(withHeader(at, 156, Uint8Array.of(t.charCodeAt(0)))), name), within);
      tally.check('size (octal)', `header ${at}: not octal`, () => readTar(gz(withHeader(at, 124, new TextEncoder().encode('99999999999\0'))), name), within);
    }
    const gzipped = gz(tar);
    // gzip's header fields: flags, method, the extra field's length, an unterminated name.
    const hdr = (patch: Array<[number, number]>) => {
      const g = gzipped.slice();
      for (const [at, v] of patch) g[at] = v;
      return g;
    };
    for (const [label, bytes] of [
      ['method 7', hdr([[2, 7]])],
      ['reserved flags', hdr([[3, 0xe0]])],
      ['FEXTRA of 65535 bytes', hdr([[3, 4], [10, 0xff], [11, 0xff]])],
      ['FNAME without its zero', concat([hdr([[3, 8]]).subarray(0, 10), new Uint8Array(30).fill(0x41)])],
      ['FHCRC wrong', concat([hdr([[3, 2]]).subarray(0, 10), [0, 0], gzipped.subarray(10)])],
    ] as const) {
      tally.check('gzip header', label, () => readTar(bytes, name), { ...judge, mustRefuse: true });
    }
    // The trailer: CRC and ISIZE each changed alone must be refused (the RFC checks both).
    for (const at of [gzipped.length - 8, gzipped.length - 4]) {
      for (let bit = 0; bit < 32; bit += 7) {
        const g = gzipped.slice();
        g[at + (bit >> 3)] ^= 1 << (bit & 7);
        tally.check(at === gzipped.length - 8 ? 'gzip trailer CRC' : 'gzip trailer ISIZE', `bit ${bit}`, () => readTar(g, name), { ...judge, mustRefuse: true });
      }
    }
    // Valid files: several members, and zero padding after the last; garbage after it is not.
    const parts = [tar.subarray(0, 512), tar.subarray(512, 1500), tar.subarray(1500)];
    const members = concat(parts.map((p) => gz(p)));
    tally.check('gzip members', 'three', () => readTar(members, name), judge);
    expect(same(readTar(members, name))).to.equal(null);
    for (const pad of [1, 7, 8, 512, 10240]) {
      tally.check('zero padding', `${pad} bytes`, () => readTar(concat([gzipped, new Uint8Array(pad)]), name), judge);
      expect(same(readTar(concat([members, new Uint8Array(pad)]), name))).to.equal(null);
    }
    for (const junk of [[1], [0, 0, 1], [0x1f, 0x8b], [0x1f, 0x8b, 8, 0]]) {
      tally.check('trailing bytes', `[${junk}]`, () => readTar(concat([gzipped, junk]), name), { ...judge, mustRefuse: true });
    }
    for (const n of truncationLengths(gzipped.length, 24, 40, r)) tally.check('truncation', `to ${n}`, () => readTar(gzipped.subarray(0, n), name), { ...judge, mustRefuse: true });
    // A bomb is cut off at the bound, not inflated whole.
    const bomb = gz(new Uint8Array(1 << 24));
    tally.check('bound', '16 MB of zeros, bound 1 MB', () => gunzip(bomb, name, 1 << 20), { name, mustRefuse: true });
    tally.assert();
  });
});

function gz(b: Uint8Array): Uint8Array {
  return new Uint8Array(gzipSync(b));
}

/** `n` varints from `at` (the test's own decoding). */
function* readVarints(b: Uint8Array, at: number, n: number): Generator<number> {
  let p = at;
  for (let k = 0; k < n; k++) {
    let v = 0;
    let s = 1;
    for (;;) {
      const x = b[p++];
      v += (x & 0x7f) * s;
      s *= 128;
      if (!(x & 0x80)) break;
    }
    yield v;
  }
}
