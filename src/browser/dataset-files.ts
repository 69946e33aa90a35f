// A data-set folder chosen or dropped in the page, read for fineTune: the folder's files (from
// <input webkitdirectory>, whose Files carry webkitRelativePath, or a drop, filesFromDataTransfer)
// opened as `deeplab train` opens a folder (src/data/dropped-folder.ts), and each chosen image
// decoded by the browser: TeachSamples with the data set's labels (255 where it ignores a pixel)
// and its classes.
import { type DroppedFolder, type DroppedFolderOptions, readDroppedFolder } from '../data/dropped-folder.js';
import type { TeachSample } from '../train/fine-tune.js';
import type { FolderFile } from './dropped-entries.js';
import { decodeImageBytes } from './images.js';

export type DatasetFilesOptions = DroppedFolderOptions;

/** The opened folder (readDroppedFolder's answer) with its images decoded as TeachSamples. */
export interface FolderDataset extends Omit<DroppedFolder, 'items'> {
  samples: TeachSample[];
  /** Each sample's id and image path in the folder. */
  ids: string[];
  paths: string[];
}

/** A File's path in its folder: webkitRelativePath where the browser set it, else its name. */
function pathOf(f: File | FolderFile): { path: string; file: Blob } {
  if (f instanceof Blob) return { path: (f as File).webkitRelativePath || (f as File).name, file: f };
  return f;
}

/**
 * Opens the split of the folder `files` hold (a FileList or array of Files from a folder input, or
 * filesFromDataTransfer's) and decodes its first images (at most maxImages).
 */
export async function datasetFromFiles(files: Iterable<File | FolderFile> | ArrayLike<File | FolderFile>, o: DatasetFilesOptions = {}): Promise<FolderDataset> {
  const dropped = Array.from(files as ArrayLike<File | FolderFile>)
    .map(pathOf).map(({ path, file }) => ({ path, data: file }));
  const folder = await readDroppedFolder(dropped, o);
  const samples: TeachSample[] = [];
  for (const item of folder.items) {
    const image = await decodeImageBytes(item.image, item.imagePath);
    if (image.width !== item.width || image.height !== item.height) {
      throw new Error(`${item.labelPath}: the label is ${item.width}x${item.height} but its image ${item.imagePath} is ${image.width}x${image.height}`);
    }
    samples.push({ image, labels: item.labels });
  }
  const { items, ...opened } = folder;
  return { ...opened, samples, ids: items.map((i) => i.id), paths: items.map((i) => i.imagePath) };
}
