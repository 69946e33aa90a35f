// Minimal zip reader for checkpoint archives: finds the central directory (zip64 aware, which
// torch.save always writes), and returns each entry's bytes: a view for stored entries, inflated
// for deflated ones. CRCs are verified so a corrupt archive fails here, not as garbage weights.
// Inflation is fflate's and the CRC our own, so the same reader runs in Node and in the page.
import { inflateSync } from 'fflate';
import { checkRange } from '../../../io/reader-rules.js';
import { crc32 } from '../../../util/crc32.js';

const SIG_LOCAL = 0x04034b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_EOCD = 0x06054b50;
const SIG_ZIP64_LOCATOR = 0x07064b50;
const SIG_ZIP64_EOCD = 0x06064b50;
const EOCD_SIZE = 22;
const MAX_COMMENT = 0xffff;

/** Every read is checked against the buffer, so a damaged offset is an error naming what was read. */
class Reader {
  readonly view: DataView;
  constructor(readonly buf: Uint8Array) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }
  need(pos: number, n: number, what: string): void {
    checkRange(pos, n, this.buf.length, what, 'truncated zip archive', 'the archive');
  }
  u16(pos: number, what = 'field'): number {
    this.need(pos, 2, what);
    return this.view.getUint16(pos, true);
  }
  u32(pos: number, what = 'field'): number {
    this.need(pos, 4, what);
    return this.view.getUint32(pos, true);
  }
  u64(pos: number, what: string): number {
    this.need(pos, 8, what);
    const v = this.view.getBigUint64(pos, true);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new Error(`zip archive: ${what} ${v} is too large`);
    return Number(v);
  }
}

interface Directory {
  entries: number;
  offset: number;
  size: number;
}

/** Locates the end-of-central-directory record, scanning back over a possible comment. */
function findDirectory(r: Reader): Directory {
  const buf = r.buf;
  const startsLikeZip = buf.length >= 4 && r.u32(0) === SIG_LOCAL;
  if (buf.length < EOCD_SIZE) {
    throw new Error(startsLikeZip ? 'truncated zip archive (no end of central directory)' : 'not a zip archive');
  }
  let eocd = -1;
  const stop = Math.max(0, buf.length - EOCD_SIZE - MAX_COMMENT);
  for (let p = buf.length - EOCD_SIZE; p >= stop; p--) {
    if (buf[p] === 0x50 && r.u32(p) === SIG_EOCD && p + EOCD_SIZE + r.u16(p + 20) <= buf.length) {
      eocd = p;
      break;
    }
  }
  if (eocd < 0) {
    throw new Error(startsLikeZip ? 'truncated zip archive (no end of central directory)' : 'not a zip archive');
  }
  let dir: Directory = { entries: r.u16(eocd + 10), size: r.u32(eocd + 12), offset: r.u32(eocd + 16) };
  const loc = eocd - 20;
  if (loc >= 0 && r.u32(loc) === SIG_ZIP64_LOCATOR) {
    const z = r.u64(loc + 8, 'zip64 end of central directory offset');
    r.need(z, 56, 'zip64 end of central directory');
    if (r.u32(z) !== SIG_ZIP64_EOCD) throw new Error('corrupt zip archive: bad zip64 end of central directory signature');
    dir = {
      entries: r.u64(z + 32, 'entry count'),
      size: r.u64(z + 40, 'central directory size'),
      offset: r.u64(z + 48, 'central directory offset'),
    };
  }
  r.need(dir.offset, dir.size, 'central directory');
  return dir;
}

/** One file entry of the central directory, with where its data lies. */
interface Entry {
  name: string;
  /** The name as error messages show it (control characters escaped). */
  label: string;
  method: number;
  crc: number;
  compSize: number;
  size: number;
  local: number;
  dataStart: number;
}

/** A name as it can be shown in a message: as is, or JSON-quoted when it holds control characters. */
function printable(name: string): string {
  return /[\u0000-\u001f\u007f-\u009f]/.test(name) ? JSON.stringify(name) : name;
}

/** Deflate's best ratio is 1032:1; an entry claiming more than that is corrupt (or a bomb). */
const MAX_DEFLATE_RATIO = 1032;

/**
 * The central directory's file entries (directories skipped), each checked against its local
 * header (signature, method, same name) and the buffer, before any data is read or inflated: no
 * two entries may share bytes, so no archive can inflate one block many times.
 */
function readEntries(r: Reader, dir: Directory): Entry[] {
  const buf = r.buf;
  const utf8 = new TextDecoder('utf-8');
  const end = dir.offset + dir.size;
  if (dir.entries * 46 > dir.size) {
    throw new Error(`corrupt zip archive: ${dir.entries} entries cannot fit a central directory of ${dir.size} bytes`);
  }
  const entries: Entry[] = [];
  let p = dir.offset;
  for (let k = 0; k < dir.entries; k++) {
    if (p + 46 > end) throw new Error(`corrupt zip archive: central directory entry ${k} at offset ${p} runs past the directory's end (${end})`);
    if (r.u32(p) !== SIG_CENTRAL) throw new Error(`corrupt zip archive: bad central directory entry ${k} at offset ${p}`);
    const flags = r.u16(p + 8);
    const method = r.u16(p + 10);
    const crc = r.u32(p + 16);
    let compSize = r.u32(p + 20);
    let size = r.u32(p + 24);
    const nameLen = r.u16(p + 28);
    const extraLen = r.u16(p + 30);
    const commentLen = r.u16(p + 32);
    let local = r.u32(p + 42);
    const next = p + 46 + nameLen + extraLen + commentLen;
    if (next > end) throw new Error(`corrupt zip archive: central directory entry ${k} at offset ${p} runs past the directory's end (${end})`);
    const nameBytes = buf.subarray(p + 46, p + 46 + nameLen);
    const name = utf8.decode(nameBytes);
    const label = printable(name);
    // Zip64 extra field: only the fields saturated in the fixed header are present, in this order.
    const extraEnd = p + 46 + nameLen + extraLen;
    for (let e = p + 46 + nameLen; e + 4 <= extraEnd; ) {
      const id = r.u16(e);
      const len = r.u16(e + 2);
      if (e + 4 + len > extraEnd) throw new Error(`corrupt zip archive: extra field of ${label} overruns its entry`);
      if (id === 0x0001) {
        let q = e + 4;
        const take = (): number => {
          if (q + 8 > e + 4 + len) throw new Error(`corrupt zip archive: short zip64 extra field for ${label}`);
          const v = r.u64(q, `zip64 field of ${label}`);
          q += 8;
          return v;
        };
        if (size === 0xffffffff) size = take();
        if (compSize === 0xffffffff) compSize = take();
        if (local === 0xffffffff) local = take();
      }
      e += 4 + len;
    }
    p = next;
    if (name.endsWith('/')) continue;
    if (flags & 1) throw new Error(`zip archive: entry ${label} is encrypted (not supported)`);

    r.need(local, 30, `local header of ${label}`);
    if (r.u32(local) !== SIG_LOCAL) throw new Error(`corrupt zip archive: bad local header for ${label} at offset ${local}`);
    const localNameLen = r.u16(local + 26);
    r.need(local + 30, localNameLen, `local header of ${label}`);
    const localName = buf.subarray(local + 30, local + 30 + localNameLen);
    if (localNameLen !== nameLen || !localName.every((b, i) => b === nameBytes[i])) {
      throw new Error(`corrupt zip archive: the local header at offset ${local} names ${printable(utf8.decode(localName))}, the central directory ${label}`);
    }
    const localMethod = r.u16(local + 8);
    if (localMethod !== method) {
      throw new Error(`corrupt zip archive: ${label} is compressed with method ${method} in the central directory, ${localMethod} in its local header`);
    }
    // The local header's extra field can differ from the central one (torch pads it to align data).
    const dataStart = local + 30 + localNameLen + r.u16(local + 28);
    r.need(dataStart, compSize, `data of ${label}`);
    if (method === 8 && size > compSize * MAX_DEFLATE_RATIO + 1024) {
      throw new Error(`corrupt zip archive: ${label} claims ${size} bytes from ${compSize} deflated, more than deflate can produce`);
    }
    entries.push({ name, label, method, crc, compSize, size, local, dataStart });
  }
  const byStart = [...entries].sort((x, y) => x.local - y.local);
  for (let i = 1; i < byStart.length; i++) {
    const prev = byStart[i - 1];
    if (byStart[i].local < prev.dataStart + prev.compSize) {
      throw new Error(`corrupt zip archive: entries ${prev.label} and ${byStart[i].label} overlap (at offset ${byStart[i].local})`);
    }
  }
  return entries;
}

/** name -> bytes for every file entry (directories skipped), in central-directory order. */
export function readZip(buf: Uint8Array): Map<string, Uint8Array> {
  const r = new Reader(buf);
  const out = new Map<string, Uint8Array>();
  for (const { name, label, method, crc, compSize, size, dataStart } of readEntries(r, findDirectory(r))) {
    const raw = buf.subarray(dataStart, dataStart + compSize);
    let data: Uint8Array;
    if (method === 0) {
      if (compSize !== size) throw new Error(`corrupt zip archive: stored entry ${label} has sizes ${compSize} != ${size}`);
      data = raw;
    } else if (method === 8) {
      try {
        // Into a buffer one byte longer than declared: a lying header cannot make this allocate
        // more, and fflate, which stops at the buffer's end, fills it only when the data is longer.
        data = inflateSync(raw, { out: new Uint8Array(size + 1) });
      } catch (e) {
        throw new Error(`corrupt zip archive: cannot inflate ${label} to its declared ${size} bytes: ${(e as Error).message}`);
      }
      if (data.length > size) throw new Error(`corrupt zip archive: ${label} inflates to more than its declared ${size} bytes`);
      if (data.length !== size) throw new Error(`corrupt zip archive: ${label} inflated to ${data.length} bytes, expected ${size}`);
    } else {
      throw new Error(`zip archive: unsupported compression method ${method} for entry ${label}`);
    }
    if (crc32(data) !== crc) throw new Error(`corrupt zip archive: CRC mismatch for entry ${label}`);
    if (out.has(name)) throw new Error(`corrupt zip archive: two entries are named ${label}`);
    out.set(name, data);
  }
  return out;
}
