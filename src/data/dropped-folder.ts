// A data-set folder given as its files (a folder dropped into a page: each file a Blob with its
// path inside the folder), opened as `deeplab train` opens one on disk: the same format detection,
// readers, label decoding and errors, through a file access held in memory. What comes back is
// each chosen item's label as class ids (255 where the data set ignores a pixel) and its image
// file, still encoded: decoding it is the page's work (src/browser/dataset-files.ts).
import type { ClassSet } from '../model/voc.js';
import { type CocoClasses, type DatasetFormat, openDataset } from './dataset.js';
import { type FileData, MemoryFiles } from './files/memory-files.js';
import { extName, normalisePath } from './files/paths.js';
import { detectFormat } from './formats/detect.js';
import { DATASET_FORMAT_RECORDS, datasetFormat } from './formats/registry.js';

/** The label of a pixel the data set ignores, as fineTune takes it (its UNLABELLED). */
const IGNORED = 255;

/** Files the page's formats read whole while opening a split (class lists, split lists, COCO annotations): read into memory first. */
const READ_FIRST = new Set(DATASET_FORMAT_RECORDS.filter((f) => f.page).flatMap((f) => f.reads));

/** The split to train on when none is named: 'train' (ADE20K's 'training') where there is one, else the first. */
function trainingSplit(splits: readonly string[]): string | undefined {
  return ['train', 'training'].find((s) => splits.includes(s)) ?? splits[0];
}

export interface DroppedFile {
  /** The path inside the dropped folder, the folder's own name first: 'camvid/images/train/a.png'. */
  path: string;
  data: FileData;
}

export interface DroppedFolderOptions {
  /** The split to read (default: 'train', or ADE20K's 'training', where there is one, else the first found). */
  split?: string;
  /** The format (default: recognised from the layout, as `deeplab train` does). */
  format?: DatasetFormat;
  /** The classes of a COCO folder ('file' by default). */
  cocoClasses?: CocoClasses;
  /** Read at most this many images (the split's first, in the format's order). */
  maxImages?: number;
}

export interface DroppedItem {
  id: string;
  imagePath: string;
  /** The label file (COCO: `<annotations file>#<image id>`). */
  labelPath: string;
  /** The image file, still encoded. */
  image: FileData;
  width: number;
  height: number;
  /** Class id per pixel, row-major, or 255 where the data set ignores the pixel. */
  labels: Uint8Array;
}

export interface DroppedFolder {
  /** The folder's name ('.' when the files came from more than one folder). */
  dir: string;
  format: DatasetFormat;
  split: string;
  /** Every split the folder holds. */
  splits: string[];
  classes: ClassSet;
  /** Images in the split; `items` may hold fewer (maxImages). */
  images: number;
  items: DroppedItem[];
}

/** The folder the files share ('.' when they do not share one): where the data set is opened. */
function rootOf(paths: readonly string[]): string {
  const first = paths.map((p) => (p.includes('/') ? p.slice(0, p.indexOf('/')) : ''));
  return first[0] !== '' && !first[0].startsWith('..') && first.every((f) => f === first[0]) ? first[0] : '.';
}

/** Opens the split of the dropped folder and reads the labels of its first `maxImages` images. */
export async function readDroppedFolder(dropped: readonly DroppedFile[], o: DroppedFolderOptions = {}): Promise<DroppedFolder> {
  if (dropped.length === 0) throw new Error('no files: drop a data-set folder (or choose one)');
  if (o.maxImages !== undefined && (!Number.isInteger(o.maxImages) || o.maxImages < 1)) throw new Error(`maxImages must be a positive whole number, got ${o.maxImages}`);
  // A dropped entry's full path starts with '/': paths inside the drop, not on a disk.
  const paths = dropped.map((f) => normalisePath(f.path.replace(/^\/+/, '')));
  const files = new MemoryFiles(paths.map((p, i) => [p, dropped[i].data] as const));
  const dir = rootOf(paths);
  await Promise.all(paths.filter((p) => READ_FIRST.has(extName(p).toLowerCase())).map((p) => files.load(p)));

  const record = datasetFormat(o.format ?? detectFormat(dir, files, { page: true }), `data set ${dir}`);
  if (!record.page) throw new Error(`data set ${dir}: the ${record.name} format is read by deeplab train and deeplab data, not in the page`);
  const format = record.name;
  const splits = record.splits(files, dir);
  const split = o.split ?? trainingSplit(splits) ?? 'train';
  const data = openDataset(dir, split, { format, cocoClasses: o.cocoClasses, files });
  const items: DroppedItem[] = [];
  for (const item of data.items.slice(0, o.maxImages ?? data.items.length)) {
    // A COCO item's label is rendered from the annotations (read already); others are files.
    if (files.exists(item.labelPath)) await files.load(item.labelPath);
    const label = data.readLabel(item.labelPath);
    const labels = label.indices;
    if (data.ignoreIndex !== IGNORED) for (let p = 0; p < labels.length; p++) if (labels[p] === data.ignoreIndex) labels[p] = IGNORED;
    items.push({ id: item.id, imagePath: item.imagePath, labelPath: item.labelPath, image: files.data(item.imagePath), width: label.width, height: label.height, labels });
  }
  return { dir, format, split, splits, classes: data.classes, images: data.items.length, items };
}
