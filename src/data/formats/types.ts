// What every data-set format module hands back, and the names of the formats.
import type { ClassSet } from '../../model/voc.js';
import type { LabelDecoding } from './label-decoding.js';

export const DATASET_FORMATS = ['voc', 'folders', 'cityscapes', 'ade20k', 'colour', 'coco'] as const;
export type DatasetFormat = (typeof DATASET_FORMATS)[number];

export interface LabelledItem {
  id: string;
  imagePath: string;
  /** The label file; for 'coco', `<annotations file>#<image id>` (the mask is rendered from it). */
  labelPath: string;
}

/** One split of a data set as a format module opens it. */
export interface OpenedSplit {
  items: LabelledItem[];
  classes: ClassSet;
  ignoreIndex: number;
  /** How a label file becomes class ids (plain data: it crosses to the loader's worker threads). */
  labels: LabelDecoding;
}

export function isDatasetFormat(text: string): text is DatasetFormat {
  return (DATASET_FORMATS as readonly string[]).includes(text);
}
