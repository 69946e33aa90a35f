// Labelled data sets in two layouts, recognised by their folders:
//  - PASCAL VOC: JPEGImages/, SegmentationClass/ (palette PNGs), ImageSets/Segmentation/<split>.txt;
//    the 21 VOC classes, ignore label 255;
//  - image/label folders: images/<split>/*.{jpg,png}, labels/<split>/<same name>.png (class ids
//    as sample values), classes.json { names, colors, ignoreIndex } (as ../shared/data/camvid).
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import { listVocSplit } from '../eval/voc.js';
import { readIndexedPng } from '../io/png-indexed.js';
import { type ClassSet, VOC_IGNORE_LABEL, defaultClassSet, validateClassSet } from '../model/voc.js';

export interface LabelledItem {
  id: string;
  imagePath: string;
  labelPath: string;
}

export interface Dataset {
  layout: 'voc' | 'folders';
  dir: string;
  split: string;
  items: LabelledItem[];
  classes: ClassSet;
  ignoreIndex: number;
}

const IMAGE_EXTENSIONS = new Set(['.jpg', '.jpeg', '.png']);

function isDir(p: string): boolean {
  return existsSync(p) && statSync(p).isDirectory();
}

function readClasses(path: string): { classes: ClassSet; ignoreIndex: number } {
  let doc: { names?: unknown; colors?: unknown; ignoreIndex?: unknown };
  try {
    doc = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new Error(`${path}: not valid JSON: ${(e as Error).message}`);
  }
  if (!Array.isArray(doc.names) || doc.names.some((n) => typeof n !== 'string')) throw new Error(`${path}: 'names' must be a list of class names`);
  const classes = validateClassSet({ names: doc.names as string[], colors: doc.colors as [number, number, number][] }, doc.names.length, path);
  const ignoreIndex = doc.ignoreIndex ?? 255;
  if (!Number.isInteger(ignoreIndex) || (ignoreIndex as number) < classes.names.length || (ignoreIndex as number) > 255) {
    throw new Error(`${path}: 'ignoreIndex' must be an integer from ${classes.names.length} (the class count) to 255, got ${JSON.stringify(doc.ignoreIndex)}`);
  }
  return { classes, ignoreIndex: ignoreIndex as number };
}

function openFolders(dir: string, split: string): Dataset {
  const imagesDir = join(dir, 'images', split);
  const labelsDir = join(dir, 'labels', split);
  if (!isDir(imagesDir)) {
    const splits = isDir(join(dir, 'images')) ? readdirSync(join(dir, 'images')).filter((s) => isDir(join(dir, 'images', s))) : [];
    throw new Error(`${dir}: no split '${split}' (images/${split}/ is missing; splits found: ${splits.join(', ') || 'none'})`);
  }
  if (!isDir(labelsDir)) throw new Error(`${dir}: labels/${split}/ is missing`);
  const { classes, ignoreIndex } = readClasses(join(dir, 'classes.json'));
  const items: LabelledItem[] = [];
  const unlabelled: string[] = [];
  for (const file of readdirSync(imagesDir).sort()) {
    if (!IMAGE_EXTENSIONS.has(extname(file).toLowerCase())) continue;
    const id = basename(file, extname(file));
    const labelPath = join(labelsDir, `${id}.png`);
    if (!existsSync(labelPath)) unlabelled.push(id);
    else items.push({ id, imagePath: join(imagesDir, file), labelPath });
  }
  if (unlabelled.length) throw new Error(`${dir}: ${unlabelled.length} images of split '${split}' have no label PNG in labels/${split}/ (${unlabelled.slice(0, 5).join(', ')}${unlabelled.length > 5 ? ', ...' : ''})`);
  if (items.length === 0) throw new Error(`${dir}: split '${split}' holds no images`);
  return { layout: 'folders', dir, split, items, classes, ignoreIndex };
}

/** Opens a split of a data set in either layout; every file is checked to exist up front. */
export function openDataset(dir: string, split: string): Dataset {
  if (!isDir(dir)) throw new Error(`data set ${dir}: not a folder`);
  if (isDir(join(dir, 'ImageSets', 'Segmentation'))) {
    const items = listVocSplit(dir, split).map((it) => ({ id: it.id, imagePath: it.imagePath, labelPath: it.gtPath }));
    return { layout: 'voc', dir, split, items, classes: defaultClassSet(21), ignoreIndex: VOC_IGNORE_LABEL };
  }
  if (existsSync(join(dir, 'classes.json'))) return openFolders(dir, split);
  throw new Error(`data set ${dir}: neither a VOC folder (ImageSets/Segmentation/) nor image/label folders with classes.json`);
}

export interface Label {
  width: number;
  height: number;
  /** Class id per pixel, or the ignore index. */
  indices: Uint8Array;
}

/** A label PNG, every value checked to be a class or the ignore index (the error names the file). */
export function readLabel(path: string, classes: number, ignoreIndex: number): Label {
  const label = readIndexedPng(readFileSync(path), path);
  const bad = new Map<number, number>();
  for (const v of label.indices) if (v >= classes && v !== ignoreIndex) bad.set(v, (bad.get(v) ?? 0) + 1);
  if (bad.size) {
    const values = [...bad].map(([v, n]) => `${v} (${n} pixels)`).join(', ');
    throw new Error(`${path}: label values ${values} are neither a class (0..${classes - 1}) nor the ignore index ${ignoreIndex}`);
  }
  return label;
}
