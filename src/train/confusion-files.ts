// The confusion matrix of a validation, written into a training run's folder as
// <name>.json (raw counts, rows = ground truth, columns = prediction; see ConfusionJson) and
// <name>.png (the heat map, rows normalised), each atomically.
import { join } from 'node:path';
import { confusionPng } from '../eval/confusion-png.js';
import { type ConfusionJson, type ConfusionMatrix, confusionJson } from '../eval/metrics.js';
import { writeFileAtomic } from '../util/write-atomic.js';

/** confusion.json: the validation's step, then the matrix as `eval --json` writes it. */
export type ConfusionFile = { step: number } & ConfusionJson;

/** Writes OUT/<name>.json and OUT/<name>.png for the validation after `step`. */
export function writeConfusionFiles(out: string, name: string, step: number, matrix: ConfusionMatrix, classNames: readonly string[]): void {
  const doc: ConfusionFile = { step, ...confusionJson(matrix, classNames) };
  try {
    writeFileAtomic(join(out, `${name}.json`), Buffer.from(jsonWithRowsOnLines(doc) + '\n'));
    writeFileAtomic(join(out, `${name}.png`), confusionPng(matrix, classNames, `CONFUSION MATRIX AT STEP ${step}`));
  } catch (e) {
    throw new Error(`step ${step}: could not write the confusion matrix (${(e as Error).message})`, { cause: e });
  }
}

/** Indented JSON with each array of numbers (a matrix row) on one line. */
function jsonWithRowsOnLines(doc: unknown): string {
  return JSON.stringify(doc, null, 2).replace(/\[\s+(-?[\d.e+-]+(?:,\s+-?[\d.e+-]+)*)\s+\]/g, (_, values: string) => `[${values.replace(/\s+/g, ' ')}]`);
}
