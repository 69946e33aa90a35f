// Where fineTune keeps a run's checkpoints: a store of named files, each written whole or not at
// all. In Node a folder (checkpoint-store.ts: the files a `deeplab train` run folder holds, written
// atomically by src/util/write-atomic.ts); in the page a directory of the origin private file
// system (src/browser/checkpoint-store.ts, swapped in by the bundle). One format in both:
// latest.safetensors and log.jsonl (fine-tune-checkpoint.ts).

/** A store as the caller names it: a folder path in Node; in the page an OPFS directory, as a handle or a '/'-separated name under the origin's root. */
export type CheckpointStoreRef = string | FileSystemDirectoryHandle;

export interface CheckpointStore {
  /** The store in words, for messages (a folder's path, `OPFS dir/name`). */
  readonly where: string;
  /** A file's bytes; null where the store has none of that name (or an empty one, which a write cut off at its start leaves in the page). */
  read(name: string): Promise<Uint8Array | null>;
  /** Writes the file whole or not at all: a failure or a crash part-way leaves the file as it was. */
  write(name: string, bytes: Uint8Array): Promise<void>;
}

/** Bytes in words (1.5 MB, 320 kB, 12 bytes): decimal units, as browsers give quotas. */
export function formatBytes(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)} GB`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)} MB`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(0)} kB`;
  return `${n} bytes`;
}

/**
 * A write refused for want of storage: the bytes it needed and the bytes the store had free, in
 * its message and as numbers. Its name is the DOM's, 'QuotaExceededError'.
 */
export class StorageFullError extends Error {
  override name = 'QuotaExceededError';

  constructor(
    message: string,
    readonly needed: number,
    readonly free: number,
  ) {
    super(message);
  }
}
