// Writes a whole file or nothing: the bytes go to a temporary file next to `path`, which is
// renamed into place only once complete, so a crash or a full disk never leaves a half-written
// file at `path`. The bytes may come in parts (a checkpoint's header and tensors), written in
// order without first joining them into one buffer.
import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';

export function writeFileAtomically(path: string, bytes: Uint8Array | readonly Uint8Array[]): void {
  const parts = bytes instanceof Uint8Array ? [bytes] : bytes;
  const tmp = `${path}.${process.pid}.${Date.now()}.tmp`;
  let fd: number | undefined;
  try {
    fd = openSync(tmp, 'w');
    // write() may write less than asked (a disk filling up, a file-size limit): loop, so a short
    // file is never renamed into place.
    for (const part of parts) {
      for (let done = 0; done < part.byteLength; ) done += writeSync(fd, part, done, part.byteLength - done);
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
