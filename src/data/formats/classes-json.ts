// classes.json of the image/label folders: { names, colors, ignoreIndex, ignoreColor? }.
// ignoreColor (an RGB triple) is used only by colour masks: pixels of that colour are ignored.
import { type ClassSet, validateClassSet } from '../../model/voc.js';
import type { FileAccess } from '../files/file-access.js';
import type { Rgb } from './colour-labels.js';

export interface ClassesFile {
  classes: ClassSet;
  ignoreIndex: number;
  ignoreColor?: Rgb;
}

export function readClassesJson(files: FileAccess, path: string): ClassesFile {
  let doc: { names?: unknown; colors?: unknown; ignoreIndex?: unknown; ignoreColor?: unknown };
  try {
    doc = JSON.parse(files.readText(path));
  } catch (e) {
    throw new Error(`${path}: not valid JSON: ${(e as Error).message}`);
  }
  if (!Array.isArray(doc.names) || doc.names.some((n) => typeof n !== 'string')) throw new Error(`${path}: 'names' must be a list of class names`);
  const classes = validateClassSet({ names: doc.names as string[], colors: doc.colors as [number, number, number][] }, doc.names.length, path);
  const ignoreIndex = doc.ignoreIndex ?? 255;
  if (!Number.isInteger(ignoreIndex) || (ignoreIndex as number) < classes.names.length || (ignoreIndex as number) > 255) {
    throw new Error(`${path}: 'ignoreIndex' must be an integer from ${classes.names.length} (the class count) to 255, got ${JSON.stringify(doc.ignoreIndex)}`);
  }
  const out: ClassesFile = { classes, ignoreIndex: ignoreIndex as number };
  if (doc.ignoreColor !== undefined) {
    const c = doc.ignoreColor;
    if (!Array.isArray(c) || c.length !== 3 || c.some((v) => !Number.isInteger(v) || v < 0 || v > 255)) {
      throw new Error(`${path}: 'ignoreColor' must be an RGB triple of 0..255, got ${JSON.stringify(c)}`);
    }
    out.ignoreColor = c as Rgb;
  }
  return out;
}
