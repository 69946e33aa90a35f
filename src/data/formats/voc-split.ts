// A PASCAL VOC split: the ids of DIR/ImageSets/Segmentation/<split>.txt with their image and
// ground-truth paths, each checked up front (evaluation and training read the same folders).
import type { FileAccess } from '../files/file-access.js';
import { nodeFiles } from '../files/node-files.js';

export interface VocItem {
  id: string;
  /** DIR/JPEGImages/<id>.jpg, or .png where only that exists. */
  imagePath: string;
  /** DIR/SegmentationClass/<id>.png: palette indices, 255 = ignore. */
  gtPath: string;
}

const IMAGE_EXTENSIONS = ['.jpg', '.png'] as const;

/** The <split> of each ImageSets/Segmentation/<split>.txt (VOC and CVAT's VOC-like export), sorted. */
export function vocSplits(files: FileAccess, dir: string): string[] {
  const sets = files.join(dir, 'ImageSets', 'Segmentation');
  if (!files.isDir(sets)) return [];
  return files
    .list(sets)
    .filter((f) => f.endsWith('.txt'))
    .map((f) => f.slice(0, -'.txt'.length))
    .sort();
}
/** How many missing files an error lists before "and N more". */
const LIST_AT_MOST = 5;

function listMissing(what: string, missing: string[]): string {
  const shown = missing.slice(0, LIST_AT_MOST).join(', ');
  const more = missing.length > LIST_AT_MOST ? ` and ${missing.length - LIST_AT_MOST} more` : '';
  return `${missing.length} ${what}: ${shown}${more}`;
}

/**
 * The ids of DIR/ImageSets/Segmentation/<split>.txt with their image and ground-truth paths.
 * Every file is checked up front, so a long evaluation cannot fail half-way on a missing one.
 * `files`: where the folder is read (default the disk; a data set's files in memory).
 */
export function listVocSplit(dir: string, split: string, files: FileAccess = nodeFiles): VocItem[] {
  const context = `listVocSplit(${dir}, ${split})`;
  const join = (...parts: string[]): string => files.join(...parts);
  if (!files.isDir(dir)) throw new Error(`${context}: ${dir} is not a folder`);
  if (!/^[\w.-]+$/.test(split)) throw new Error(`${context}: split name '${split}' may only hold letters, digits, '_', '-' and '.'`);
  const setsDir = join(dir, 'ImageSets', 'Segmentation');
  const listPath = join(setsDir, `${split}.txt`);
  if (!files.exists(listPath)) {
    const available = files.exists(setsDir)
      ? files
          .list(setsDir)
          .filter((f) => f.endsWith('.txt'))
          .map((f) => f.slice(0, -4))
      : [];
    const hint = available.length ? `available splits: ${available.join(', ')}` : `no ${setsDir} folder: is ${dir} a VOC2012 folder (JPEGImages, SegmentationClass, ImageSets)?`;
    throw new Error(`${context}: no split file ${listPath}; ${hint}`);
  }
  const ids = files
    .readText(listPath)
    .split(/\r?\n/)
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  if (ids.length === 0) throw new Error(`${context}: ${listPath} lists no images`);
  const seen = new Set<string>();
  const items: VocItem[] = [];
  const missingImages: string[] = [];
  const missingGt: string[] = [];
  for (const id of ids) {
    if (seen.has(id)) throw new Error(`${context}: id '${id}' is listed twice in ${listPath}`);
    seen.add(id);
    const imagePath = IMAGE_EXTENSIONS.map((ext) => join(dir, 'JPEGImages', id + ext)).find((p) => files.exists(p));
    const gtPath = join(dir, 'SegmentationClass', `${id}.png`);
    if (!imagePath) missingImages.push(id);
    if (!files.exists(gtPath)) missingGt.push(gtPath);
    if (imagePath) items.push({ id, imagePath, gtPath });
  }
  const problems: string[] = [];
  if (missingImages.length) problems.push(listMissing(`ids without JPEGImages/<id>.jpg or .png`, missingImages));
  if (missingGt.length) problems.push(listMissing('missing ground-truth files', missingGt));
  if (problems.length) throw new Error(`${context}: ${problems.join('; ')}`);
  return items;
}
