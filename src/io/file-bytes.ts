// A whole file's bytes by its path, for the readers that take a path or bytes (weights, their
// configs, masks): Node's file system here, under the readers' file rules (src/io/reader-rules.ts).
// Only a regular file is read, a symbolic link followed and its target checked the same way: a
// directory, a FIFO (which would block), a device (/dev/zero would read forever) or a socket is
// refused naming the path. Its size is checked against a cap before anything is read, and no more
// than the size the file had when opened is read. The browser bundle swaps this module for
// src/browser/file-bytes.ts, as the page has no paths, only URLs, Files and bytes.
import { closeSync, constants, fstatSync, lstatSync, openSync, readSync, readlinkSync, realpathSync, type Stats } from 'node:fs';
import { FILE_LIMITS, checkFileSize } from './reader-rules.js';

/** What a file that is not a regular one is, in words. */
function kindOf(s: Stats): string {
  if (s.isDirectory()) return 'a folder';
  if (s.isFIFO()) return 'a FIFO (named pipe)';
  if (s.isCharacterDevice()) return 'a character device';
  if (s.isBlockDevice()) return 'a block device';
  if (s.isSocket()) return 'a socket';
  return 'not a regular file';
}

/** " (a link to TARGET)" where `path` is a symbolic link, else "". */
function linkNote(path: string): string {
  try {
    if (!lstatSync(path).isSymbolicLink()) return '';
    return ` (a link to ${realpathSync(path)})`;
  } catch {
    return ' (a link)';
  }
}

/** Where `path` links to, where it is a symbolic link (whose target, it being opened in vain, does not exist). */
function danglingTarget(path: string): string | undefined {
  try {
    return lstatSync(path).isSymbolicLink() ? readlinkSync(path) : undefined;
  } catch {
    return undefined;
  }
}

/** Node's message for a failed open, without the path it repeats ("ENOENT: no such file or directory"). */
function reason(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  const text = err.message ?? String(e);
  const comma = text.indexOf(', open');
  return comma > 0 ? text.slice(0, comma) : text;
}

/**
 * The bytes of the regular file at `path`, at most `maxBytes` of them (a weights file's cap by
 * default). Every error starts with `path`.
 */
export function readFileBytes(path: string, maxBytes: number = FILE_LIMITS.weights): Uint8Array {
  let fd: number;
  try {
    // Non-blocking, so that opening a FIFO returns at once (and is then refused); no effect on files.
    fd = openSync(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  } catch (e) {
    const dangling = (e as NodeJS.ErrnoException).code === 'ENOENT' ? danglingTarget(path) : undefined;
    throw new Error(dangling === undefined ? `${path}: ${reason(e)}` : `${path}: a link to ${dangling}, which does not exist`, { cause: e });
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) throw new Error(`${path}: ${kindOf(stat)}${linkNote(path)}, not a file`);
    checkFileSize(stat.size, maxBytes, path);
    const bytes = new Uint8Array(stat.size);
    let at = 0;
    while (at < bytes.length) {
      const n = readSync(fd, bytes, at, bytes.length - at, at);
      if (n === 0) throw new Error(`${path}: ended after ${at} of its ${bytes.length} bytes (the file changed while it was read)`);
      at += n;
    }
    return bytes;
  } finally {
    closeSync(fd);
  }
}
