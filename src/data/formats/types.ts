// What every data-set format's record hands back when it opens a split.
import type { ClassSet } from '../../model/voc.js';
import type { LabelDecoding } from './label-decoding.js';

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
