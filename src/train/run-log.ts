// A run's record of its steps in its folder: log.jsonl (one JSON line per step: step-log.ts) and
// the curves drawn from it (loss.png, val.png).
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { plotPng } from '../util/plot.js';
import { writeFileAtomic } from '../util/write-atomic.js';
import { type StepRecord, parseStepLog, stepLogText } from './step-log.js';

export type { StepRecord } from './step-log.js';

/** The records of steps up to `upTo` in the log at `path` (none when there is no log). */
export function readLog(path: string, upTo: number): StepRecord[] {
  return existsSync(path) ? parseStepLog(readFileSync(path, 'utf8'), path, upTo) : [];
}

/** Replaces the log at `path` with `records`, atomically. */
export function rewriteLog(path: string, records: readonly StepRecord[]): void {
  writeFileAtomic(path, Buffer.from(stepLogText(records)));
}

/** Adds a step's line to the log. */
export function appendLog(path: string, record: StepRecord): void {
  appendFileSync(path, JSON.stringify(record) + '\n');
}

/** loss.png and (once a step was validated) val.png in `out`. */
export function writeCurves(out: string, log: StepRecord[]): void {
  if (log.length < 1) return;
  const xs = log.map((r) => r.step);
  writeFileAtomic(join(out, 'loss.png'), plotPng(xs, [{ label: 'TRAINING LOSS', color: [31, 119, 180], values: log.map((r) => r.loss) }], 'TRAINING LOSS', 'STEP', 'LOSS'));
  // Only the validated steps, so the line joins one measurement to the next.
  const validated = log.filter((r) => r.valMIoU !== undefined);
  if (validated.length) {
    const vx = validated.map((r) => r.step);
    const values = validated.map((r) => r.valMIoU! / 100);
    writeFileAtomic(
      join(out, 'val.png'),
      plotPng(vx, [{ label: 'VAL MIOU', color: [214, 39, 40], values }], 'VALIDATION MIOU', 'STEP', 'MIOU (FRACTION)', { yMin: 0, yMax: 1, yStep: 0.1, xStep: Math.max(1, Math.ceil(Math.max(...xs) / 10)) }),
    );
  }
}
