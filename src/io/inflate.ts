// zlib streams for the PNG code: Node's zlib here; the browser bundle swaps this module for
// src/browser/inflate.ts (fflate's synchronous coder: the browser's DecompressionStream is
// asynchronous, and label decoding is synchronous).
import { deflateSync, inflateSync } from 'node:zlib';

/** The zlib stream `data` inflated; more than `maxOutputLength` bytes is an error. */
export function inflateZlib(data: Uint8Array, maxOutputLength: number): Uint8Array {
  return inflateSync(data, { maxOutputLength });
}

/** `data` as a zlib stream, compressed as far as zlib goes (level 9). */
export function deflateZlib(data: Uint8Array): Uint8Array {
  return deflateSync(data, { level: 9 });
}
