// gzip (RFC 1952) decompression as the RFC reads, in Node and the page alike: every member's
// header is checked (magic, method, flags, its optional fields within the bytes), its data
// inflated by fflate, and its trailer's CRC-32 and length (ISIZE, mod 2^32) both compared with
// what came out. A stream of several members (what `cat a.gz b.gz` makes) is one stream, and
// zero bytes after the last member (tape-block padding) are accepted; other trailing bytes are
// not. The output is bounded, so a small file cannot inflate without limit.
import { Gunzip } from 'fflate';
import { crc32 } from '../util/crc32.js';
import { ByteCursor } from './byte-cursor.js';

/** Deflate's best ratio is 1032:1: more output per input byte is damage, or a bomb. */
const MAX_DEFLATE_RATIO = 1032;
/** Bytes fed to the inflater at a time, so the output is checked against the bound as it grows. */
const CHUNK = 1 << 16;
const FLAG_HCRC = 2;
const FLAG_EXTRA = 4;
const FLAG_NAME = 8;
const FLAG_COMMENT = 16;

/** Whether the bytes open as gzip does (magic 1f 8b). */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/** An error of ours, told apart from fflate's when it passes through fflate's callbacks. */
class GzipError extends Error {}

/** Checks the member header at `at` (RFC 1952, 2.3); returns where its deflate data starts. */
function memberHeader(bytes: Uint8Array, at: number, what: string): number {
  const c = new ByteCursor(bytes, `${what}: gzip member at byte ${at}`, at);
  c.need(10, 'header');
  if (c.u8('magic') !== 0x1f || c.u8('magic') !== 0x8b) throw new GzipError(`${c.what}: no gzip magic number (1f 8b)`);
  const method = c.u8('compression method');
  if (method !== 8) throw new GzipError(`${c.what}: compression method ${method} is not deflate (8)`);
  const flags = c.u8('flags');
  if (flags & 0xe0) throw new GzipError(`${c.what}: reserved flag bits are set (flags ${flags.toString(16)})`);
  c.skip(6, 'mtime, extra flags and OS');
  if (flags & FLAG_EXTRA) c.skip(c.u16('extra field length'), 'extra field');
  for (const [flag, field] of [[FLAG_NAME, 'file name'], [FLAG_COMMENT, 'comment']] as const) {
    if (!(flags & flag)) continue;
    const end = bytes.subarray(c.pos, c.end).indexOf(0);
    if (end < 0) throw new GzipError(`${c.what}: its ${field} has no terminating zero byte: truncated or damaged`);
    c.skip(end + 1, field);
  }
  if (flags & FLAG_HCRC) {
    const header = bytes.subarray(at, c.pos);
    const stored = c.u16('header CRC');
    if ((crc32(header) & 0xffff) !== stored) throw new GzipError(`${c.what}: damaged header (its CRC-16 does not match)`);
  }
  return c.pos;
}

const hex = (v: number): string => v.toString(16).padStart(8, '0');

/** Compares a member's trailer at `at` with its output; throws naming what differs. */
function checkTrailer(bytes: Uint8Array, at: number, out: Uint8Array[], length: number, what: string): void {
  const c = new ByteCursor(bytes, `${what}: gzip member trailer at byte ${at}`, at);
  const storedCrc = c.u32('CRC-32');
  const storedLength = c.u32('length (ISIZE)');
  const crc = crc32(...out);
  if (storedLength !== length % 2 ** 32) {
    throw new GzipError(`${what}: damaged gzip data (the member inflates to ${length} bytes, its trailer says ${storedLength} mod 2^32)`);
  }
  if (crc !== storedCrc) throw new GzipError(`${what}: damaged gzip data (CRC-32 ${hex(crc)}, the trailer says ${hex(storedCrc)})`);
}

/** Whether the 8 bytes at `at` are the trailer of `out` (its CRC-32 and length). */
function trailerMatches(bytes: Uint8Array, at: number, crc: number, length: number): boolean {
  if (at < 0 || at + 8 > bytes.length) return false;
  const v = new DataView(bytes.buffer, bytes.byteOffset + at, 8);
  return v.getUint32(0, true) === crc && v.getUint32(4, true) === length % 2 ** 32;
}

/**
 * The bytes a gzip stream decompresses to: every member, one after another. `what` names the
 * file in errors; `maxOutput` bounds the output (at most deflate's 1032:1 of the input anyway).
 */
export function gunzip(bytes: Uint8Array, what: string, maxOutput = Number.MAX_SAFE_INTEGER): Uint8Array {
  const limit = Math.min(maxOutput, bytes.length * MAX_DEFLATE_RATIO);
  memberHeader(bytes, 0, what);
  const chunks: Uint8Array[] = [];
  let total = 0;
  // The current member: where it starts, and its output so far.
  let start = 0;
  let member: Uint8Array[] = [];
  let memberLength = 0;
  const g = new Gunzip();
  g.ondata = ours((chunk: Uint8Array) => {
    if (chunk.length === 0) return;
    total += chunk.length;
    if (total > limit) throw new GzipError(`${what}: the gzip data inflates to more than ${limit} bytes`);
    chunks.push(chunk);
    member.push(chunk);
    memberLength += chunk.length;
  });
  // A new member begins at `offset`: the previous one's trailer is the 8 bytes before it.
  g.onmember = ours((offset: number) => {
    if (offset - 8 < start + 10) throw new GzipError(`${what}: gzip member at byte ${start} has no room for its trailer`);
    checkTrailer(bytes, offset - 8, member, memberLength, what);
    memberHeader(bytes, offset, what);
    start = offset;
    member = [];
    memberLength = 0;
  });
  let failure: Error | undefined;
  try {
    for (let at = 0; at < bytes.length; at += CHUNK) g.push(bytes.subarray(at, Math.min(bytes.length, at + CHUNK)), at + CHUNK >= bytes.length);
  } catch (e) {
    if (e instanceof GzipError) throw e;
    // fflate's own error; zero padding after the last member ends here too (it is no member).
    failure = e as Error;
  }
  // The last member's trailer ends where only zero bytes follow (or at the end).
  let zerosFrom = bytes.length;
  while (zerosFrom > start && bytes[zerosFrom - 1] === 0) zerosFrom--;
  const crc = crc32(...member);
  for (let end = zerosFrom; end <= Math.min(bytes.length, zerosFrom + 8); end++) {
    if (end - 8 >= start + 10 && trailerMatches(bytes, end - 8, crc, memberLength)) return concatChunks(chunks, total);
  }
  if (failure) throw new Error(`${what}: damaged or truncated gzip data (${failure.message})`);
  // For the message: the trailer at the end, or where the zero padding starts.
  const end = bytes.length - zerosFrom < 8 ? bytes.length : zerosFrom;
  if (end - 8 < start + 10) throw new Error(`${what}: truncated gzip data (the member at byte ${start} has no trailer)`);
  checkTrailer(bytes, end - 8, member, memberLength, what);
  throw new Error(`${what}: damaged gzip data (bytes after the last member's trailer)`);
}

/** A callback whose errors pass through fflate as ours, told apart from fflate's own. */
function ours<A extends unknown[]>(fn: (...args: A) => void): (...args: A) => void {
  return (...args) => {
    try {
      fn(...args);
    } catch (e) {
      throw e instanceof GzipError ? e : new GzipError((e as Error).message);
    }
  };
}

function concatChunks(chunks: Uint8Array[], total: number): Uint8Array {
  if (chunks.length === 1) return chunks[0];
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}
