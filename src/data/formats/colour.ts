// Colour masks: the image/label folders layout (images/<split>/, labels/<split>/<name>.png), or
// CVAT's VOC-like export (JPEGImages/, SegmentationClass/, ImageSets/Segmentation/<split>.txt),
// whose label PNGs are RGB colour masks; the colours come from classes.json (and its optional
// ignoreColor) or from a CVAT labelmap.txt.
import { listVocSplit } from './voc-split.js';
import type { FileAccess } from '../files/file-access.js';
import { readClassesJson } from './classes-json.js';
import { type Rgb, colourTable } from './colour-labels.js';
import { readCvatLabelmap } from './cvat-labelmap.js';
import { listFolderItems } from './folder-items.js';
import { isDir } from './fs-util.js';
import type { LabelDecoding } from './label-decoding.js';
import type { OpenedSplit } from './types.js';

export function openColour(files: FileAccess, dir: string, split: string): OpenedSplit {
  const json = files.join(dir, 'classes.json');
  const labelmap = files.join(dir, 'labelmap.txt');
  const hasJson = files.exists(json);
  const hasLabelmap = files.exists(labelmap);
  if (hasJson && hasLabelmap) throw new Error(`${dir}: both classes.json and labelmap.txt name the colours; keep one`);
  if (!hasJson && !hasLabelmap) throw new Error(`${dir}: colour masks need the class colours in classes.json or a CVAT labelmap.txt; neither is there`);
  const c = hasJson ? readClassesJson(files, json) : { classes: readCvatLabelmap(files, labelmap), ignoreIndex: 255, ignoreColor: undefined };
  const labels: LabelDecoding = {
    kind: 'colour',
    colours: c.classes.colors.map((rgb) => [...rgb] as Rgb),
    ignoreIndex: c.ignoreIndex,
    source: hasJson ? json : labelmap,
    ...(c.ignoreColor ? { ignoreColour: c.ignoreColor } : {}),
  };
  colourTable(labels); // two classes with one colour fail here, before any label is read
  const items = isDir(files, files.join(dir, 'ImageSets', 'Segmentation'))
    ? listVocSplit(dir, split, files).map((it) => ({ id: it.id, imagePath: it.imagePath, labelPath: it.gtPath }))
    : listFolderItems(files, dir, split);
  return { items, classes: c.classes, ignoreIndex: c.ignoreIndex, labels };
}
