// `deeplab segment --summary FILE`: one JSON line per input of the run, written as each input
// ends (so `tail -f` and a killed run's file show what was done), whole lines only. Each run
// starts the file afresh and lists every input of its shard once: those it segments, those an
// earlier run finished (read back from their masks), and those that failed, with the error.
import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

export type InputStatus = 'segmented' | 'already-done' | 'failed';

export interface InputRecord {
  input: string;
  status: InputStatus;
  output?: string;
  overlay?: string;
  width?: number;
  height?: number;
  /** Class name -> share of the pixels in percent, largest first. */
  classes?: Record<string, number>;
  error?: string;
}

export class SummaryFile {
  private fd: number | undefined;

  constructor(readonly path: string) {
    try {
      mkdirSync(dirname(path), { recursive: true });
      this.fd = openSync(path, 'w');
    } catch (e) {
      throw new Error(`--summary ${path}: cannot write it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    }
  }

  /** Appends one record as one line, in one write. */
  write(record: InputRecord): void {
    if (this.fd === undefined) throw new Error(`--summary ${this.path}: written after it was closed`);
    const bytes = Buffer.from(JSON.stringify(record) + '\n', 'utf8');
    for (let done = 0; done < bytes.length; ) done += writeSync(this.fd, bytes, done, bytes.length - done);
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}

/** Counts of a run's records by status. */
export function countRecords(records: readonly InputRecord[]): Record<InputStatus, number> {
  const counts: Record<InputStatus, number> = { segmented: 0, 'already-done': 0, failed: 0 };
  for (const r of records) counts[r.status]++;
  return counts;
}
