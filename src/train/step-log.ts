// A run's record of its steps as text, one JSON line per step (log.jsonl): what `deeplab train`
// appends after each step and fineTune's checkpoints keep beside their weights. Parsing and
// writing only, no file system, so the page reads and writes the same lines (from its private
// storage) as Node reads from a run folder (run-log.ts).

export interface StepRecord {
  step: number;
  loss: number;
  lr: number;
  imagesPerSecond: number;
  valMIoU?: number;
  valPixelAccuracy?: number;
  /** IoU in percent by class name; null for a class in neither the ground truth nor the predictions. */
  valPerClassIoU?: Record<string, number | null>;
}

/** The log's name in a run folder or checkpoint store. */
export const STEP_LOG = 'log.jsonl';

/** The records of steps up to `upTo` in the log text (`where` names it in errors). */
export function parseStepLog(text: string, where: string, upTo: number): StepRecord[] {
  const lines = text.split('\n');
  const records: StepRecord[] = [];
  for (const [i, line] of lines.entries()) {
    if (!line.trim()) continue;
    try {
      records.push(JSON.parse(line) as StepRecord);
    } catch (e) {
      // A process killed while appending leaves a torn last line: that step is redone anyway.
      if (lines.slice(i + 1).every((l) => !l.trim())) break;
      throw new Error(`${where}: line ${i + 1} is not JSON (${(e as Error).message})`);
    }
  }
  return records.filter((r) => r.step <= upTo);
}

/** The log's text for `records`, one line each. */
export function stepLogText(records: readonly StepRecord[]): string {
  return records.map((r) => JSON.stringify(r) + '\n').join('');
}
