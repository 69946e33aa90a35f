// COCO instances: annotations/instances_<split>.json with the images in <split>/ (train2017/,
// val2017/, ...). Labels are rendered from the annotations (coco-mask.ts). Classes:
//  - 'file': background 0, then the file's categories in id order (the k-th is class k);
//  - 'voc': torchvision's 21-class VOC subset (background and the 20 VOC categories by their COCO
//    ids, in VOC class order); annotations of the other categories are dropped, so their pixels
//    are background 0, as torchvision's COCO segmentation reference does. Its training split
//    also leaves out images with little VOC annotation; this reader keeps every listed image.
import { VOC_CLASSES, defaultClassSet } from '../../model/voc.js';
import type { FileAccess } from '../files/file-access.js';
import { fileStem } from '../files/paths.js';
import { readCocoFile } from './coco-file.js';
import type { CocoClasses } from './coco-classes.js';
import { type CocoDecoding, cocoLabelRef } from './coco-mask.js';
import type { DatasetFormatRecord } from './format.js';
import { isDir, someOf } from './fs-util.js';
import type { LabelledItem, OpenedSplit } from './types.js';

export const COCO_IGNORE = 255;

/** The COCO category of each VOC class 1..20 (VOC_CLASSES order): its id and COCO name. */
export const COCO_VOC_CATEGORIES: readonly { id: number; name: string }[] = [
  { id: 5, name: 'airplane' },
  { id: 2, name: 'bicycle' },
  { id: 16, name: 'bird' },
  { id: 9, name: 'boat' },
  { id: 44, name: 'bottle' },
  { id: 6, name: 'bus' },
  { id: 3, name: 'car' },
  { id: 17, name: 'cat' },
  { id: 62, name: 'chair' },
  { id: 21, name: 'cow' },
  { id: 67, name: 'dining table' },
  { id: 18, name: 'dog' },
  { id: 19, name: 'horse' },
  { id: 4, name: 'motorcycle' },
  { id: 1, name: 'person' },
  { id: 64, name: 'potted plant' },
  { id: 20, name: 'sheep' },
  { id: 63, name: 'couch' },
  { id: 7, name: 'train' },
  { id: 72, name: 'tv' },
];

const PREFIX = 'instances_';

/** The splits of a COCO folder: the <split> of each annotations/instances_<split>.json. */
function cocoSplits(files: FileAccess, dir: string): string[] {
  const annotations = files.join(dir, 'annotations');
  if (!isDir(files, annotations)) return [];
  return files
    .list(annotations)
    .filter((f) => f.startsWith(PREFIX) && f.endsWith('.json'))
    .map((f) => f.slice(PREFIX.length, -'.json'.length))
    .sort();
}

function openCoco(files: FileAccess, dir: string, split: string, classSet: CocoClasses = 'file'): OpenedSplit {
  const annotationsPath = files.join(dir, 'annotations', `${PREFIX}${split}.json`);
  if (!files.exists(annotationsPath)) {
    throw new Error(`${dir}: no COCO split '${split}' (${annotationsPath} is missing; splits found: ${cocoSplits(files, dir).join(', ') || 'none'})`);
  }
  const file = readCocoFile(files, annotationsPath);
  const imagesDir = files.join(dir, split);
  const items: LabelledItem[] = [];
  const missing: string[] = [];
  for (const image of file.images) {
    const imagePath = files.join(imagesDir, image.fileName);
    if (!files.exists(imagePath)) missing.push(`image ${image.id} '${image.fileName}'`);
    else items.push({ id: fileStem(image.fileName), imagePath, labelPath: cocoLabelRef(annotationsPath, image.id) });
  }
  if (missing.length) throw new Error(`${annotationsPath}: ${missing.length} listed image${missing.length === 1 ? ' is' : 's are'} missing from ${imagesDir} (${someOf(missing)})`);
  if (items.length === 0) throw new Error(`${annotationsPath}: lists no images`);

  let names: string[];
  let categoryClasses: [number, number][];
  if (classSet === 'voc') {
    for (const c of COCO_VOC_CATEGORIES) {
      const found = file.categories.find((k) => k.id === c.id);
      if (!found || found.name !== c.name) {
        throw new Error(`${annotationsPath}: --coco-classes voc needs COCO's category ${c.id} '${c.name}', but the file's category ${c.id} is ${found ? `'${found.name}'` : 'missing'}`);
      }
    }
    names = [...VOC_CLASSES];
    categoryClasses = COCO_VOC_CATEGORIES.map((c, k) => [c.id, k + 1]);
  } else {
    if (file.categories.length === 0) throw new Error(`${annotationsPath}: lists no categories`);
    if (file.categories.length >= COCO_IGNORE) throw new Error(`${annotationsPath}: ${file.categories.length} categories; at most ${COCO_IGNORE - 1} fit beside background and the ignore index ${COCO_IGNORE}`);
    names = ['background', ...file.categories.map((c) => c.name)];
    categoryClasses = file.categories.map((c, k) => [c.id, k + 1]);
  }
  const labels: CocoDecoding = { kind: 'coco', classes: names.length, ignoreIndex: COCO_IGNORE, categoryClasses };
  return { items, classes: { names, colors: defaultClassSet(names.length).colors }, ignoreIndex: COCO_IGNORE, labels };
}

export const COCO: DatasetFormatRecord<'coco'> = {
  name: 'coco',
  layout: 'COCO (annotations/instances_<split>.json)',
  // Above ADE20K, whose folders also hold annotations/.
  recognise: [{ priority: 20, matches: (files, dir) => cocoSplits(files, dir).length > 0 }],
  open: (files, dir, split, o) => openCoco(files, dir, split, o.cocoClasses),
  splits: cocoSplits,
  labels: ['coco'],
  cocoClasses: true,
  page: true,
  reads: ['.json'],
};
