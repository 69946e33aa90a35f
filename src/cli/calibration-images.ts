// `deeplab export --format tflite --precision int8 --calibrate DIR [--calibrate-count N]`: the
// images an int8 export measures its activations' ranges on. DIR is a folder of images (read in
// name order) or a data set in a layout `deeplab data` knows (its val split's images, else its
// train split's); the first N are decoded.
import { readdirSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import { openDataset } from '../data/dataset.js';
import { readImage } from '../io/image.js';
import type { RgbImage } from '../io/rgb-image.js';

const IMAGE_ENDINGS = new Set(['.jpg', '.jpeg', '.png', '.webp', '.bmp']);
/** Images decoded unless --calibrate-count says otherwise: enough for stable ranges, few enough for a quick export. */
export const DEFAULT_CALIBRATION_COUNT = 8;

/** The image paths `dir` offers for calibration, in order. */
export function calibrationPaths(dir: string): string[] {
  if (!statSync(dir, { throwIfNoEntry: false })?.isDirectory()) throw new Error(`--calibrate: ${dir} is not a folder`);
  const own = readdirSync(dir)
    .filter((f) => IMAGE_ENDINGS.has(extname(f).toLowerCase()))
    .sort()
    .map((f) => join(dir, f));
  if (own.length) return own;
  const problems: string[] = [];
  for (const split of ['val', 'train']) {
    try {
      const items = openDataset(dir, split).items;
      if (items.length) return items.map((i) => i.imagePath);
    } catch (e) {
      problems.push(`${split}: ${(e as Error).message}`);
    }
  }
  throw new Error(`--calibrate: ${dir} holds no images, and no data set with a val or train split (${problems.join('; ') || 'both empty'})`);
}

/** The first `count` calibration images of `dir`, decoded. */
export async function calibrationImages(dir: string, count: number): Promise<RgbImage[]> {
  const paths = calibrationPaths(dir).slice(0, count);
  return Promise.all(paths.map((p) => readImage(p)));
}
