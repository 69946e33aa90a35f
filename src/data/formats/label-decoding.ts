// How a data set's label files become class ids: a plain-data description (it is sent to the
// loader's worker threads with each sample) and the one function that applies it. COCO has no
// label files: its "path" is a reference to an image in an annotations file, rendered to a mask.
import type { FileAccess } from '../files/file-access.js';
import { nodeFiles } from '../files/node-files.js';
import { type CocoDecoding, readCocoLabel } from './coco-mask.js';
import { type ColourDecoding, readColourLabel } from './colour-labels.js';
import { type IndexDecoding, readIndexLabel } from './index-labels.js';
import type { Label } from './label.js';

export type { CocoDecoding } from './coco-mask.js';
export type { ColourDecoding } from './colour-labels.js';
export type { IndexDecoding } from './index-labels.js';

export type { Label } from './label.js';

export type LabelDecoding = IndexDecoding | ColourDecoding | CocoDecoding;

/**
 * Reads the label file at `path` (through `files`: the disk by default) as `decoding` says; every
 * value is checked (errors name the file). For 'coco', `path` is the item's
 * `<annotations file>#<image id>` and the mask is rendered.
 */
export function decodeLabelFile(path: string, decoding: LabelDecoding, files: FileAccess = nodeFiles): Label {
  switch (decoding.kind) {
    case 'index':
      return readIndexLabel(files, path, decoding);
    case 'colour':
      return readColourLabel(files, path, decoding);
    case 'coco':
      return readCocoLabel(files, path, decoding);
  }
}
