// Which format a data-set folder is in, from its folders and files, and, where classes.json names
// the classes, the header of one label PNG: an RGB(A) label is a colour mask (classes.json's
// colours mark the classes), a grey or palette one holds class ids.
import { parseIhdr, readPngChunks } from '../../io/png-chunks.js';
import type { FileAccess } from '../files/file-access.js';
import { nodeFiles } from '../files/node-files.js';
import { cocoSplits } from './coco.js';
import { isDir, subfolders } from './fs-util.js';
import type { DatasetFormat } from './types.js';

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

export function detectFormat(dir: string, files: FileAccess = nodeFiles): DatasetFormat {
  const has = (...p: string[]): boolean => files.exists(files.join(dir, ...p));
  const dirs = (...names: string[]): boolean => names.every((n) => isDir(files, files.join(dir, n)));
  // CVAT's "Segmentation mask" export is VOC-like, with its colours in labelmap.txt; a VOC-like
  // folder with classes.json and RGB masks is read with classes.json's colours.
  if (isDir(files, files.join(dir, 'ImageSets', 'Segmentation'))) {
    const colour = has('labelmap.txt') || (has('classes.json') && isColourPng(files, firstPng(files, files.join(dir, 'SegmentationClass'))));
    return colour ? 'colour' : 'voc';
  }
  if (dirs('leftImg8bit', 'gtFine')) return 'cityscapes';
  if (has('classes.json')) return isColourPng(files, firstFolderLabel(files, dir)) ? 'colour' : 'folders';
  if (has('labelmap.txt') && dirs('images', 'labels')) return 'colour';
  // Before ADE20K: both have annotations/, but COCO's holds instances_<split>.json files.
  if (cocoSplits(files, dir).length) return 'coco';
  if (dirs('images', 'annotations')) return 'ade20k';
  throw new Error(
    `data set ${dir}: neither a VOC folder (ImageSets/Segmentation/) nor image/label folders with classes.json, ` +
      'nor Cityscapes (leftImg8bit/, gtFine/), ADE20K (images/, annotations/), colour masks (images/, labels/, labelmap.txt) ' +
      'or COCO (annotations/instances_<split>.json)',
  );
}
