// The splits a data-set folder holds, by format (for a page that opens a dropped folder without
// asking which split): the same places the format modules look for a split.
import type { FileAccess } from '../files/file-access.js';
import { cocoSplits } from './coco.js';
import { isDir, subfolders } from './fs-util.js';
import type { DatasetFormat } from './types.js';

/** The <split> of each ImageSets/Segmentation/<split>.txt (VOC and CVAT's VOC-like export). */
function vocSplits(files: FileAccess, dir: string): string[] {
  const sets = files.join(dir, 'ImageSets', 'Segmentation');
  if (!isDir(files, sets)) return [];
  return files
    .list(sets)
    .filter((f) => f.endsWith('.txt'))
    .map((f) => f.slice(0, -'.txt'.length))
    .sort();
}

/** The splits of the folder in `format`, sorted; none when it has none where that format keeps them. */
export function listSplits(files: FileAccess, dir: string, format: DatasetFormat): string[] {
  switch (format) {
    case 'voc':
      return vocSplits(files, dir);
    case 'colour':
      return isDir(files, files.join(dir, 'ImageSets', 'Segmentation')) ? vocSplits(files, dir) : subfolders(files, files.join(dir, 'images'));
    case 'folders':
    case 'ade20k':
      return subfolders(files, files.join(dir, 'images'));
    case 'cityscapes':
      return subfolders(files, files.join(dir, 'leftImg8bit'));
    case 'coco':
      return cocoSplits(files, dir);
  }
}

/** The split to train on when none is named: 'train' (ADE20K's 'training') where there is one, else the first. */
export function trainingSplit(splits: readonly string[]): string | undefined {
  return ['train', 'training'].find((s) => splits.includes(s)) ?? splits[0];
}
