// CVAT's labelmap.txt (its "Segmentation mask" export): one class a line, `name:r,g,b:parts:actions`,
// lines starting with '#' are comments. The classes in file order, with their colours.
import type { ClassSet } from '../../model/voc.js';
import type { FileAccess } from '../files/file-access.js';

export function readCvatLabelmap(files: FileAccess, path: string): ClassSet {
  let text: string;
  try {
    text = files.readText(path);
  } catch (e) {
    throw new Error(`${path}: cannot read: ${(e as Error).message}`);
  }
  const names: string[] = [];
  const colors: [number, number, number][] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (!line || line.startsWith('#')) return;
    const fields = line.split(':');
    const name = fields[0].trim();
    const rgb = (fields[1] ?? '').split(',').map((s) => s.trim());
    const values = rgb.map(Number);
    if (!name || fields.length < 2 || rgb.length !== 3 || rgb.some((s, k) => !/^\d+$/.test(s) || values[k] > 255)) {
      throw new Error(`${path}: line ${i + 1} is not 'name:r,g,b:parts:actions' with r, g, b in 0..255: '${line}'`);
    }
    if (names.includes(name)) throw new Error(`${path}: line ${i + 1}: class '${name}' is listed twice`);
    names.push(name);
    colors.push(values as [number, number, number]);
  });
  if (names.length === 0) throw new Error(`${path}: lists no classes`);
  if (names.length > 255) throw new Error(`${path}: ${names.length} classes; at most 255 fit in a label (255 is the ignore index)`);
  return { names, colors };
}
