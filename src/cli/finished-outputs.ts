// Whether an input's outputs are already written, whole and valid, so a rerun (after a kill, a
// pod evicted, a node lost) skips it instead of segmenting it again. Writes are atomic, so a
// file under its final name was complete when renamed; this also refuses one damaged since, or
// one that belongs to another image (its size differs from the input's).
import { existsSync, readFileSync } from 'node:fs';
import { readImageSize } from '../io/image-size.js';
import { readPngChunks } from '../io/png-chunks.js';
import { readIndexedPng } from '../io/png-indexed.js';
import { classesFound } from '../model/result-views.js';

export interface OutputPlan {
  input: string;
  mask: string;
  overlay?: string;
}

/** The classes of a class-index map as the summary gives them: name -> share in percent, largest first. */
export function classShares(classes: Uint8Array, numClasses: number, names: readonly string[]): Record<string, number> {
  const found = classesFound({ classes, numClasses, width: classes.length, height: 1 }, names);
  return Object.fromEntries(found.map((c) => [c.name, Math.round(c.share * 100 * 1000) / 1000]));
}

export interface FinishedOutput {
  width: number;
  height: number;
  classes: Record<string, number>;
}

/**
 * The finished mask's size and classes when every output of `plan` is on disk and valid (a mask
 * that decodes whole with class indices below `names.length`, at the input's size where the
 * input is a local file; an overlay that is a complete PNG); undefined when the input must be
 * segmented (again).
 */
export async function finishedOutput(plan: OutputPlan, names: readonly string[], local: boolean): Promise<FinishedOutput | undefined> {
  if (!existsSync(plan.mask) || (plan.overlay && !existsSync(plan.overlay))) return undefined;
  try {
    const mask = readIndexedPng(readFileSync(plan.mask), plan.mask);
    if (mask.indices.some((c) => c >= names.length)) return undefined;
    if (plan.overlay) readPngChunks(readFileSync(plan.overlay), plan.overlay);
    if (local) {
      const size = await readImageSize(plan.input);
      if (size.width !== mask.width || size.height !== mask.height) return undefined;
    }
    return { width: mask.width, height: mask.height, classes: classShares(mask.indices, names.length, names) };
  } catch {
    return undefined; // damaged, or the input unreadable: segmenting it again says why
  }
}
