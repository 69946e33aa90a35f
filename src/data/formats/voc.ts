// PASCAL VOC: JPEGImages/, SegmentationClass/ (palette PNGs of class ids), and
// ImageSets/Segmentation/<split>.txt; the 21 VOC classes, ignore label 255.
import { listVocSplit } from './voc-split.js';
import { VOC_IGNORE_LABEL, defaultClassSet } from '../../model/voc.js';
import type { FileAccess } from '../files/file-access.js';
import type { OpenedSplit } from './types.js';

export function openVoc(files: FileAccess, dir: string, split: string): OpenedSplit {
  const items = listVocSplit(dir, split, files).map((it) => ({ id: it.id, imagePath: it.imagePath, labelPath: it.gtPath }));
  return { items, classes: defaultClassSet(21), ignoreIndex: VOC_IGNORE_LABEL, labels: { kind: 'index', classes: 21, ignoreIndex: VOC_IGNORE_LABEL } };
}
