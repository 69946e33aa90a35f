// Labelled data sets. openDataset opens a split in one of the formats of formats/registry.ts (a
// record each, in its own module under formats/, whose header describes its layout), named by
// `format` or recognised from the folder's layout (formats/detect.ts).
// A Dataset carries its label decoding: `readLabel(path)` is how training and evaluation read
// its labels, and `labels` (plain data) is what worker threads get to do the same. The files are
// read through `files` (the disk by default; a folder held in memory in the browser).
import type { ClassSet } from '../model/voc.js';
import type { FileAccess } from './files/file-access.js';
import { nodeFiles } from './files/node-files.js';
import { type CocoClasses, COCO_CLASS_SETS, isCocoClasses } from './formats/coco-classes.js';
import { detectFormat } from './formats/detect.js';
import { isDir } from './formats/fs-util.js';
import { type Label, type LabelDecoding, decodeLabelFile } from './formats/label-decoding.js';
import { DATASET_FORMAT_RECORDS, type DatasetFormat, datasetFormat } from './formats/registry.js';
import type { LabelledItem } from './formats/types.js';

export type { Label, LabelDecoding } from './formats/label-decoding.js';
export { decodeLabelFile } from './formats/label-decoding.js';
export { COCO_CLASS_SETS, type CocoClasses, isCocoClasses } from './formats/coco-classes.js';
export { DATASET_FORMATS, type DatasetFormat, isDatasetFormat } from './formats/registry.js';
export type { LabelledItem } from './formats/types.js';

export interface Dataset {
  format: DatasetFormat;
  /** The same as `format` (the older name). */
  layout: DatasetFormat;
  dir: string;
  split: string;
  items: LabelledItem[];
  classes: ClassSet;
  ignoreIndex: number;
  /** How label files become class ids (plain data, for worker threads). */
  labels: LabelDecoding;
  /** A label file of this data set as class ids and the ignore index, every value checked. */
  readLabel(path: string): Label;
}

export interface OpenDatasetOptions {
  /** The format; without it the folder's layout decides. */
  format?: DatasetFormat;
  /** The classes of a 'coco' data set (default 'file'); an error for the other formats. */
  cocoClasses?: CocoClasses;
  /** Where the files are read (default: the disk, through node:fs). */
  files?: FileAccess;
}

/** Opens a split of a data set; every file is checked to exist up front. */
export function openDataset(dir: string, split: string, options: OpenDatasetOptions = {}): Dataset {
  const files = options.files ?? nodeFiles;
  if (!isDir(files, dir)) throw new Error(`data set ${dir}: not a folder`);
  const named = options.format === undefined ? undefined : datasetFormat(options.format, `data set ${dir}`);
  if (options.cocoClasses !== undefined && !isCocoClasses(options.cocoClasses)) {
    throw new Error(`data set ${dir}: unknown COCO class set '${options.cocoClasses}' (one of ${COCO_CLASS_SETS.join(', ')})`);
  }
  const record = named ?? datasetFormat(detectFormat(dir, files), `data set ${dir}`);
  const format = record.name;
  if (options.cocoClasses !== undefined && !record.cocoClasses) {
    const takers = DATASET_FORMAT_RECORDS.filter((f) => f.cocoClasses).map((f) => f.name);
    throw new Error(`data set ${dir}: the COCO class set (--coco-classes) applies to the ${takers.join(', ')} format only, not ${format}`);
  }
  const opened = record.open(files, dir, split, { cocoClasses: options.cocoClasses });
  const labels = opened.labels;
  return { format, layout: format, dir, split, ...opened, readLabel: (path: string) => decodeLabelFile(path, labels, files) };
}

/** A class-id label PNG, every value checked to be a class or the ignore index (the error names the file). */
export function readLabel(path: string, classes: number, ignoreIndex: number): Label {
  return decodeLabelFile(path, { kind: 'index', classes, ignoreIndex });
}
