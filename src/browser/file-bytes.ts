// The browser's stand-in for src/io/file-bytes.ts: a page has no file system, so a reader handed a
// path (rather than bytes) says what to pass instead.
export function readFileBytes(path: string): Uint8Array {
  throw new Error(`deeplab: ${path}: a page cannot read a file by its path; pass the file's bytes (fetch a URL, or read a File or Blob)`);
}
