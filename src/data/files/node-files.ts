// The file access of Node: the disk, through node:fs, exactly as the readers used it directly
// (the errors are fs's own).
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { FileAccess } from './file-access.js';

export const nodeFiles: FileAccess = {
  join,
  exists: (path) => existsSync(path),
  isDir: (path) => existsSync(path) && statSync(path).isDirectory(),
  list: (path) => readdirSync(path),
  readBytes: (path) => readFileSync(path),
  readText: (path) => readFileSync(path, 'utf8'),
  version(path) {
    const key = resolve(path);
    const stat = statSync(key);
    return { key, version: `${stat.size}:${stat.mtimeMs}` };
  },
};
