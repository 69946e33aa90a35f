// TensorFlow's zoo formats written from TypeScript, for the tests: a V2 checkpoint bundle (the
// `.index` SSTable as TensorFlow's table builder lays it out, and the `.data` shard), and a tar
// archive (ustar), so a whole MobileNetV2 zoo tarball can be made from weights we have.
import { gzipSync } from 'node:zlib';
import { crc32c, maskCrc } from '../../src/model/weights/import/crc32c.js';
import type { TensorMap } from '../../src/model/weights/import/tensor-map.js';
import { BundleEntryProto, BundleHeaderProto, GraphDefType } from '../../src/model/weights/import/tf-proto.js';
import { concat } from './builders.js';

export function varint(v: number): number[] {
  const out: number[] = [];
  while (v >= 0x80) {
    out.push((v % 128) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return out;
}

export function fixed32(v: number): number[] {
  return [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff];
}

/** One block: entries with a restart every `interval`, the restart array, its count. */
function buildBlock(entries: [Uint8Array, Uint8Array][], interval: number): Uint8Array {
  const out: number[] = [];
  const restarts: number[] = [];
  let prev: Uint8Array = new Uint8Array(0);
  entries.forEach(([key, value], i) => {
    let shared = 0;
    if (i % interval === 0) restarts.push(out.length);
    else while (shared < prev.length && shared < key.length && prev[shared] === key[shared]) shared++;
    out.push(...varint(shared), ...varint(key.length - shared), ...varint(value.length), ...key.subarray(shared), ...value);
    prev = key;
  });
  if (restarts.length === 0) restarts.push(0);
  for (const r of restarts) out.push(...fixed32(r));
  out.push(...fixed32(restarts.length));
  return Uint8Array.from(out);
}

/** The block and its trailer (no compression, masked CRC-32C of the block and the type byte). */
function withTrailer(block: Uint8Array): Uint8Array {
  const crc = maskCrc(crc32c(new Uint8Array([0]), crc32c(block)));
  return concat([block, [0], fixed32(crc)]);
}

/** A tensor to write: its TF DataType value, shape and raw little-endian bytes. */
export interface BundleTensorIn {
  dtype: number;
  shape: number[];
  bytes: Uint8Array;
}

/** A BundleEntryProto's fields as the writer encodes them (for tests that damage one). */
export interface BundleEntryFields {
  dtype: number;
  shape: { dim: { size: number }[]; unknown_rank?: boolean };
  shard_id?: number;
  offset: number;
  size: number;
  crc32c: number;
}

/**
 * A V2 checkpoint: `.index` and one `.data` shard, keys in byte order, TensorFlow's block sizes;
 * `entry` may rewrite each tensor's record before it is encoded.
 */
export function buildBundle(
  tensors: Map<string, BundleTensorIn>,
  blockBytes = 262144,
  entry: (name: string, fields: BundleEntryFields) => BundleEntryFields = (_, f) => f,
): { index: Uint8Array; data: Uint8Array } {
  const enc = new TextEncoder();
  const names = [...tensors.keys()].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  const dataParts: Uint8Array[] = [];
  let offset = 0;
  const entries: [Uint8Array, Uint8Array][] = [[new Uint8Array(0), BundleHeaderProto.encode({ num_shards: 1, version: { producer: 1 } }).finish()]];
  for (const name of names) {
    const t = tensors.get(name)!;
    const fields = entry(name, { dtype: t.dtype, shape: { dim: t.shape.map((size) => ({ size })) }, offset, size: t.bytes.length, crc32c: maskCrc(crc32c(t.bytes)) });
    entries.push([enc.encode(name), BundleEntryProto.encode(fields).finish()]);
    dataParts.push(t.bytes);
    offset += t.bytes.length;
  }
  // Data blocks, each closed once it reaches blockBytes; the index maps each block's last key to it.
  const groups: [Uint8Array, Uint8Array][][] = [];
  for (let i = 0; i < entries.length; ) {
    const group: [Uint8Array, Uint8Array][] = [];
    let size = 0;
    while (i < entries.length && size < blockBytes) {
      group.push(entries[i]);
      size += entries[i][0].length + entries[i][1].length + 6;
      i++;
    }
    groups.push(group);
  }
  return { index: sstable(groups.map((g) => buildBlock(g, 16)), groups.map((g) => g[g.length - 1][0])), data: concat(dataParts) };
}

/**
 * An SSTable of the given data blocks' contents (entries, restart array and count, as they are:
 * a test may damage them), each with its trailer, then the metaindex and index blocks and the
 * footer; `lastKeys` are the index's keys.
 */
export function sstable(blocks: Uint8Array[], lastKeys: Uint8Array[] = blocks.map(() => new TextEncoder().encode('~'))): Uint8Array {
  const file: Uint8Array[] = [];
  let at = 0;
  const index: [Uint8Array, Uint8Array][] = [];
  blocks.forEach((block, b) => {
    index.push([lastKeys[b], Uint8Array.from([...varint(at), ...varint(block.length)])]);
    file.push(withTrailer(block));
    at += block.length + 5;
  });
  const meta = buildBlock([], 1);
  const metaHandle = [...varint(at), ...varint(meta.length)];
  file.push(withTrailer(meta));
  at += meta.length + 5;
  const indexBlock = buildBlock(index, 1);
  const indexHandle = [...varint(at), ...varint(indexBlock.length)];
  file.push(withTrailer(indexBlock));
  const footer = new Uint8Array(48);
  footer.set([...metaHandle, ...indexHandle]);
  footer.set([0x57, 0xfb, 0x80, 0x8b, 0x24, 0x75, 0x47, 0xdb], 40);
  file.push(footer);
  return concat(file);
}

/** A block's contents from raw entry bytes and restart offsets (as given, so a test may damage them). */
export function rawBlock(entries: Uint8Array, restarts: number[], count = restarts.length): Uint8Array {
  return concat([entries, ...restarts.map((r) => Uint8Array.from(fixed32(r))), Uint8Array.from(fixed32(count))]);
}

/** A ustar archive of the files (directories implied), gzipped when asked. */
export function buildTar(files: Map<string, Uint8Array>, gzip = true): Uint8Array {
  const parts: Uint8Array[] = [];
  const enc = new TextEncoder();
  for (const [name, body] of files) {
    const h = new Uint8Array(512);
    h.set(enc.encode(name).subarray(0, 100), 0);
    const octal = (v: number, n: number) => enc.encode(v.toString(8).padStart(n - 1, '0') + '\0');
    h.set(octal(0o644, 8), 100);
    h.set(octal(0, 8), 108);
    h.set(octal(0, 8), 116);
    h.set(octal(body.length, 12), 124);
    h.set(octal(0, 12), 136);
    h.fill(0x20, 148, 156);
    h[156] = 0x30;
    h.set(enc.encode('ustar\0' + '00'), 257);
    let sum = 0;
    for (const b of h) sum += b;
    h.set(enc.encode(sum.toString(8).padStart(6, '0') + '\0 '), 148);
    parts.push(h, body, new Uint8Array((512 - (body.length % 512)) % 512));
  }
  parts.push(new Uint8Array(1024));
  const tar = concat(parts);
  return gzip ? new Uint8Array(gzipSync(tar)) : tar;
}

/** A frozen graph as TF writes one for these variables: a Const per variable, a FusedBatchNormV3 per batch norm (with its eps). */
export function frozenGraph(vars: TensorMap, epsilon: (scope: string) => number): Uint8Array {
  const node: unknown[] = [];
  for (const [name, t] of vars) {
    const tensor = { dtype: 1, tensor_shape: { dim: t.shape.map((size) => ({ size })) }, tensor_content: new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength) };
    node.push({ name, op: 'Const', attr: { dtype: { type: 1 }, value: { tensor } } });
    const bn = /^(.*)\/BatchNorm\/moving_mean$/.exec(name);
    if (bn) node.push({ name: `${bn[1]}/BatchNorm/FusedBatchNormV3`, op: 'FusedBatchNormV3', input: [`${bn[1]}/Conv2D`], attr: { epsilon: { f: epsilon(bn[1]) } } });
  }
  return GraphDefType.encode(GraphDefType.fromObject({ node })).finish();
}
