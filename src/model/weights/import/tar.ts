// The files of a tar archive (POSIX ustar and GNU tar, what Python's tarfile and GNU tar write),
// optionally gzipped: 512-byte headers, each file's bytes padded to 512, two zero blocks at the
// end. GNU long names ('L' records) and pax headers' `path` are honoured; links and devices are
// skipped. Every header's checksum is checked, so a damaged archive is named, not misread, and
// each size is checked against the archive before its bytes are taken. gzip is src/io/gunzip.ts.
import { checkCount, checkRange } from '../../../io/reader-rules.js';
import { gunzip, isGzip } from '../../../io/gunzip.js';

export { isGzip } from '../../../io/gunzip.js';

const BLOCK = 512;

function text(b: Uint8Array, from: number, n: number): string {
  const field = b.subarray(from, from + n);
  const end = field.indexOf(0);
  return new TextDecoder().decode(end < 0 ? field : field.subarray(0, end));
}

/** A numeric header field: octal text, or GNU's base-256 form for large sizes (the first byte's top bit set). */
function octal(b: Uint8Array, from: number, n: number, field: string, what: string): number {
  if (b[from] & 0x80) {
    let v = b[from] & 0x7f;
    for (let i = 1; i < n; i++) v = v * 256 + b[from + i];
    return checkCount(v, Number.MAX_SAFE_INTEGER, field, what);
  }
  const s = text(b, from, n).trim();
  if (s === '') return 0;
  if (!/^[0-7]+$/.test(s)) throw new Error(`${what}: bad octal ${field} '${s}'`);
  return parseInt(s, 8);
}

/** The regular files of a tar (or .tar.gz) archive by path, in archive order. */
export function readTar(archive: Uint8Array, what: string): Map<string, Uint8Array> {
  let tar = archive;
  if (isGzip(archive)) tar = gunzip(archive, what);
  const files = new Map<string, Uint8Array>();
  let pos = 0;
  let longName: string | undefined;
  while (pos + BLOCK <= tar.length) {
    const h = tar.subarray(pos, pos + BLOCK);
    if (h.every((b) => b === 0)) return files;
    const at = `${what}: tar header at byte ${pos}`;
    let sum = 0;
    for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : h[i];
    if (sum !== octal(h, 148, 8, 'checksum', at)) throw new Error(`${at}: checksum mismatch (not a tar archive, or damaged)`);
    const size = octal(h, 124, 12, 'size', at);
    const type = String.fromCharCode(h[156] || 0x30);
    const start = pos + BLOCK;
    checkRange(start, size, tar.length, `its data (size field ${size})`, at);
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
