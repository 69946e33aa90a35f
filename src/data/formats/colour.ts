// Colour masks: the image/label folders layout (images/<split>/, labels/<split>/<name>.png), or
// CVAT's VOC-like export (JPEGImages/, SegmentationClass/, ImageSets/Segmentation/<split>.txt),
// whose label PNGs are RGB colour masks; the colours come from classes.json (and its optional
// ignoreColor) or from a CVAT labelmap.txt.
import { parseIhdr, readPngChunks } from '../../io/png-chunks.js';
import type { FileAccess } from '../files/file-access.js';
import { readClassesJson } from './classes-json.js';
import { type Rgb, colourTable } from './colour-labels.js';
import { readCvatLabelmap } from './cvat-labelmap.js';
import { listFolderItems } from './folder-items.js';
import type { DatasetFormatRecord } from './format.js';
import { isDir, subfolders } from './fs-util.js';
import type { LabelDecoding } from './label-decoding.js';
import type { OpenedSplit } from './types.js';
import { listVocSplit, vocSplits } from './voc-split.js';

/** The first .png (by name) in `dir`, if any. */
function firstPng(files: FileAccess, dir: string): string | undefined {
  if (!isDir(files, dir)) return undefined;
  const name = files.list(dir).filter((f) => f.toLowerCase().endsWith('.png')).sort()[0];
  return name === undefined ? undefined : files.join(dir, name);
}

/** Whether the PNG at `path` is RGB or RGBA (PNG colour types 2 and 6); false when it cannot be read. */
function isColourPng(files: FileAccess, path: string | undefined): boolean {
  if (path === undefined) return false;
  try {
    const type = parseIhdr(readPngChunks(files.readBytes(path), path), path).colorType;
    return type === 2 || type === 6;
  } catch {
    return false; // the reader reports a damaged label when it reads it
  }
}

/** The first label of the image/label folders layout (labels/<first split>/), if any. */
function firstFolderLabel(files: FileAccess, dir: string): string | undefined {
  const labels = files.join(dir, 'labels');
  for (const split of subfolders(files, labels)) {
    const png = firstPng(files, files.join(labels, split));
    if (png) return png;
  }
  return undefined;
}

const isVocLike = (files: FileAccess, dir: string): boolean => isDir(files, files.join(dir, 'ImageSets', 'Segmentation'));

function openColour(files: FileAccess, dir: string, split: string): OpenedSplit {
  const json = files.join(dir, 'classes.json');
  const labelmap = files.join(dir, 'labelmap.txt');
  const hasJson = files.exists(json);
  const hasLabelmap = files.exists(labelmap);
  if (hasJson && hasLabelmap) throw new Error(`${dir}: both classes.json and labelmap.txt name the colours; keep one`);
  if (!hasJson && !hasLabelmap) throw new Error(`${dir}: colour masks need the class colours in classes.json or a CVAT labelmap.txt; neither is there`);
  const c = hasJson ? readClassesJson(files, json) : { classes: readCvatLabelmap(files, labelmap), ignoreIndex: 255, ignoreColor: undefined };
  const labels: LabelDecoding = {
    kind: 'colour',
    colours: c.classes.colors.map((rgb) => [...rgb] as Rgb),
    ignoreIndex: c.ignoreIndex,
    source: hasJson ? json : labelmap,
    ...(c.ignoreColor ? { ignoreColour: c.ignoreColor } : {}),
  };
  colourTable(labels); // two classes with one colour fail here, before any label is read
  const items = isVocLike(files, dir)
    ? listVocSplit(dir, split, files).map((it) => ({ id: it.id, imagePath: it.imagePath, labelPath: it.gtPath }))
    : listFolderItems(files, dir, split);
  return { items, classes: c.classes, ignoreIndex: c.ignoreIndex, labels };
}

export const COLOUR: DatasetFormatRecord<'colour'> = {
  name: 'colour',
  layout: 'colour masks (images/, labels/, labelmap.txt)',
  // Where classes.json names the classes, the first label's PNG header tells colour masks (RGB,
  // RGBA) from class ids (grey, palette): each rule sits just above the one it refines.
  recognise: [
    {
      // CVAT's VOC-like export (labelmap.txt), or a VOC-like folder of RGB masks with classes.json: above VOC.
      priority: 70,
      matches: (files, dir) =>
        isVocLike(files, dir) &&
        (files.exists(files.join(dir, 'labelmap.txt')) || (files.exists(files.join(dir, 'classes.json')) && isColourPng(files, firstPng(files, files.join(dir, 'SegmentationClass'))))),
    },
    // classes.json with RGB masks in labels/: above the folders format's classes.json.
    { priority: 45, matches: (files, dir) => files.exists(files.join(dir, 'classes.json')) && isColourPng(files, firstFolderLabel(files, dir)) },
    // A CVAT labelmap.txt beside images/ and labels/: below the folders format's classes.json.
    {
      priority: 35,
      matches: (files, dir) => files.exists(files.join(dir, 'labelmap.txt')) && ['images', 'labels'].every((n) => isDir(files, files.join(dir, n))),
    },
  ],
  open: openColour,
  splits: (files, dir) => (isVocLike(files, dir) ? vocSplits(files, dir) : subfolders(files, files.join(dir, 'images'))),
  labels: ['colour'],
  cocoClasses: false,
  page: true,
  reads: ['.json', '.txt'],
};
