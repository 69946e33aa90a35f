// zlib decompression for the PNG readers: Node's zlib here; the browser bundle swaps this module
// for src/browser/inflate.ts (fflate's synchronous decoder: the browser's DecompressionStream is
// asynchronous, and label decoding is synchronous).
import { inflateSync } from 'node:zlib';

/** The zlib stream `data` inflated; more than `maxOutputLength` bytes is an error. */
export function inflateZlib(data: Uint8Array, maxOutputLength: number): Uint8Array {
  return inflateSync(data, { maxOutputLength });
}
