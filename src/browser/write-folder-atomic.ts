// The browser's stand-in for src/util/write-folder-atomic.ts: a page has no file system to write a
// folder into; the folder's files are zipped for a download instead (export-model.ts).
export function writeFolderAtomic(dir: string): void {
  throw new Error(`deeplab: cannot write ${dir}: a page has no file system; take the folder as a zip (exportModel) and download it`);
}
