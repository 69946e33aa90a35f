// An image's size as readImage decodes it (EXIF orientation applied), from its header alone.
import type { Metadata } from 'sharp';
import { loadSharp } from './sharp.js';

export async function readImageSize(path: string): Promise<{ width: number; height: number }> {
  const sharp = await loadSharp();
  let meta: Metadata;
  try {
    meta = await sharp(path, { limitInputPixels: false }).metadata();
  } catch (e) {
    throw new Error(`${path}: cannot read the image header: ${String((e as Error).message).split('\n')[0]}`);
  }
  if (!meta.width || !meta.height) throw new Error(`${path}: the image header gives no size`);
  // Orientations 5..8 turn the picture a quarter: readImage's pixels are height x width.
  const turned = (meta.orientation ?? 1) >= 5;
  return turned ? { width: meta.height, height: meta.width } : { width: meta.width, height: meta.height };
}
