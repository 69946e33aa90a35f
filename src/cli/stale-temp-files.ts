// The temporary files (src/util/write-atomic.ts: `.<name>.<pid>.<stamp>.tmp`) that a segment run
// killed part-way left beside its outputs. Only this run's own outputs' are removed: shards
// share --out, and another shard's live writes are none of ours. No check of the pid: in pods
// every process may be pid 1, and only one process writes a given shard's outputs at a time.
import { readdirSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

const TEMP_FILE = /^\.(.+)\.\d+\.[0-9a-z]+\.tmp$/;

/** Removes the temporary files of `outputs` (final paths) in their folders; returns how many. */
export function removeStaleTempFiles(outputs: readonly string[]): number {
  const byFolder = new Map<string, Set<string>>();
  for (const path of outputs) {
    const dir = dirname(path);
    let names = byFolder.get(dir);
    if (!names) byFolder.set(dir, (names = new Set()));
    names.add(basename(path));
  }
  let removed = 0;
  for (const [dir, names] of byFolder) {
    let entries: string[];
    try {
      entries = readdirSync(dir);
    } catch {
      continue; // not created yet: nothing left behind
    }
    for (const entry of entries) {
      const m = TEMP_FILE.exec(entry);
      if (!m || !names.has(m[1])) continue;
      rmSync(join(dir, entry), { force: true });
      removed++;
    }
  }
  return removed;
}
