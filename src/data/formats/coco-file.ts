// A COCO instances file (annotations/instances_<split>.json) read and checked: its images,
// categories and each image's annotations. Parsed files are kept per process (per worker thread
// too), keyed by path and checked against the file's size and modification time, so rendering
// one image's mask does not parse the whole file again (a cache per file access: a folder in
// memory is told apart from one on disk). Segmentations are checked when an
// image's mask is rendered (coco-mask.ts), where errors name the annotation.
import type { FileAccess } from '../files/file-access.js';

export interface CocoImage {
  id: number;
  fileName: string;
  width: number;
  height: number;
}

export interface CocoCategory {
  id: number;
  name: string;
}

export interface CocoAnnotation {
  id: number;
  categoryId: number;
  /** As in the file: a list of polygons or an RLE `{counts, size}`; checked when rendered. */
  segmentation: unknown;
}

export interface CocoFile {
  path: string;
  /** Sorted by id. */
  images: CocoImage[];
  imageById: Map<number, CocoImage>;
  /** Sorted by id. */
  categories: CocoCategory[];
  /** Each image's annotations in file order (images without any are absent). */
  annotationsByImage: Map<number, CocoAnnotation[]>;
}

type Json = Record<string, unknown>;

const caches = new WeakMap<FileAccess, Map<string, { version: string; file: CocoFile }>>();

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const isId = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;
const isSize = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) > 0;

function list(doc: Json, key: string, path: string): unknown[] {
  const v = doc[key];
  if (!Array.isArray(v)) throw new Error(`${path}: '${key}' is ${v === undefined ? 'missing' : 'not a list'} (a COCO instances file has images, annotations and categories lists)`);
  return v;
}

function parse(files: FileAccess, path: string): CocoFile {
  let doc: unknown;
  try {
    doc = JSON.parse(files.readText(path));
  } catch (e) {
    throw new Error(`${path}: cannot read the COCO annotations file: ${(e as Error).message}`);
  }
  if (!isObject(doc)) throw new Error(`${path}: not a COCO instances file (the JSON is not an object)`);

  const imageById = new Map<number, CocoImage>();
  for (const [i, raw] of list(doc, 'images', path).entries()) {
    const im = isObject(raw) ? raw : {};
    const where = `${path}: image ${isId(im.id) ? im.id : `#${i} (the ${i + 1}-th of 'images')`}`;
    if (!isId(im.id)) throw new Error(`${where}: 'id' is not a non-negative integer`);
    if (typeof im.file_name !== 'string' || im.file_name === '') throw new Error(`${where}: 'file_name' is missing`);
    if (!isSize(im.width) || !isSize(im.height)) throw new Error(`${where}: 'width' and 'height' must be positive integers, got ${String(im.width)} and ${String(im.height)}`);
    if (imageById.has(im.id)) throw new Error(`${where}: the id is listed twice`);
    imageById.set(im.id, { id: im.id, fileName: im.file_name, width: im.width, height: im.height });
  }

  const categoryIds = new Set<number>();
  const categories: CocoCategory[] = [];
  for (const [i, raw] of list(doc, 'categories', path).entries()) {
    const c = isObject(raw) ? raw : {};
    if (!isId(c.id)) throw new Error(`${path}: category #${i} (the ${i + 1}-th of 'categories'): 'id' is not a non-negative integer`);
    if (typeof c.name !== 'string') throw new Error(`${path}: category ${c.id}: 'name' is missing`);
    if (categoryIds.has(c.id)) throw new Error(`${path}: category ${c.id} is listed twice`);
    categoryIds.add(c.id);
    categories.push({ id: c.id, name: c.name });
  }

  const annotationsByImage = new Map<number, CocoAnnotation[]>();
  const annotationIds = new Set<number>();
  for (const [i, raw] of list(doc, 'annotations', path).entries()) {
    const a = isObject(raw) ? raw : {};
    if (!isId(a.id)) throw new Error(`${path}: annotation #${i} (the ${i + 1}-th of 'annotations'): 'id' is not a non-negative integer`);
    const where = `${path}: annotation ${a.id}`;
    if (annotationIds.has(a.id)) throw new Error(`${where}: the id is listed twice`);
    annotationIds.add(a.id);
    if (!isId(a.image_id) || !imageById.has(a.image_id)) throw new Error(`${where}: image_id ${String(a.image_id)} is not one of the file's images`);
    if (!isId(a.category_id) || !categoryIds.has(a.category_id)) throw new Error(`${where}: category_id ${String(a.category_id)} is not one of the file's categories`);
    if (a.segmentation === undefined) throw new Error(`${where}: 'segmentation' is missing`);
    const anns = annotationsByImage.get(a.image_id) ?? [];
    anns.push({ id: a.id, categoryId: a.category_id, segmentation: a.segmentation });
    annotationsByImage.set(a.image_id, anns);
  }

  return {
    path,
    images: [...imageById.values()].sort((a, b) => a.id - b.id),
    imageById,
    categories: categories.sort((a, b) => a.id - b.id),
    annotationsByImage,
  };
}

/** The instances file at `path`, parsed and checked once per process while it is unchanged. */
export function readCocoFile(files: FileAccess, path: string): CocoFile {
  let stamp;
  try {
    stamp = files.version(path);
  } catch (e) {
    throw new Error(`${path}: cannot read the COCO annotations file: ${(e as Error).message}`);
  }
  let cache = caches.get(files);
  if (!cache) caches.set(files, (cache = new Map()));
  const hit = cache.get(stamp.key);
  if (hit && hit.version === stamp.version) return hit.file;
  const file = parse(files, path);
  cache.set(stamp.key, { version: stamp.version, file });
  return file;
}
