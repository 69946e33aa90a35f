// ADE20K as SceneParse150 (ADEChallengeData2016): images/{training,validation}/*.jpg with
// annotations/{training,validation}/<same name>.png. Value 0 (unlabelled) is ignored (255) and
// 1..150 become classes 0..149 (mmsegmentation's reduce_zero_label); other values are errors.
import { defaultClassSet } from '../../model/voc.js';
import { ownValue } from '../../util/own-key.js';
import { listFolderItems } from './folder-items.js';
import type { DatasetFormatRecord } from './format.js';
import { isDir, subfolders } from './fs-util.js';

export const ADE20K_CLASSES = 150;
export const ADE20K_IGNORE = 255;

/** Split names as ADE20K spells them, with the usual short aliases. */
const SPLIT_ALIASES: Record<string, string> = { train: 'training', val: 'validation' };

export function ade20kSplit(split: string): string {
  return ownValue(SPLIT_ALIASES, split) ?? split;
}

/** Raw annotation value -> class id: 0 -> 255, v -> v - 1 for 1..150, -1 (an error) above. */
export const ADE20K_LOOKUP: readonly number[] = Array.from({ length: 256 }, (_, v) => (v === 0 ? ADE20K_IGNORE : v <= ADE20K_CLASSES ? v - 1 : -1));

export const ADE20K: DatasetFormatRecord<'ade20k'> = {
  name: 'ade20k',
  layout: 'ADE20K (images/, annotations/)',
  // The last resort: COCO's folders hold annotations/ too (with instances_<split>.json in it).
  recognise: [{ priority: 10, matches: (files, dir) => ['images', 'annotations'].every((n) => isDir(files, files.join(dir, n))) }],
  open(files, dir, split) {
    const items = listFolderItems(files, dir, ade20kSplit(split), 'images', 'annotations');
    // Generic names ('class 1'..'class 150', the dataset's 1-based numbering) and VOC colours.
    const colors = defaultClassSet(ADE20K_CLASSES).colors;
    const names = Array.from({ length: ADE20K_CLASSES }, (_, i) => `class ${i + 1}`);
    return {
      items,
      classes: { names, colors },
      ignoreIndex: ADE20K_IGNORE,
      labels: {
        kind: 'index',
        classes: ADE20K_CLASSES,
        ignoreIndex: ADE20K_IGNORE,
        lookup: [...ADE20K_LOOKUP],
        rawValues: 'ADE20K annotation values (0 = unlabelled, 1..150 the classes)',
      },
    };
  },
  splits: (files, dir) => subfolders(files, files.join(dir, 'images')),
  labels: ['index'],
  cocoClasses: false,
  page: true,
  reads: [],
};
