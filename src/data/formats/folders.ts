// Image/label folders: images/<split>/, labels/<split>/<name>.png (class ids as sample values)
// and classes.json { names, colors, ignoreIndex } (as ../shared/data/camvid).
import { readClassesJson } from './classes-json.js';
import { listFolderItems } from './folder-items.js';
import type { DatasetFormatRecord } from './format.js';
import { subfolders } from './fs-util.js';

export const FOLDERS: DatasetFormatRecord<'folders'> = {
  name: 'folders',
  layout: 'image/label folders with classes.json',
  // Below classes.json with colour masks (colour.ts), above a CVAT labelmap.txt beside images/.
  recognise: [{ priority: 40, matches: (files, dir) => files.exists(files.join(dir, 'classes.json')) }],
  open(files, dir, split) {
    const json = files.join(dir, 'classes.json');
    if (!files.exists(json)) throw new Error(`${dir}: the folders format needs classes.json (names, colors, ignoreIndex); it is missing`);
    const { classes, ignoreIndex } = readClassesJson(files, json);
    const items = listFolderItems(files, dir, split);
    return { items, classes, ignoreIndex, labels: { kind: 'index', classes: classes.names.length, ignoreIndex } };
  },
  splits: (files, dir) => subfolders(files, files.join(dir, 'images')),
  labels: ['index'],
  cocoClasses: false,
  page: true,
  reads: ['.json'],
};
