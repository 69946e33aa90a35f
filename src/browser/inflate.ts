// The browser's stand-in for src/io/inflate.ts: fflate's synchronous zlib coder (label decoding
// is synchronous, and the browser's own DecompressionStream is asynchronous only). fflate leaves
// two checks to its caller that node:zlib makes, so they are made here: the output bound (an
// output buffer of one byte more than allowed: filling it means the data inflates to more), and
// the stream's Adler-32 checksum.
import { unzlibSync, zlibSync } from 'fflate';

/** Adler-32 (RFC 1950, 9) of `bytes`. */
export function adler32(bytes: Uint8Array): number {
  let a = 1;
  let b = 0;
  // 5552 bytes is the most that can be summed before the sums must be reduced (RFC 1950's NMAX).
  for (let i = 0; i < bytes.length; ) {
    const end = Math.min(bytes.length, i + 5552);
    for (; i < end; i++) {
      a += bytes[i];
      b += a;
    }
    a %= 65521;
    b %= 65521;
  }
  return ((b << 16) | a) >>> 0;
}

/** The zlib stream `data` inflated; more than `maxOutputLength` bytes is an error. */
export function inflateZlib(data: Uint8Array, maxOutputLength: number): Uint8Array {
  if (data.length < 2) throw new Error('unexpected end of the compressed data');
  const cmf = data[0];
  const flg = data[1];
  // fflate reads the header leniently; zlib's own checks (RFC 1950, 2.2).
  if ((cmf & 0x0f) !== 8 || cmf >> 4 > 7 || ((cmf << 8) | flg) % 31 !== 0) throw new Error('incorrect header check (not a zlib stream)');
  if (flg & 0x20) throw new Error('a preset dictionary is needed (not used by PNG)');
  if (data.length < 6) throw new Error('unexpected end of the compressed data');
  let out: Uint8Array;
  try {
    out = unzlibSync(data, { out: new Uint8Array(maxOutputLength + 1) });
  } catch (e) {
    throw new Error(`invalid compressed data: ${(e as Error).message}`);
  }
  if (out.length > maxOutputLength) throw new Error(`the data inflates to more than ${maxOutputLength} bytes`);
  const at = data.length - 4;
  const stored = ((data[at] << 24) | (data[at + 1] << 16) | (data[at + 2] << 8) | data[at + 3]) >>> 0;
  if (adler32(out) !== stored) throw new Error('incorrect data check (Adler-32 mismatch)');
  return out;
}

/** `data` as a zlib stream, compressed as far as fflate goes (level 9). */
export function deflateZlib(data: Uint8Array): Uint8Array {
  return zlibSync(data, { level: 9 });
}
