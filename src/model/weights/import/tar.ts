// The files of a tar archive (POSIX ustar and GNU tar, what Python's tarfile and GNU tar write),
// optionally gzipped: 512-byte headers, each file's bytes padded to 512, two zero blocks at the
// end. GNU long names ('L' records) and pax headers' `path` are honoured; links and devices are
// skipped. Every header's checksum is checked, so a damaged archive is named, not misread.
import { gunzipSync } from 'fflate';
import { crc32 } from '../../../util/crc32.js';

const BLOCK = 512;

function text(b: Uint8Array, from: number, n: number): string {
  const field = b.subarray(from, from + n);
  const end = field.indexOf(0);
  return new TextDecoder().decode(end < 0 ? field : field.subarray(0, end));
}

function octal(b: Uint8Array, from: number, n: number, what: string): number {
  // GNU's base-256 form for large sizes: the first byte's top bit set.
  if (b[from] & 0x80) {
    let v = 0;
    for (let i = 1; i < n; i++) v = v * 256 + b[from + i];
    return v;
  }
  const s = text(b, from, n).trim();
  if (s === '') return 0;
  if (!/^[0-7]+$/.test(s)) throw new Error(`${what}: bad octal field '${s}'`);
  return parseInt(s, 8);
}

/** Whether the bytes are gzip's (magic 1f 8b). */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/**
 * gzip's trailer holds the CRC-32 and length (mod 2^32) of what it compressed; fflate does not
 * check it, and some archives (the TF zoo's) publish no checksum of their own. Where the length
 * matches (one gzip member, as these archives are), the CRC must too.
 */
function checkGzipTrailer(archive: Uint8Array, data: Uint8Array, what: string): void {
  if (archive.length < 18) return;
  const trailer = new DataView(archive.buffer, archive.byteOffset + archive.length - 8, 8);
  if (trailer.getUint32(4, true) !== data.length % 2 ** 32) return;
  const want = trailer.getUint32(0, true);
  const got = crc32(data);
  if (got !== want) {
    throw new Error(`${what}: damaged gzip data (CRC-32 ${got.toString(16).padStart(8, '0')}, the trailer says ${want.toString(16).padStart(8, '0')})`);
  }
}

/** The regular files of a tar (or .tar.gz) archive by path, in archive order. */
export function readTar(archive: Uint8Array, what: string): Map<string, Uint8Array> {
  let tar = archive;
  if (isGzip(archive)) {
    try {
      tar = gunzipSync(archive);
    } catch (e) {
      throw new Error(`${what}: damaged or truncated gzip data (${(e as Error).message})`);
    }
    checkGzipTrailer(archive, tar, what);
  }
  const files = new Map<string, Uint8Array>();
  let pos = 0;
  let longName: string | undefined;
  while (pos + BLOCK <= tar.length) {
    const h = tar.subarray(pos, pos + BLOCK);
    if (h.every((b) => b === 0)) return files;
    const at = `${what}: tar header at byte ${pos}`;
    let sum = 0;
    for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : h[i];
    if (sum !== octal(h, 148, 8, at)) throw new Error(`${at}: checksum mismatch (not a tar archive, or damaged)`);
    const size = octal(h, 124, 12, at);
    const type = String.fromCharCode(h[156] || 0x30);
    const start = pos + BLOCK;
    if (start + size > tar.length) throw new Error(`${at}: its ${size} bytes run past the end of the archive: truncated`);
    const body = tar.subarray(start, start + size);
    pos = start + Math.ceil(size / BLOCK) * BLOCK;
    if (type === 'L') {
      longName = text(body, 0, body.length);
      continue;
    }
    if (type === 'x') {
      const m = /(?:^|\n)\d+ path=([^\n]*)\n/.exec(new TextDecoder().decode(body));
      if (m) longName = m[1];
      continue;
    }
    const prefix = text(h, 345, 155);
    const name = longName ?? (prefix ? `${prefix}/${text(h, 0, 100)}` : text(h, 0, 100));
    longName = undefined;
    if (type === '0' || type === '7') files.set(name.replace(/^\.\//, ''), body);
  }
  if (files.size === 0) throw new Error(`${what}: not a tar archive (no file in it)`);
  throw new Error(`${what}: the archive ends without its end-of-archive blocks: truncated`);
}
