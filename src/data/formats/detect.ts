// Which format a data-set folder is in, from its folders and files alone (no label is read).
import type { FileAccess } from '../files/file-access.js';
import { nodeFiles } from '../files/node-files.js';
import { cocoSplits } from './coco.js';
import { isDir } from './fs-util.js';
import type { DatasetFormat } from './types.js';

export function detectFormat(dir: string, files: FileAccess = nodeFiles): DatasetFormat {
  const has = (...p: string[]): boolean => files.exists(files.join(dir, ...p));
  const dirs = (...names: string[]): boolean => names.every((n) => isDir(files, files.join(dir, n)));
  // CVAT's "Segmentation mask" export is VOC-like, with its colours in labelmap.txt.
  if (isDir(files, files.join(dir, 'ImageSets', 'Segmentation'))) return has('labelmap.txt') ? 'colour' : 'voc';
  if (dirs('leftImg8bit', 'gtFine')) return 'cityscapes';
  if (has('classes.json')) return 'folders';
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
