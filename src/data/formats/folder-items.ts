// The items of the image/label folders layout: images/<split>/*.{jpg,jpeg,png} and
// labels/<split>/<same name>.png, every image checked to have its label.
import { existsSync, readdirSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import { isDir, someOf, subfolders } from './fs-util.js';
import type { LabelledItem } from './types.js';

const IMAGE_EXTENSIONS = new Set(['.jpg', '.jpeg', '.png']);

export function listFolderItems(dir: string, split: string, images = 'images', labels = 'labels'): LabelledItem[] {
  const imagesDir = join(dir, images, split);
  const labelsDir = join(dir, labels, split);
  if (!isDir(imagesDir)) {
    throw new Error(`${dir}: no split '${split}' (${images}/${split}/ is missing; splits found: ${subfolders(join(dir, images)).join(', ') || 'none'})`);
  }
  if (!isDir(labelsDir)) throw new Error(`${dir}: ${labels}/${split}/ is missing`);
  const items: LabelledItem[] = [];
  const unlabelled: string[] = [];
  for (const file of readdirSync(imagesDir).sort()) {
    if (!IMAGE_EXTENSIONS.has(extname(file).toLowerCase())) continue;
    const id = basename(file, extname(file));
    const labelPath = join(labelsDir, `${id}.png`);
    if (!existsSync(labelPath)) unlabelled.push(id);
    else items.push({ id, imagePath: join(imagesDir, file), labelPath });
  }
  if (unlabelled.length) throw new Error(`${dir}: ${unlabelled.length} images of split '${split}' have no label PNG in ${labels}/${split}/ (${someOf(unlabelled)})`);
  if (items.length === 0) throw new Error(`${dir}: split '${split}' holds no images`);
  return items;
}
