// The origin private file system (OPFS), as the page's checkpoints and kept models use it: a
// directory by a '/'-separated name under the origin's root, and files read and written whole.
// A write goes through a FileSystemWritableFileStream, whose bytes the browser holds apart
// (Chromium in a swap file beside it) until close() puts them in place at once: a page reloaded,
// a worker terminated or a quota reached part-way leaves the file as it was. Before writing, the
// origin's quota is asked (navigator.storage.estimate()), so a write that cannot fit is refused
// naming the bytes it needs and those free, rather than started.
import { StorageFullError, formatBytes } from '../train/run-store.js';

/** The root of the origin's private file system, or an error saying why there is none. */
async function opfsRoot(what: string): Promise<FileSystemDirectoryHandle> {
  const storage = typeof navigator === 'undefined' ? undefined : navigator.storage;
  if (typeof storage?.getDirectory !== 'function') throw new Error(`${what}: this browser gives the page no private file system (navigator.storage.getDirectory)`);
  try {
    return await storage.getDirectory();
  } catch (e) {
    throw new Error(`${what}: the browser refused its private file system (${(e as Error).message}; a private window may)`, { cause: e });
  }
}

/** A directory name's parts: '/'-separated (a slash at either end ignored), none empty, '.' or '..'. */
function nameParts(name: string, what: string): string[] {
  const parts = name.replace(/^\/|\/$/g, '').split('/');
  if (parts.some((p) => p === '' || p === '.' || p === '..' || p.includes('\\'))) {
    throw new Error(`${what}: '${name}' is not a directory name of the origin's private file system ('/'-separated names, none empty, '.' or '..')`);
  }
  return parts;
}

/** The OPFS directory `name` (made where missing with `create`; else a missing one is an error naming it). */
export async function opfsDirectory(name: string, what: string, create: boolean): Promise<FileSystemDirectoryHandle> {
  let dir = await opfsRoot(what);
  for (const part of nameParts(name, what)) {
    try {
      dir = await dir.getDirectoryHandle(part, { create });
    } catch (e) {
      if ((e as DOMException).name === 'NotFoundError') throw new Error(`${what}: no directory '${name}' in this origin's private file system`, { cause: e });
      if ((e as DOMException).name === 'TypeMismatchError') throw new Error(`${what}: '${name}' is a file in this origin's private file system, not a directory`, { cause: e });
      throw e;
    }
  }
  return dir;
}

/** Whether `x` is a directory handle (by shape: a handle from another realm is one too). */
export function isDirectoryHandle(x: unknown): x is FileSystemDirectoryHandle {
  const h = x as Partial<FileSystemDirectoryHandle> | null;
  return typeof h === 'object' && h !== null && h.kind === 'directory' && typeof h.getFileHandle === 'function';
}

/** A file's bytes, or null where the directory has none of that name (or an empty one: a write cut off before its first byte). */
export async function readOpfsFile(dir: FileSystemDirectoryHandle, name: string): Promise<Uint8Array | null> {
  let handle: FileSystemFileHandle;
  try {
    handle = await dir.getFileHandle(name);
  } catch (e) {
    if ((e as DOMException).name === 'NotFoundError') return null;
    throw e;
  }
  const bytes = new Uint8Array(await (await handle.getFile()).arrayBuffer());
  return bytes.length ? bytes : null;
}

/** The origin's free storage in bytes, and its quota and use, where the browser tells them. */
export async function storageRoom(): Promise<{ free: number; quota: number; usage: number } | null> {
  const storage = typeof navigator === 'undefined' ? undefined : navigator.storage;
  if (typeof storage?.estimate !== 'function') return null;
  const { quota, usage } = await storage.estimate();
  if (typeof quota !== 'number' || typeof usage !== 'number') return null;
  return { free: Math.max(0, quota - usage), quota, usage };
}

const isQuotaError = (e: unknown): boolean => (e as DOMException | null)?.name === 'QuotaExceededError';

/** The error of a write that does not fit: the bytes it needs and those free. */
async function storageFull(where: string, needed: number, room: { free: number; quota: number; usage: number } | null): Promise<StorageFullError> {
  const free = room?.free ?? 0;
  const of = room ? ` (quota ${formatBytes(room.quota)}, ${formatBytes(room.usage)} used)` : '';
  return new StorageFullError(`${where} needs ${formatBytes(needed)} of storage and the browser gives this site ${formatBytes(free)} more${of}`, needed, free);
}

/** Whether `dir` holds an entry `name` of `kind` (what a failed write must not leave, or must leave as it was). */
export async function hasOpfsEntry(dir: FileSystemDirectoryHandle, name: string, kind: 'file' | 'directory'): Promise<boolean> {
  try {
    await (kind === 'file' ? dir.getFileHandle(name) : dir.getDirectoryHandle(name));
    return true;
  } catch {
    return false;
  }
}

/**
 * Writes `bytes` as the file `name` of `dir`, whole or not at all (`where` names it in errors).
 * A write that cannot fit the origin's quota is a StorageFullError; a file this call made and
 * could not fill is removed again.
 */
export async function writeOpfsFile(dir: FileSystemDirectoryHandle, name: string, bytes: Uint8Array, where: string): Promise<void> {
  // The new bytes sit beside the old until close(): the whole file must fit.
  const room = await storageRoom();
  if (room && bytes.byteLength > room.free) throw await storageFull(where, bytes.byteLength, room);
  const existed = await hasOpfsEntry(dir, name, 'file');
  const handle = await dir.getFileHandle(name, { create: true });
  if (typeof handle.createWritable !== 'function') {
    throw new Error(`cannot write ${where}: this browser cannot write its private file system from here (no createWritable); run it in SegmentationWorker`);
  }
  let stream: FileSystemWritableFileStream | undefined;
  try {
    stream = await handle.createWritable();
    await stream.write(bytes as Uint8Array<ArrayBuffer>);
    await stream.close();
  } catch (e) {
    await stream?.abort().catch(() => undefined);
    if (!existed) await dir.removeEntry(name).catch(() => undefined);
    if (isQuotaError(e)) throw await storageFull(where, bytes.byteLength, await storageRoom());
    throw new Error(`cannot write ${where}: ${(e as Error).message}`, { cause: e });
  }
}

/** Removes `name` (a file, or a directory and all it holds) from `dir`; nothing where it is not there. */
export async function removeOpfsEntry(dir: FileSystemDirectoryHandle, name: string): Promise<void> {
  try {
    await dir.removeEntry(name, { recursive: true });
  } catch (e) {
    if ((e as DOMException).name !== 'NotFoundError') throw e;
  }
}
