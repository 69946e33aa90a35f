// A folder written whole or not at all, as writeFileAtomic (write-atomic.ts) writes a file: its
// files go into a temporary folder beside it (`.<name>.<pid>.<stamp>.tmp`), each flushed to disk,
// and the temporary folder is renamed into place. A failure part-way removes the temporary folder,
// so `dir` never holds some of the files; a process killed part-way leaves only the hidden
// temporary folder. A folder that already holds files is refused rather than merged into: files
// of its own would stand beside the new ones as if they belonged to them.
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, renameSync, rmSync, rmdirSync, statSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/** A file's path inside the folder: relative, '/'-separated, without '.' or '..' parts. */
function checkedName(name: string, dir: string): string {
  const parts = name.split('/');
  if (!name || name.startsWith('/') || parts.some((p) => p === '' || p === '.' || p === '..' || p.includes('\\'))) {
    throw new Error(`cannot write ${dir}: '${name}' is not a path inside the folder`);
  }
  return name;
}

function writeSynced(path: string, bytes: Uint8Array): void {
  const fd = openSync(path, 'wx');
  try {
    for (let done = 0; done < bytes.byteLength; ) done += writeSync(fd, bytes, done, bytes.byteLength - done);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Writes `files` (paths inside the folder to their bytes) as the folder `dir`, all of them or none; its parent folders are made where missing. */
export function writeFolderAtomic(dir: string, files: ReadonlyMap<string, Uint8Array>): void {
  for (const name of files.keys()) checkedName(name, dir);
  if (existsSync(dir)) {
    if (!statSync(dir).isDirectory()) throw new Error(`cannot write ${dir}: it is a file, not a folder`);
    if (readdirSync(dir).length) throw new Error(`cannot write ${dir}: the folder is not empty (the files written go to a new or empty folder, never among others)`);
  }
  const parent = dirname(dir);
  mkdirSync(parent, { recursive: true });
  const stamp = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;
  const tmp = join(parent, `.${basename(dir)}.${process.pid}.${stamp}.tmp`);
  try {
    mkdirSync(tmp);
    for (const [name, bytes] of files) {
      const path = join(tmp, ...name.split('/'));
      mkdirSync(dirname(path), { recursive: true });
      writeSynced(path, bytes);
    }
    // rename(2) replaces an empty folder on POSIX but not on Windows: remove it first.
    if (existsSync(dir)) rmdirSync(dir);
    renameSync(tmp, dir);
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw new Error(`cannot write ${dir}: ${(e as Error).message}`, { cause: e });
  }
}

