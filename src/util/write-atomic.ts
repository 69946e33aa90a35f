// The project's one way to write a file whole or not at all: the bytes go to a temporary file in
// the same folder (`.<name>.<pid>.<stamp>.tmp`), flushed to disk, then renamed over `path`, so
// readers see the old file or the complete new one, and a crash, a full disk or a kill part-way
// never leaves a half-written file at `path`. The bytes may come in parts (a checkpoint's header
// and tensors), written in order without first joining them into one buffer. (A run removes the
// temporary files a killed process leaves behind: src/train/temp-files.ts; in the browser bundle,
// src/browser/write-atomic.ts stands in for this module.)
import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/** Writes `data` (one buffer, or parts written one after another) to `path` atomically. */
export function writeFileAtomic(path: string, data: Uint8Array | readonly Uint8Array[]): void {
  const parts = data instanceof Uint8Array ? [data] : data;
  const stamp = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${stamp}.tmp`);
  let fd: number | undefined;
  try {
    fd = openSync(tmp, 'wx');
    // write() may write less than asked (a disk filling up, a file-size limit): loop, so a short
    // file is never renamed into place.
    for (const bytes of parts) {
      for (let done = 0; done < bytes.byteLength; ) done += writeSync(fd, bytes, done, bytes.byteLength - done);
    }
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    renameSync(tmp, path);
  } catch (e) {
    try {
      if (fd !== undefined) closeSync(fd);
    } catch {
      // the write's error is the one to report
    }
    rmSync(tmp, { force: true });
    throw new Error(`cannot write ${path}: ${(e as Error).message}`, { cause: e });
  }
}
