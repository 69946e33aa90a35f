// Image/label folders: images/<split>/, labels/<split>/<name>.png (class ids as sample values)
// and classes.json { names, colors, ignoreIndex } (as ../shared/data/camvid).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { readClassesJson } from './classes-json.js';
import { listFolderItems } from './folder-items.js';
import type { OpenedSplit } from './types.js';

export function openFolders(dir: string, split: string): OpenedSplit {
  const json = join(dir, 'classes.json');
  if (!existsSync(json)) throw new Error(`${dir}: the folders format needs classes.json (names, colors, ignoreIndex); it is missing`);
  const { classes, ignoreIndex } = readClassesJson(json);
  const items = listFolderItems(dir, split);
  return { items, classes, ignoreIndex, labels: { kind: 'index', classes: classes.names.length, ignoreIndex } };
}
