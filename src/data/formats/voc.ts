// PASCAL VOC: JPEGImages/, SegmentationClass/ (palette PNGs of class ids), and
// ImageSets/Segmentation/<split>.txt; the 21 VOC classes, ignore label 255.
import { VOC_IGNORE_LABEL, defaultClassSet } from '../../model/voc.js';
import type { DatasetFormatRecord } from './format.js';
import { isDir } from './fs-util.js';
import { listVocSplit, vocSplits } from './voc-split.js';

export const VOC: DatasetFormatRecord<'voc'> = {
  name: 'voc',
  layout: 'a VOC folder (ImageSets/Segmentation/)',
  // Below the VOC-like colour masks (colour.ts), above every other layout.
  recognise: [{ priority: 60, matches: (files, dir) => isDir(files, files.join(dir, 'ImageSets', 'Segmentation')) }],
  open(files, dir, split) {
    const items = listVocSplit(dir, split, files).map((it) => ({ id: it.id, imagePath: it.imagePath, labelPath: it.gtPath }));
    return { items, classes: defaultClassSet(21), ignoreIndex: VOC_IGNORE_LABEL, labels: { kind: 'index', classes: 21, ignoreIndex: VOC_IGNORE_LABEL } };
  },
  splits: vocSplits,
  labels: ['index'],
  cocoClasses: false,
  page: true,
  reads: ['.txt'],
};
