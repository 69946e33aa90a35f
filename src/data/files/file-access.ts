// How the data-set readers (../formats/) reach their files: a few synchronous calls, so the same
// format code reads a folder on disk in Node (node-files.ts) or a folder dropped into a page,
// held in memory (memory-files.ts). Synchronous because the readers are, in Node and in the
// loader's worker threads; a page reads the files it needs into memory first.
export interface FileAccess {
  /** Joins path segments as this file system spells paths. */
  join(...parts: string[]): string;
  /** Whether a file or a folder is at `path`. */
  exists(path: string): boolean;
  isDir(path: string): boolean;
  /** The names of the files and folders in folder `path`, in no particular order. */
  list(path: string): string[];
  readBytes(path: string): Uint8Array;
  /** The file as UTF-8 text (a byte-order mark is kept, as Node's readFileSync keeps it). */
  readText(path: string): string;
  /** For caches: `key` names the file, `version` changes whenever its content may have. */
  version(path: string): { key: string; version: string };
}
