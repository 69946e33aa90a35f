// The browser's stand-in for src/util/write-atomic.ts: a page has no file system to save into;
// checkpointBytes() gives a checkpoint's bytes to download or store instead.
export function writeFileAtomic(path: string): void {
  throw new Error(`deeplab: cannot write ${path}: a page has no file system; take the bytes (checkpointBytes) and download or store them`);
}
