// Image/label folders: images/<split>/, labels/<split>/<name>.png (class ids as sample values)
// and classes.json { names, colors, ignoreIndex } (as ../shared/data/camvid).
import type { FileAccess } from '../files/file-access.js';
import { readClassesJson } from './classes-json.js';
import { listFolderItems } from './folder-items.js';
import type { OpenedSplit } from './types.js';

export function openFolders(files: FileAccess, dir: string, split: string): OpenedSplit {
  const json = files.join(dir, 'classes.json');
  if (!files.exists(json)) throw new Error(`${dir}: the folders format needs classes.json (names, colors, ignoreIndex); it is missing`);
  const { classes, ignoreIndex } = readClassesJson(files, json);
  const items = listFolderItems(files, dir, split);
  return { items, classes, ignoreIndex, labels: { kind: 'index', classes: classes.names.length, ignoreIndex } };
}
