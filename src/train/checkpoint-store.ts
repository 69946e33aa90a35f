// fineTune's checkpoint store in Node: a folder, the files in it written atomically (a temporary
// file, flushed, renamed into place: src/util/write-atomic.ts), as `deeplab train` writes its run
// folder. Temporary files a killed process left are removed when the folder is opened for
// writing. The browser bundle swaps this module for src/browser/checkpoint-store.ts (the origin
// private file system).
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { readFileBytes } from '../io/file-bytes.js';
import { writeFileAtomic } from '../util/write-atomic.js';
import type { CheckpointStore, CheckpointStoreRef } from './run-store.js';
import { removeStrayTempFiles } from './temp-files.js';

/**
 * The store `ref` names (a folder path), for `what` (the option, in errors); with `create`, the
 * folder is made where missing, else a missing folder is an error.
 */
export async function openCheckpointStore(ref: CheckpointStoreRef, what: string, create: boolean): Promise<CheckpointStore> {
  if (typeof ref !== 'string' || ref === '') {
    throw new Error(`${what}: in Node a checkpoint store is a folder path, got ${typeof ref === 'string' ? 'an empty string' : typeof ref === 'object' && ref !== null ? (ref.constructor?.name ?? 'an object') : typeof ref}`);
  }
  if (existsSync(ref)) {
    if (!statSync(ref).isDirectory()) throw new Error(`${what}: ${ref} is a file, not a folder`);
  } else if (create) {
    mkdirSync(ref, { recursive: true });
  } else {
    throw new Error(`${what}: no folder ${ref}`);
  }
  if (create) removeStrayTempFiles(ref);
  return {
    where: ref,
    async read(name) {
      const path = join(ref, name);
      if (!existsSync(path)) return null;
      const bytes = readFileBytes(path);
      return bytes.length ? bytes : null;
    },
    async write(name, bytes) {
      writeFileAtomic(join(ref, name), bytes);
    },
  };
}
