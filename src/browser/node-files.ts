// The browser's stand-in for src/data/files/node-files.ts: the data-set readers' default file
// access, the disk, does not exist in a page. A page passes the files of a dropped folder
// (memory-files.ts, readDroppedFolder) to every reader instead.
import type { FileAccess } from '../data/files/file-access.js';

const none = (path: string): never => {
  throw new Error(`deeplab: ${path}: a page has no file system; give the readers the files of a dropped folder (readDroppedFolder)`);
};

export const nodeFiles: FileAccess = {
  join: (...parts) => parts.join('/'),
  exists: none,
  isDir: none,
  list: none,
  readBytes: none,
  readText: none,
  version: none,
};
