// TensorFlow's V2 checkpoint ("tensor bundle"): `<prefix>.index`, an SSTable (LevelDB's table
// format) from tensor names to BundleEntryProto records, and `<prefix>.data-NNNNN-of-NNNNN`
// shards holding the tensors' raw little-endian bytes at the offsets the records give.
//
// The SSTable: data blocks, a metaindex block, an index block (one entry per data block, its
// value the block's handle), and a 48-byte footer (the metaindex and index handles as varint64
// pairs, zero-padded to 40 bytes, then the magic 0xdb4775248b80fb57). A block is its entries
// (varint32 shared key bytes, varint32 unshared, varint32 value length, the unshared key bytes,
// the value), the fixed32 offsets of its restart entries (which share nothing) and their
// fixed32 count; a 5-byte trailer follows it (compression type, 0 = none, and the masked
// CRC-32C of the block and that byte). The entry under the empty key is the BundleHeaderProto.
//
// Every block's CRC and every tensor's (BundleEntryProto.crc32c, masked, of its bytes) is
// checked: a damaged or cut file is an error naming the file and the block or the tensor. Every
// handle, length, count, shape, offset and size is checked (src/io/byte-cursor.ts) before it is
// used: a key is allocated only once its bytes are known to be there.
import { ByteCursor } from '../../../io/byte-cursor.js';
import { checkCount, checkRange, checkShape, checkTensorBytes } from '../../../io/reader-rules.js';
import { crc32c, maskCrc } from './crc32c.js';
import { type HostTensor, type SourceDType, type TensorMap, DTYPE_SIZE, decodeToF32, formatShape, shapeNumel } from './tensor-map.js';
import { BundleEntryProto, BundleHeaderProto, type TensorShape, TF_DTYPES, decodeMessage, tfDtypeName } from './tf-proto.js';

const FOOTER_BYTES = 48;
const MAGIC_LO = 0x8b80fb57;
const MAGIC_HI = 0xdb477524;
const TRAILER_BYTES = 5;

export interface BundleHeader {
  numShards: number;
  /** 0 little-endian, 1 big-endian. */
  endianness: number;
  producer: number;
}

export interface BundleEntry {
  name: string;
  /** TF's DataType value, and ours where we decode it (null: a type we do not read, e.g. string). */
  dtypeEnum: number;
  dtype: SourceDType | null;
  shape: number[];
  shardId: number;
  offset: number;
  size: number;
  /** The masked CRC-32C of the tensor's bytes. */
  crc32c: number;
}

export interface BundleIndex {
  header: BundleHeader;
  /** In key order. */
  entries: BundleEntry[];
  /** The data blocks as read: where each starts, its size, entries and restarts (for tests and errors). */
  blocks: { offset: number; size: number; entries: number; restarts: number }[];
}

function u32(bytes: Uint8Array, at: number): number {
  return (bytes[at] | (bytes[at + 1] << 8) | (bytes[at + 2] << 16) | (bytes[at + 3] << 24)) >>> 0;
}

interface BlockHandle {
  offset: number;
  size: number;
}

/** A block's bytes, its trailer's CRC checked. */
function readBlock(file: Uint8Array, h: BlockHandle, what: string, label: string): Uint8Array {
  checkRange(h.offset, h.size + TRAILER_BYTES, file.length, `the ${label} and its trailer`, what);
  const body = file.subarray(h.offset, h.offset + h.size);
  const type = file[h.offset + h.size];
  const stored = u32(file, h.offset + h.size + 1);
  const actual = maskCrc(crc32c(new Uint8Array([type]), crc32c(body)));
  if (stored !== actual) {
    throw new Error(`${what}: the ${label} at byte ${h.offset} is damaged (CRC-32C ${actual.toString(16)}, stored ${stored.toString(16)})`);
  }
  if (type !== 0) throw new Error(`${what}: the ${label} is compressed (type ${type}); TensorFlow's bundles are not, and compressed blocks are not read`);
  return body;
}

/** A block's entries, in order, with its restart array checked. */
function blockEntries(block: Uint8Array, what: string, label: string): { entries: [Uint8Array, Uint8Array][]; restarts: number } {
  if (block.length < 4) throw new Error(`${what}: the ${label} is too short to hold its restart count`);
  const restarts = u32(block, block.length - 4);
  if (restarts < 1) throw new Error(`${what}: the ${label} has a bad restart count ${restarts}`);
  checkCount(restarts, Math.floor((block.length - 4) / 4), `the ${label}'s restart count`, what);
  const restartStart = block.length - 4 - 4 * restarts;
  const restartOffsets = new Set<number>();
  for (let i = 0; i < restarts; i++) restartOffsets.add(u32(block, restartStart + 4 * i));
  const c = new ByteCursor(block, `${what}: ${label}`, 0, restartStart);
  const entries: [Uint8Array, Uint8Array][] = [];
  let key = new Uint8Array(0);
  while (!c.done) {
    const at = c.pos;
    const shared = c.varint(`entry at ${at}: shared key length`);
    const unshared = c.length(`entry at ${at}: key length`);
    const valueLength = c.length(`entry at ${at}: value length`);
    if (shared > key.length) throw new Error(`${what}: ${label}: entry at ${at} shares ${shared} bytes of a ${key.length}-byte key`);
    if (restartOffsets.has(at) && shared !== 0) throw new Error(`${what}: ${label}: restart entry at ${at} shares ${shared} key bytes`);
    // The key's own bytes are taken (checked) before the whole key is allocated.
    const own = c.take(unshared, `entry at ${at}: key`);
    const next = new Uint8Array(shared + unshared);
    next.set(key.subarray(0, shared));
    next.set(own, shared);
    key = next;
    entries.push([key, c.take(valueLength, `entry at ${at}: value`)]);
  }
  return { entries, restarts };
}

function handle(value: Uint8Array, where: string): BlockHandle {
  const c = new ByteCursor(value, where);
  return { offset: c.varint('block offset'), size: c.varint('block size') };
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}

function shapeOf(shape: TensorShape | undefined, field: string, what: string): number[] {
  if (shape?.unknown_rank) throw new Error(`${what}: ${field} is of unknown rank`);
  return checkShape((shape?.dim ?? []).map((d) => d.size), field, what);
}

/** Reads a bundle's `.index` file (`what` names it in errors). */
export function readBundleIndex(index: Uint8Array, what: string): BundleIndex {
  if (index.length < FOOTER_BYTES) throw new Error(`${what}: ${index.length} bytes is too short for a checkpoint index (no footer): truncated`);
  const footerAt = index.length - FOOTER_BYTES;
  if (u32(index, index.length - 8) !== MAGIC_LO || u32(index, index.length - 4) !== MAGIC_HI) {
    throw new Error(`${what}: not a TensorFlow checkpoint index (no SSTable magic number at its end): truncated or another file`);
  }
  const fc = new ByteCursor(index, `${what}: footer`, footerAt, index.length - 8);
  fc.varint('metaindex offset');
  fc.varint('metaindex size');
  const indexHandle = { offset: fc.varint('index offset'), size: fc.varint('index size') };
  const indexBlock = readBlock(index, indexHandle, what, 'index block');
  const utf8 = new TextDecoder('utf-8', { fatal: false });
  const entries: BundleEntry[] = [];
  const blocks: BundleIndex['blocks'] = [];
  let header: BundleHeader | undefined;
  let previous: Uint8Array | undefined;
  const { entries: handles } = blockEntries(indexBlock, what, 'index block');
  handles.forEach(([, value], b) => {
    const h = handle(value, `${what}: index entry ${b}`);
    const label = `data block ${b}`;
    const { entries: kv, restarts } = blockEntries(readBlock(index, h, what, label), what, label);
    blocks.push({ ...h, entries: kv.length, restarts });
    for (const [key, v] of kv) {
      if (previous && compareBytes(previous, key) >= 0) throw new Error(`${what}: ${label}: keys out of order at '${utf8.decode(key)}'`);
      previous = key;
      const name = utf8.decode(key);
      if (key.length === 0) {
        let hp: { num_shards: number; endianness: number; version?: { producer: number } };
        try {
          hp = decodeMessage(BundleHeaderProto, v);
        } catch (err) {
          throw new Error(`${what}: the bundle header is damaged: ${(err as Error).message}`);
        }
        header = { numShards: hp.num_shards, endianness: hp.endianness, producer: hp.version?.producer ?? 0 };
        continue;
      }
      let e: { dtype: number; shape?: TensorShape; shard_id: number; offset: number; size: number; crc32c: number; slices: Uint8Array[] };
      try {
        e = decodeMessage(BundleEntryProto, v);
      } catch (err) {
        throw new Error(`${what}: the entry of '${name}' is damaged: ${(err as Error).message}`);
      }
      if (e.slices.length) throw new Error(`${what}: '${name}' is a partitioned variable (slices), which is not read`);
      const dtype = TF_DTYPES[e.dtype]?.dtype ?? null;
      const shape = shapeOf(e.shape, `'${name}': shape`, what);
      checkCount(e.shard_id, Number.MAX_SAFE_INTEGER, `'${name}': shard_id`, what);
      checkCount(e.offset, Number.MAX_SAFE_INTEGER, `'${name}': offset`, what);
      checkCount(e.size, Number.MAX_SAFE_INTEGER, `'${name}': size`, what);
      // The stated size must be what the dtype and shape need (checked without allocating).
      if (dtype !== null) checkTensorBytes(shape, DTYPE_SIZE[dtype], e.size, `'${name}' (${tfDtypeName(e.dtype)}, ${e.size} bytes):`, what);
      entries.push({ name, dtypeEnum: e.dtype, dtype, shape, shardId: e.shard_id, offset: e.offset, size: e.size, crc32c: e.crc32c >>> 0 });
    }
  });
  if (!header) throw new Error(`${what}: no bundle header (the entry under the empty key)`);
  if (header.endianness !== 0) throw new Error(`${what}: a big-endian checkpoint, which is not read`);
  if (!Number.isSafeInteger(header.numShards) || header.numShards < 1 || header.numShards > 99999) {
    throw new Error(`${what}: the header gives ${header.numShards} data shards`);
  }
  return { header, entries, blocks };
}

/** The data shard file of a prefix: `<prefix>.data-00000-of-00001`. */
export function shardName(prefix: string, shard: number, shards: number): string {
  const n = (v: number) => String(v).padStart(5, '0');
  return `${prefix}.data-${n(shard)}-of-${n(shards)}`;
}

/** A tensor's stored bytes from its shard (`what` names the shard file), its size and CRC checked. */
export function bundleTensorBytes(entry: BundleEntry, shard: Uint8Array, what: string): Uint8Array {
  const n = shapeNumel(entry.shape);
  if (entry.dtype !== null && entry.size !== n * DTYPE_SIZE[entry.dtype]) {
    throw new Error(`${what}: '${entry.name}' (${tfDtypeName(entry.dtypeEnum)} ${formatShape(entry.shape)}) has ${entry.size} bytes, expected ${n * DTYPE_SIZE[entry.dtype]}`);
  }
  checkRange(entry.offset, entry.size, shard.length, `'${entry.name}'`, what);
  const bytes = shard.subarray(entry.offset, entry.offset + entry.size);
  const actual = maskCrc(crc32c(bytes));
  if (actual !== entry.crc32c) {
    throw new Error(`${what}: '${entry.name}' is damaged (CRC-32C of its bytes ${actual.toString(16)}, recorded ${entry.crc32c.toString(16)})`);
  }
  return bytes;
}

/** One tensor of a bundle from its shard's bytes (`what` names the shard file), decoded to f32. */
export function readBundleTensor(entry: BundleEntry, shard: Uint8Array, what: string): HostTensor {
  if (entry.dtype === null) throw new Error(`${what}: '${entry.name}' is a ${tfDtypeName(entry.dtypeEnum)} tensor, which is not read`);
  const bytes = bundleTensorBytes(entry, shard, what);
  return { shape: [...entry.shape], data: decodeToF32(bytes, 0, shapeNumel(entry.shape), entry.dtype), sourceDType: entry.dtype };
}

export interface BundleFiles {
  /** The `.index` file's bytes and its name for errors. */
  index: Uint8Array;
  indexName: string;
  /** The data shard `shard` of `shards`: its bytes and name (`<prefix>.data-NNNNN-of-NNNNN`). */
  shard(shard: number, shards: number): { bytes: Uint8Array; name: string };
}

/**
 * Every tensor of a checkpoint whose dtype we read (string tensors are skipped), each checked
 * against its CRC, as f32 host tensors in key order; `keep` filters by name first.
 */
export function readTfCheckpoint(files: BundleFiles, keep: (name: string) => boolean = () => true): TensorMap {
  const { header, entries } = readBundleIndex(files.index, files.indexName);
  const shards = new Map<number, { bytes: Uint8Array; name: string }>();
  const out: TensorMap = new Map();
  for (const e of entries) {
    if (e.dtype === null || !keep(e.name)) continue;
    if (e.shardId >= header.numShards) throw new Error(`${files.indexName}: '${e.name}' is in shard ${e.shardId}, but the header gives ${header.numShards}`);
    let shard = shards.get(e.shardId);
    if (!shard) shards.set(e.shardId, (shard = files.shard(e.shardId, header.numShards)));
    out.set(e.name, readBundleTensor(e, shard.bytes, shard.name));
  }
  return out;
}
