// A teaching sample from a VOC image and its ground truth, for the fineTune tests in Node and in
// the page: a small window holding two classes about evenly, cut from the photo and the labels.
import { readFileSync } from 'node:fs';
import { readImage } from '../../src/io/image.js';
import { readIndexedPng } from '../../src/io/png-indexed.js';
import type { RgbImage } from '../../src/io/rgb-image.js';
import { sharedPath } from '../shared.js';

export const VOC_SAMPLE = sharedPath('data', 'voc-sample');
/** An aeroplane over sky: classes 0 and 1. */
export const TEACH_ID = '2007_000033';

export interface LabelMap {
  width: number;
  height: number;
  indices: Uint8Array;
}

/** The window of `img` at (x0, y0), size w x h. */
export function cropImage(img: RgbImage, x0: number, y0: number, w: number, h: number): RgbImage {
  const data = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) data.set(img.data.subarray(3 * ((y0 + y) * img.width + x0), 3 * ((y0 + y) * img.width + x0 + w)), 3 * y * w);
  return { width: w, height: h, data };
}

/** The same window of a label map. */
export function cropLabels(l: LabelMap, x0: number, y0: number, w: number, h: number): Uint8Array {
  const out = new Uint8Array(w * h);
  for (let y = 0; y < h; y++) out.set(l.indices.subarray((y0 + y) * l.width + x0, (y0 + y) * l.width + x0 + w), y * w);
  return out;
}

/** The photo, its labels, and the size x size window (on an 8-pixel grid) with the most even split of classes 0 and 1. */
export async function teachWindow(size: number): Promise<{ photo: RgbImage; truth: LabelMap; x: number; y: number; minority: number }> {
  const photo = await readImage(`${VOC_SAMPLE}/JPEGImages/${TEACH_ID}.jpg`);
  const truth = readIndexedPng(readFileSync(`${VOC_SAMPLE}/SegmentationClass/${TEACH_ID}.png`));
  let best = { x: 0, y: 0, minority: -1 };
  for (let y = 0; y + size <= truth.height; y += 8)
    for (let x = 0; x + size <= truth.width; x += 8) {
      const l = cropLabels(truth, x, y, size, size);
      const minority = Math.min(l.filter((v) => v === 0).length, l.filter((v) => v === 1).length);
      if (minority > best.minority) best = { x, y, minority };
    }
  return { photo, truth, ...best };
}
