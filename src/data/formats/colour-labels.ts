// Colour-mask label PNGs (RGB, RGBA or palette): each pixel's colour is looked up in the
// classes' colours. A colour that is no class's is an error listing every such colour found,
// with its pixel count: a mask is never read half right.
import { decodePngRgba } from '../../io/png-rgba.js';
import type { FileAccess } from '../files/file-access.js';
import type { Label } from './label.js';

export type Rgb = [number, number, number];

export interface ColourDecoding {
  kind: 'colour';
  /** Class i's colour. */
  colours: Rgb[];
  /** Pixels of this colour get the ignore index. */
  ignoreColour?: Rgb;
  ignoreIndex: number;
  /** Where the colours come from, for errors: 'classes.json'. */
  source: string;
}

/** How many unknown colours an error lists before "and N more". */
const LIST_AT_MOST = 12;

const key = (r: number, g: number, b: number): number => (r << 16) | (g << 8) | b;

function rgbText(k: number): string {
  return `(${k >> 16},${(k >> 8) & 255},${k & 255})`;
}

/** Colour key -> class id (or the ignore index); two classes with one colour are an error. */
export function colourTable(d: ColourDecoding): Map<number, number> {
  const table = new Map<number, number>();
  d.colours.forEach(([r, g, b], c) => {
    const k = key(r, g, b);
    if (table.has(k)) throw new Error(`${d.source}: classes ${table.get(k)} and ${c} have the same colour ${rgbText(k)}: a colour mask could not tell them apart`);
    table.set(k, c);
  });
  if (d.ignoreColour) {
    const k = key(...d.ignoreColour);
    if (table.has(k)) throw new Error(`${d.source}: the ignore colour ${rgbText(k)} is also the colour of class ${table.get(k)}`);
    table.set(k, d.ignoreIndex);
  }
  return table;
}

export function readColourLabel(files: FileAccess, path: string, d: ColourDecoding): Label {
  let png: { width: number; height: number; data: Uint8Array };
  let bytes: Uint8Array;
  try {
    bytes = files.readBytes(path);
  } catch (e) {
    throw new Error(`${path}: cannot read the label file: ${(e as Error).message}`);
  }
  try {
    png = decodePngRgba(bytes);
  } catch (e) {
    throw new Error(`${path}: not a readable PNG colour mask: ${(e as Error).message}`);
  }
  const table = colourTable(d);
  const n = png.width * png.height;
  const indices = new Uint8Array(n);
  const unknown = new Map<number, number>();
  const data = png.data;
  for (let i = 0; i < n; i++) {
    const k = key(data[4 * i], data[4 * i + 1], data[4 * i + 2]);
    const c = table.get(k);
    if (c === undefined) unknown.set(k, (unknown.get(k) ?? 0) + 1);
    else indices[i] = c;
  }
  if (unknown.size) {
    const sorted = [...unknown].sort((a, b) => b[1] - a[1] || a[0] - b[0]);
    const shown = sorted.slice(0, LIST_AT_MOST).map(([k, count]) => `${rgbText(k)} ${count} pixels`);
    const more = sorted.length > LIST_AT_MOST ? `, and ${sorted.length - LIST_AT_MOST} more` : '';
    // A grey PNG whose values are small is most likely a class-index label.
    const grey = bytes.length > 25 && bytes[25] === 0 ? '; the file is a grey PNG: if its values are class ids, open the data set without --format colour' : '';
    throw new Error(`${path}: ${sorted.length} colours are not in the palette of ${d.source} (${d.colours.length} class colours${d.ignoreColour ? ' and an ignore colour' : ''}): ${shown.join(', ')}${more}${grey}`);
  }
  return { width: png.width, height: png.height, indices };
}
