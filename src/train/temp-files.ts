// The temporary files a run's atomic writes make (src/util/write-atomic.ts), and the sweep that
// removes those a process killed part-way left behind.
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';

/** Temporary files of the run's outputs: `.<name>.<pid>.<stamp>.tmp`, with or without the leading dot. */
const TEMP_FILE = /^\.?(latest\.safetensors|best\.safetensors|log\.jsonl|loss\.png|val\.png|confusion(?:-best)?\.(?:json|png))\.(\d+)\.[0-9a-z]+\.tmp$/;

function processAlive(pid: number): boolean {
  if (pid === process.pid) return false; // this process writes synchronously: nothing of its own is in flight
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes the temporary files in `dir` that a write killed part-way left behind (their process
 * is gone); returns their names. They never stand in for an output: each write makes a new one
 * and readers open only the final names.
 */
export function removeStrayTempFiles(dir: string): string[] {
  const removed: string[] = [];
  for (const name of existsSync(dir) ? readdirSync(dir) : []) {
    const m = TEMP_FILE.exec(name);
    if (!m || processAlive(Number(m[2]))) continue;
    rmSync(join(dir, name), { force: true });
    removed.push(name);
  }
  return removed;
}
