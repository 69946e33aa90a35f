// Tiny data sets in each format's exact layout, written into a temp dir by the tests: PNGs a
// few pixels wide made with pngjs, so every label value and pixel count is known.
import { mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { PNG } from 'pngjs';
import sharp from 'sharp';
import type { DroppedFile } from '../../src/data/dropped-folder.js';
import { encodeIndexedPng } from '../../src/io/png-indexed.js';
import { VOC_PALETTE } from '../../src/model/voc.js';

function write(path: string, bytes: Uint8Array): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, bytes);
}

/** An 8-bit grey PNG whose samples are `values` (as Cityscapes' labelIds and ADE's annotations are). */
export function writeGreyPng(path: string, width: number, values: number[]): void {
  const png = new PNG({ width, height: values.length / width, colorType: 0, inputColorType: 0, inputHasAlpha: false, bitDepth: 8 });
  png.data = Buffer.from(values);
  write(path, PNG.sync.write(png, { colorType: 0, inputColorType: 0, inputHasAlpha: false }));
}

/** An RGB PNG (colour type 2) of the given pixels. */
export function writeRgbPng(path: string, width: number, pixels: [number, number, number][]): void {
  const png = new PNG({ width, height: pixels.length / width, colorType: 2, inputColorType: 2, inputHasAlpha: false });
  png.data = Buffer.from(pixels.flat());
  write(path, PNG.sync.write(png, { colorType: 2, inputColorType: 2, inputHasAlpha: false }));
}

/** A palette PNG (colour type 3, the VOC palette) whose indices are `values`. */
export function writePalettePng(path: string, width: number, values: number[]): void {
  write(path, encodeIndexedPng(Uint8Array.from(values), width, values.length / width, VOC_PALETTE));
}

/** A photo of width x height in some colour, as JPEG or PNG by the extension. */
export async function writePhoto(path: string, width: number, height: number): Promise<void> {
  const img = sharp({ create: { width, height, channels: 3, background: { r: 90, g: 120, b: 30 } } });
  write(path, await (path.endsWith('.jpg') ? img.jpeg() : img.png()).toBuffer());
}

export function writeJson(path: string, doc: unknown): void {
  write(path, Buffer.from(JSON.stringify(doc)));
}

export function writeText(path: string, text: string): void {
  write(path, Buffer.from(text));
}

/** Cityscapes labelIds of a 4x2 image, and the trainIds they must become. */
export const CITY_IDS = [7, 26, 0, 33, 255, 8, 24, 1];
export const CITY_TRAIN = [0, 13, 255, 18, 255, 1, 11, 255];

export async function writeCityscapes(dir: string): Promise<void> {
  for (const [split, city, name] of [['val', 'frankfurt', 'frankfurt_000000_000294'], ['train', 'aachen', 'aachen_000000_000019']]) {
    await writePhoto(join(dir, 'leftImg8bit', split, city, `${name}_leftImg8bit.png`), 4, 2);
    writeGreyPng(join(dir, 'gtFine', split, city, `${name}_gtFine_labelIds.png`), 4, CITY_IDS);
    // The other gtFine files sit beside the labelIds and must not be taken for them.
    writeGreyPng(join(dir, 'gtFine', split, city, `${name}_gtFine_instanceIds.png`), 4, [9, 9, 9, 9, 9, 9, 9, 9]);
    writeRgbPng(join(dir, 'gtFine', split, city, `${name}_gtFine_color.png`), 4, Array.from({ length: 8 }, () => [128, 64, 128] as [number, number, number]));
  }
}

/** ADE20K annotation values of a 4x1 image, and the class ids they must become. */
export const ADE_RAW = [0, 1, 150, 2];
export const ADE_IDS = [255, 0, 149, 1];

export async function writeAde20k(dir: string): Promise<void> {
  for (const split of ['training', 'validation']) {
    await writePhoto(join(dir, 'images', split, `ADE_${split === 'training' ? 'train' : 'val'}_00000001.jpg`), 4, 1);
    writeGreyPng(join(dir, 'annotations', split, `ADE_${split === 'training' ? 'train' : 'val'}_00000001.png`), 4, ADE_RAW);
  }
}

export const SKY: [number, number, number] = [70, 130, 180];
export const ROAD: [number, number, number] = [128, 64, 128];
export const VOID: [number, number, number] = [0, 0, 0];
/** A 3x2 colour mask and the class ids it must become (sky 0, road 1, void ignored). */
export const MASK = [SKY, ROAD, ROAD, VOID, SKY, ROAD];
export const MASK_IDS = [0, 1, 1, 255, 0, 1];

export async function writeColourFolders(dir: string, classes: 'json' | 'labelmap'): Promise<void> {
  await writePhoto(join(dir, 'images', 'train', 'a.png'), 3, 2);
  writeRgbPng(join(dir, 'labels', 'train', 'a.png'), 3, MASK);
  if (classes === 'json') writeJson(join(dir, 'classes.json'), { names: ['sky', 'road'], colors: [SKY, ROAD], ignoreIndex: 255, ignoreColor: VOID });
  else writeText(join(dir, 'labelmap.txt'), '# label:color_rgb:parts:actions\nbackground:0,0,0::\nsky:70,130,180::\nroad:128,64,128::\n');
}

/** The folder's files as a folder picker gives them: paths from the folder's name on, Blobs. */
export function asDropped(dir: string, keep: (path: string) => boolean = () => true): DroppedFile[] {
  const out: DroppedFile[] = [];
  const walk = (d: string): void => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (keep(p)) out.push({ path: relative(dirname(dir), p), data: new Blob([readFileSync(p)]) });
    }
  };
  walk(dir);
  return out;
}
