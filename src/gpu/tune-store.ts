// Where kernel choices are kept in Node: one JSON file per adapter in tuning/ under the cache
// folder (src/util/cache-dir.ts), written atomically. The browser build swaps this module for
// src/browser/tune-store.ts (IndexedDB).
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { writeFileAtomic } from '../util/write-atomic.js';
import { cacheDirectory } from '../util/cache-dir.js';

export interface TuneStore {
  load(id: string): Promise<unknown>;
  save(id: string, record: unknown): Promise<void>;
  /** Where `id`'s record lives, for messages. */
  where(id: string): string;
}

/** The CPU a software adapter runs on: model and core count. */
export function hostDescription(): string {
  const list = cpus();
  return `${list[0]?.model.trim() ?? 'unknown CPU'} x${list.length}`;
}

export function fileTuneStore(dir: string): TuneStore {
  const path = (id: string) => join(dir, `${id}.json`);
  return {
    where: path,
    async load(id) {
      if (!existsSync(path(id))) return undefined;
      try {
        return JSON.parse(readFileSync(path(id), 'utf8'));
      } catch {
        // A damaged file is as good as none: it is rewritten at the next save.
        return undefined;
      }
    },
    async save(id, record) {
      mkdirSync(dir, { recursive: true });
      writeFileAtomic(path(id), new TextEncoder().encode(JSON.stringify(record, null, 1)));
    },
  };
}

export function openTuneStore(): TuneStore {
  return fileTuneStore(join(cacheDirectory(), 'tuning'));
}
