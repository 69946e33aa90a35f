// Cityscapes: leftImg8bit/<split>/<city>/<name>_leftImg8bit.png with
// gtFine/<split>/<city>/<name>_gtFine_labelIds.png. The labelIds become the 19 trainIds of the
// official table (cityscapesScripts' labels.py); every other id is ignored (255).
import type { FileAccess } from '../files/file-access.js';
import type { DatasetFormatRecord } from './format.js';
import { isDir, someOf, subfolders } from './fs-util.js';
import type { LabelledItem, OpenedSplit } from './types.js';

/** The 19 evaluated classes in trainId order: name, labelId, colour. */
export const CITYSCAPES_CLASSES: readonly { name: string; labelId: number; color: [number, number, number] }[] = [
  { name: 'road', labelId: 7, color: [128, 64, 128] },
  { name: 'sidewalk', labelId: 8, color: [244, 35, 232] },
  { name: 'building', labelId: 11, color: [70, 70, 70] },
  { name: 'wall', labelId: 12, color: [102, 102, 156] },
  { name: 'fence', labelId: 13, color: [190, 153, 153] },
  { name: 'pole', labelId: 17, color: [153, 153, 153] },
  { name: 'traffic light', labelId: 19, color: [250, 170, 30] },
  { name: 'traffic sign', labelId: 20, color: [220, 220, 0] },
  { name: 'vegetation', labelId: 21, color: [107, 142, 35] },
  { name: 'terrain', labelId: 22, color: [152, 251, 152] },
  { name: 'sky', labelId: 23, color: [70, 130, 180] },
  { name: 'person', labelId: 24, color: [220, 20, 60] },
  { name: 'rider', labelId: 25, color: [255, 0, 0] },
  { name: 'car', labelId: 26, color: [0, 0, 142] },
  { name: 'truck', labelId: 27, color: [0, 0, 70] },
  { name: 'bus', labelId: 28, color: [0, 60, 100] },
  { name: 'train', labelId: 31, color: [0, 80, 100] },
  { name: 'motorcycle', labelId: 32, color: [0, 0, 230] },
  { name: 'bicycle', labelId: 33, color: [119, 11, 32] },
];

export const CITYSCAPES_IGNORE = 255;

/** labelId (0..255) -> trainId, or 255 for the ids not evaluated. */
export const CITYSCAPES_TRAIN_IDS: readonly number[] = (() => {
  const t = new Array<number>(256).fill(CITYSCAPES_IGNORE);
  CITYSCAPES_CLASSES.forEach((c, trainId) => (t[c.labelId] = trainId));
  return t;
})();

const IMAGE_SUFFIX = '_leftImg8bit.png';
const LABEL_SUFFIX = '_gtFine_labelIds.png';

function openCityscapes(files: FileAccess, dir: string, split: string): OpenedSplit {
  const imagesDir = files.join(dir, 'leftImg8bit', split);
  if (!isDir(files, imagesDir)) throw new Error(`${dir}: no Cityscapes split '${split}' (leftImg8bit/${split}/ is missing; splits found: ${subfolders(files, files.join(dir, 'leftImg8bit')).join(', ') || 'none'})`);
  const items: LabelledItem[] = [];
  const unlabelled: string[] = [];
  for (const city of subfolders(files, imagesDir)) {
    for (const file of files.list(files.join(imagesDir, city)).sort()) {
      if (!file.endsWith(IMAGE_SUFFIX)) continue;
      const name = file.slice(0, -IMAGE_SUFFIX.length);
      const labelPath = files.join(dir, 'gtFine', split, city, name + LABEL_SUFFIX);
      if (!files.exists(labelPath)) unlabelled.push(`gtFine/${split}/${city}/${name}${LABEL_SUFFIX}`);
      else items.push({ id: name, imagePath: files.join(imagesDir, city, file), labelPath });
    }
  }
  if (unlabelled.length) throw new Error(`${dir}: ${unlabelled.length} images of split '${split}' have no label file (${someOf(unlabelled)})`);
  if (items.length === 0) throw new Error(`${dir}: Cityscapes split '${split}' holds no images (leftImg8bit/${split}/<city>/*${IMAGE_SUFFIX})`);
  const classes = { names: CITYSCAPES_CLASSES.map((c) => c.name), colors: CITYSCAPES_CLASSES.map((c) => c.color) };
  return {
    items,
    classes,
    ignoreIndex: CITYSCAPES_IGNORE,
    labels: { kind: 'index', classes: CITYSCAPES_CLASSES.length, ignoreIndex: CITYSCAPES_IGNORE, lookup: [...CITYSCAPES_TRAIN_IDS] },
  };
}

export const CITYSCAPES: DatasetFormatRecord<'cityscapes'> = {
  name: 'cityscapes',
  layout: 'Cityscapes (leftImg8bit/, gtFine/)',
  // Below VOC's folders, above classes.json's.
  recognise: [{ priority: 50, matches: (files, dir) => ['leftImg8bit', 'gtFine'].every((n) => isDir(files, files.join(dir, n))) }],
  open: openCityscapes,
  splits: (files, dir) => subfolders(files, files.join(dir, 'leftImg8bit')),
  labels: ['index'],
  cocoClasses: false,
  page: true,
  reads: [],
};
