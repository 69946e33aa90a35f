// A whole file's bytes by its path, for the readers that take a path or bytes (weights, masks):
// Node's file system here. The browser bundle swaps this module for src/browser/file-bytes.ts, as
// the page has no paths, only URLs, Files and bytes; the readers themselves import nothing of Node.
import { readFileSync } from 'node:fs';

/** The bytes of the file at `path` (fs' own error when it cannot be read). */
export function readFileBytes(path: string): Uint8Array {
  return readFileSync(path);
}
