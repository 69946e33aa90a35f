// The items of the image/label folders layout: images/<split>/*.{jpg,jpeg,png} and
// labels/<split>/<same name>.png, every image checked to have its label.
import type { FileAccess } from '../files/file-access.js';
import { extName, fileStem } from '../files/paths.js';
import { isDir, someOf, subfolders } from './fs-util.js';
import type { LabelledItem } from './types.js';

const IMAGE_EXTENSIONS = new Set(['.jpg', '.jpeg', '.png']);

export function listFolderItems(files: FileAccess, dir: string, split: string, images = 'images', labels = 'labels'): LabelledItem[] {
  const imagesDir = files.join(dir, images, split);
  const labelsDir = files.join(dir, labels, split);
  if (!isDir(files, imagesDir)) {
    throw new Error(`${dir}: no split '${split}' (${images}/${split}/ is missing; splits found: ${subfolders(files, files.join(dir, images)).join(', ') || 'none'})`);
  }
  if (!isDir(files, labelsDir)) throw new Error(`${dir}: ${labels}/${split}/ is missing`);
  const items: LabelledItem[] = [];
  const unlabelled: string[] = [];
  for (const file of files.list(imagesDir).sort()) {
    if (!IMAGE_EXTENSIONS.has(extName(file).toLowerCase())) continue;
    const id = fileStem(file);
    const labelPath = files.join(labelsDir, `${id}.png`);
    if (!files.exists(labelPath)) unlabelled.push(id);
    else items.push({ id, imagePath: files.join(imagesDir, file), labelPath });
  }
  if (unlabelled.length) throw new Error(`${dir}: ${unlabelled.length} images of split '${split}' have no label PNG in ${labels}/${split}/ (${someOf(unlabelled)})`);
  if (items.length === 0) throw new Error(`${dir}: split '${split}' holds no images`);
  return items;
}
