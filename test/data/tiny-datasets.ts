// Tiny data sets in each format's exact layout, written into a temp dir by the tests: PNGs a
// few pixels wide made with pngjs, so every label value and pixel count is known.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { PNG } from 'pngjs';
import sharp from 'sharp';
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
