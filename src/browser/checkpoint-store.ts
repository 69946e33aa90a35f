// The browser's stand-in for src/train/checkpoint-store.ts: fineTune's checkpoints in the origin
// private file system, in a directory given as a handle (FileSystemDirectoryHandle, which a page
// can hand to a worker) or by a '/'-separated name under the origin's root. Each file is written
// whole or not at all (opfs.ts).
import type { CheckpointStore, CheckpointStoreRef } from '../train/run-store.js';
import { isDirectoryHandle, opfsDirectory, readOpfsFile, writeOpfsFile } from './opfs.js';

/** The store `ref` names; with `create` a named directory is made where missing, else a missing one is an error. */
export async function openCheckpointStore(ref: CheckpointStoreRef, what: string, create: boolean): Promise<CheckpointStore> {
  let dir: FileSystemDirectoryHandle;
  let where: string;
  if (typeof ref === 'string') {
    dir = await opfsDirectory(ref, what, create);
    where = `OPFS ${ref}`;
  } else if (isDirectoryHandle(ref)) {
    dir = ref;
    where = `OPFS directory '${ref.name}'`;
  } else {
    throw new Error(`${what}: in the page a checkpoint store is a directory of the origin's private file system: its name, or a FileSystemDirectoryHandle`);
  }
  return {
    where,
    read: (name) => readOpfsFile(dir, name),
    write: (name, bytes) => writeOpfsFile(dir, name, bytes, `${where}/${name}`),
  };
}
