// A data-set format is one record: its name, how a folder is recognised as it (rules with
// explicit priorities), how a split is opened (its items, classes and label decoding), the
// splits a folder holds, and whether the page opens it from a dropped folder. The records are
// kept in registry.ts; openDataset, detection, `deeplab data` and the page go through them and
// name no format.
import type { FileAccess } from '../files/file-access.js';
import type { CocoClasses } from './coco-classes.js';
import type { LabelDecoding } from './label-decoding.js';
import type { OpenedSplit } from './types.js';

/** What opening a split may be told besides the folder and the split. */
export interface OpenOptions {
  /** The classes of a COCO data set: only for a format with `cocoClasses`. */
  cocoClasses?: CocoClasses;
}

/** One way a folder is recognised as a format: where several formats' rules match, the highest priority wins. */
export interface LayoutRule {
  priority: number;
  matches(files: FileAccess, dir: string): boolean;
}

export interface DatasetFormatRecord<N extends string = string> {
  name: N;
  /** Its layout in words, for the refusal of a folder no rule recognises: 'Cityscapes (leftImg8bit/, gtFine/)'. */
  layout: string;
  /** How a folder is recognised as this format (none: only named with --format). */
  recognise: readonly LayoutRule[];
  /** Opens a split; every file is checked up front and every error names the file. */
  open(files: FileAccess, dir: string, split: string, o: OpenOptions): OpenedSplit;
  /** The splits the folder holds, sorted; none when it holds none where this format keeps them. */
  splits(files: FileAccess, dir: string): string[];
  /** How its label files become class ids: the LabelDecoding kinds its splits hand back. */
  labels: readonly LabelDecoding['kind'][];
  /** Whether it takes a COCO class set (--coco-classes). */
  cocoClasses: boolean;
  /** Whether the page opens it from a dropped folder (through the same reader, on files in memory). */
  page: boolean;
  /** The endings of the files opening a split reads whole (split lists, class lists, annotations): the page reads these into memory first. */
  reads: readonly string[];
}
