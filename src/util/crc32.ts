// CRC-32 (ISO 3309 / ITU-T V.42), as PNG chunks, gzip members and zip entries carry it. Node's
// zlib computes it where it has it (Node 20.15 and later): every entry of a zip checkpoint goes
// through it as it loads, and zlib's is about 15x the table-driven loop's speed (a 44 MB
// checkpoint's bytes in 20 ms rather than 290 on the test host). The browser bundle swaps this
// module for src/browser/crc32.ts.
import zlib from 'node:zlib';
import { crc32Table } from './crc32-table.js';

const zlibCrc32 = (zlib as { crc32?: (data: Uint8Array, value?: number) => number }).crc32;

/** CRC-32 over `parts` in order (the same as over their concatenation). */
export function crc32(...parts: Uint8Array[]): number {
  if (!zlibCrc32) return crc32Table(...parts);
  let c = 0;
  for (const p of parts) c = zlibCrc32(p, c);
  return c >>> 0;
}
