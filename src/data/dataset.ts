// Labelled data sets. openDataset opens a split in one of six formats (each in its own module
// under formats/), named by `format` or recognised from the folder's layout:
//  - 'voc': PASCAL VOC (JPEGImages/, SegmentationClass/, ImageSets/Segmentation/<split>.txt);
//  - 'folders': images/<split>/, labels/<split>/ (class-id PNGs), classes.json;
//  - 'cityscapes': leftImg8bit/ and gtFine/ (labelIds mapped to the 19 trainIds);
//  - 'ade20k': SceneParse150's images/ and annotations/ (0 ignored, the rest shifted down);
//  - 'colour': the folders layout (or CVAT's VOC-like export) with RGB colour-mask labels;
//  - 'coco': annotations/instances_<split>.json and <split>/ (masks rendered from the polygons
//    and RLEs; classes from the file or, with cocoClasses 'voc', torchvision's VOC subset).
// A Dataset carries its label decoding: `readLabel(path)` is how training and evaluation read
// its labels, and `labels` (plain data) is what worker threads get to do the same. The files are
// read through `files` (the disk by default; a folder held in memory in the browser).
import type { ClassSet } from '../model/voc.js';
import type { FileAccess } from './files/file-access.js';
import { nodeFiles } from './files/node-files.js';
import { openAde20k } from './formats/ade20k.js';
import { type CocoClasses, COCO_CLASS_SETS, isCocoClasses, openCoco } from './formats/coco.js';
import { openCityscapes } from './formats/cityscapes.js';
import { openColour } from './formats/colour.js';
import { detectFormat } from './formats/detect.js';
import { openFolders } from './formats/folders.js';
import { isDir } from './formats/fs-util.js';
import { type Label, type LabelDecoding, decodeLabelFile } from './formats/label-decoding.js';
import { type DatasetFormat, DATASET_FORMATS, type LabelledItem, type OpenedSplit, isDatasetFormat } from './formats/types.js';
import { openVoc } from './formats/voc.js';

export type { Label, LabelDecoding } from './formats/label-decoding.js';
export { decodeLabelFile } from './formats/label-decoding.js';
export { COCO_CLASS_SETS, type CocoClasses, isCocoClasses } from './formats/coco.js';
export { DATASET_FORMATS, type DatasetFormat, type LabelledItem, isDatasetFormat } from './formats/types.js';

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

const OPENERS: Record<DatasetFormat, (files: FileAccess, dir: string, split: string, o: OpenDatasetOptions) => OpenedSplit> = {
  voc: openVoc,
  folders: openFolders,
  cityscapes: openCityscapes,
  ade20k: openAde20k,
  colour: openColour,
  coco: (files, dir, split, o) => openCoco(files, dir, split, o.cocoClasses),
};

/** Opens a split of a data set; every file is checked to exist up front. */
export function openDataset(dir: string, split: string, options: OpenDatasetOptions = {}): Dataset {
  const files = options.files ?? nodeFiles;
  if (!isDir(files, dir)) throw new Error(`data set ${dir}: not a folder`);
  if (options.format !== undefined && !isDatasetFormat(options.format)) {
    throw new Error(`data set ${dir}: unknown format '${options.format}' (formats: ${DATASET_FORMATS.join(', ')})`);
  }
  if (options.cocoClasses !== undefined && !isCocoClasses(options.cocoClasses)) {
    throw new Error(`data set ${dir}: unknown COCO class set '${options.cocoClasses}' (one of ${COCO_CLASS_SETS.join(', ')})`);
  }
  const format = options.format ?? detectFormat(dir, files);
  if (options.cocoClasses !== undefined && format !== 'coco') {
    throw new Error(`data set ${dir}: the COCO class set (--coco-classes) applies to the coco format only, not ${format}`);
  }
  const opened = OPENERS[format](files, dir, split, options);
  const labels = opened.labels;
  return { format, layout: format, dir, split, ...opened, readLabel: (path: string) => decodeLabelFile(path, labels, files) };
}

/** A class-id label PNG, every value checked to be a class or the ignore index (the error names the file). */
export function readLabel(path: string, classes: number, ignoreIndex: number): Label {
  return decodeLabelFile(path, { kind: 'index', classes, ignoreIndex });
}
