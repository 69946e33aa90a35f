// Class-index label PNGs (8-bit grey or palette, one value per pixel), optionally passed through
// a format's table of raw values (Cityscapes' labelIds -> trainIds, ADE20K's shift by one). A
// colour mask where indices were expected is refused, saying so, never read as indices.
import { parseIhdr, readPngChunks } from '../../io/png-chunks.js';
import { readIndexedPng } from '../../io/png-indexed.js';
import type { FileAccess } from '../files/file-access.js';
import type { Label } from './label.js';

export interface IndexDecoding {
  kind: 'index';
  /** Class count: valid ids are 0..classes-1. */
  classes: number;
  ignoreIndex: number;
  /**
   * 256 entries: raw value -> class id or the ignore index; -1 marks a value the format never
   * holds (an error). Absent: the raw values are the class ids.
   */
  lookup?: number[];
  /** What the raw values are, for errors about a -1 entry: 'ADE20K annotation values (0..150)'. */
  rawValues?: string;
}

const COLOUR_MASK_HINT = 'if its colours mark the classes, open the data set with --format colour (colours from classes.json or a CVAT labelmap.txt)';

function listValues(counts: Map<number, number>): string {
  return [...counts]
    .sort((a, b) => a[0] - b[0])
    .map(([v, n]) => `${v} (${n} pixels)`)
    .join(', ');
}

function readBytes(files: FileAccess, path: string): Uint8Array {
  try {
    return files.readBytes(path);
  } catch (e) {
    throw new Error(`${path}: cannot read the label file: ${(e as Error).message}`);
  }
}

/** The PNG's colour type when its header can be read, else undefined. */
function colourType(bytes: Uint8Array, path: string): number | undefined {
  try {
    return parseIhdr(readPngChunks(bytes, path), path).colorType;
  } catch {
    return undefined;
  }
}

export function readIndexLabel(files: FileAccess, path: string, d: IndexDecoding): Label {
  const bytes = readBytes(files, path);
  let label: Label;
  try {
    label = readIndexedPng(bytes, path);
  } catch (e) {
    const type = colourType(bytes, path);
    if (type === 2 || type === 6) {
      throw new Error(`${path}: an ${type === 2 ? 'RGB' : 'RGBA'} colour PNG where a class-index PNG (one class id per pixel) was expected: it looks like a colour mask; ${COLOUR_MASK_HINT}`);
    }
    throw e;
  }
  const palette = colourType(bytes, path) === 3;
  const { classes, ignoreIndex, lookup } = d;
  const v = label.indices;
  if (lookup) {
    const unused = new Map<number, number>();
    for (let i = 0; i < v.length; i++) {
      const c = lookup[v[i]];
      if (c < 0) unused.set(v[i], (unused.get(v[i]) ?? 0) + 1);
      else v[i] = c;
    }
    if (unused.size) {
      const hint = palette ? `; it looks like a colour mask (a palette PNG whose colours, not its indices, mark the classes): ${COLOUR_MASK_HINT}` : '';
      throw new Error(`${path}: label values ${listValues(unused)} are not ${d.rawValues ?? 'values this format uses'}${hint}`);
    }
  }
  const bad = new Map<number, number>();
  for (let i = 0; i < v.length; i++) if (v[i] >= classes && v[i] !== ignoreIndex) bad.set(v[i], (bad.get(v[i]) ?? 0) + 1);
  if (bad.size) {
    const hint = palette ? `; it looks like a colour mask (a palette PNG whose colours, not its indices, mark the classes): ${COLOUR_MASK_HINT}` : '';
    throw new Error(`${path}: label values ${listValues(bad)} are neither a class (0..${classes - 1}) nor the ignore index ${ignoreIndex}${hint}`);
  }
  return label;
}
