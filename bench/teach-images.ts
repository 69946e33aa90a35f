// The images part teach (bench/teach.ts) teaches and scores, each with its ground truth as VOC
// class ids (255 ignored): the VOC sample's ten, and CamVid's road scenes with their classes
// mapped onto VOC's (Car car, Pedestrian person; Bicyclist, a person on a bicycle, and void
// ignored; the rest background), or with Road as a class the VOC model lacks (the new class).
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { openDataset } from '../src/data/dataset.js';
import { readImage } from '../src/io/image.js';
import { readIndexedPng } from '../src/io/png-indexed.js';
import type { RgbImage } from '../src/io/rgb-image.js';
import { VOC_CLASSES } from '../src/model/voc.js';
import { sharedPath } from '../test/shared.js';

export interface TruthImage {
  id: string;
  image: RgbImage;
  /** Class ids of the classes taught (255: ignored). */
  truth: Uint8Array;
}

export const IGNORE = 255;

/** The VOC sample's images, in name order: the first `limit`, or those of `only` (an id it lacks is an error naming the sample's). */
export async function vocImages(limit = Infinity, only: readonly string[] | null = null): Promise<TruthImage[]> {
  const dir = sharedPath('data', 'voc-sample');
  const all = readdirSync(join(dir, 'SegmentationClass'))
    .map((f) => f.replace(/\.png$/, ''))
    .sort();
  const missing = only?.filter((id) => !all.includes(id)) ?? [];
  if (missing.length) throw new Error(`bench: --teach-ids: the VOC sample has no ${missing.join(', ')} (it has ${all.join(', ')})`);
  const ids = all.filter((id) => only === null || only.includes(id)).slice(0, limit);
  const out: TruthImage[] = [];
  for (const id of ids) {
    const file = readdirSync(join(dir, 'JPEGImages')).find((f) => f.startsWith(`${id}.`))!;
    const image = await readImage(join(dir, 'JPEGImages', file));
    out.push({ id, image, truth: readIndexedPng(readFileSync(join(dir, 'SegmentationClass', `${id}.png`))).indices });
  }
  return out;
}

/** The class list of the new-class case: VOC's and one more. */
export const NEW_CLASS = 'road';
export const WITH_NEW_CLASS: readonly string[] = [...VOC_CLASSES, NEW_CLASS];

/** CamVid's classes as VOC ids; `road` gives Road the id after VOC's (the new class), else background. */
function camvidToVoc(names: readonly string[], road: boolean): Uint8Array {
  const voc = (name: string): number => VOC_CLASSES.indexOf(name);
  const to: Record<string, number> = { Car: voc('car'), Pedestrian: voc('person'), Bicyclist: IGNORE, Road: road ? VOC_CLASSES.length : 0 };
  return Uint8Array.from({ length: 256 }, (_, c) => (c < names.length ? (to[names[c]] ?? 0) : IGNORE));
}

/**
 * CamVid images of `split`, `count` of them evenly spread over the split (all where count is
 * absent), their truth in VOC's classes (with Road the new class where `road`).
 */
export async function camvidImages(split: 'train' | 'val', count: number | null, road: boolean): Promise<TruthImage[]> {
  const data = openDataset(sharedPath('data', 'camvid'), split);
  const n = data.items.length;
  const picked = count === null ? data.items : Array.from({ length: Math.min(count, n) }, (_, k) => data.items[Math.floor((k * n) / Math.min(count, n))]);
  const map = camvidToVoc(data.classes.names, road);
  const out: TruthImage[] = [];
  for (const item of picked) {
    const label = data.readLabel(item.labelPath);
    out.push({ id: item.id, image: await readImage(item.imagePath), truth: label.indices.map((c) => (c === data.ignoreIndex ? IGNORE : map[c])) });
  }
  return out;
}
