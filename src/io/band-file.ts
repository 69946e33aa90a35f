// Multi-band image files (TIFF: RGB+NIR, multispectral) read in Node with sharp (libvips) as
// bands, every sample as the file holds it: no colour conversion, no 16-to-8-bit scaling, extra
// samples (TIFF's ExtraSamples) kept as bands. libvips reads a grey or RGB file of N samples as
// 'b-w'/'grey16' or 'srgb'/'rgb16' with the extra samples after; converting to the 16-bit
// interpretation of the same kind keeps every band, 8-bit samples as x * 257 (exact; undone here).
import { readFile } from 'node:fs/promises';
import type { Metadata, OutputInfo } from 'sharp';
import type { BandArray } from './band-image.js';
import { ownValue } from '../util/own-key.js';
import { MAX_IMAGE_PIXELS, checkImageSize } from './rgb-image.js';
import { loadSharp } from './sharp.js';

const SIXTEEN_BIT: Readonly<Record<string, 'grey16' | 'rgb16'>> = { 'b-w': 'grey16', grey16: 'grey16', srgb: 'rgb16', rgb16: 'rgb16' };

/** More bands are refused (sharp's own default limit is 5); Sentinel-2 has 13, Landsat 8 11. */
export const MAX_BANDS = 64;

const firstLine = (e: unknown): string => String((e as Error).message ?? e).split('\n')[0].trim();

/** An encoded image's samples as interleaved bands: 8-bit files as a Uint8Array, 16-bit ones as a Uint16Array. */
export async function decodeBands(bytes: Uint8Array, what = '<bytes>'): Promise<BandArray> {
  const context = `decodeBands(${what})`;
  if (bytes.length === 0) throw new Error(`${context}: empty file`);
  const input = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  const sharp = await loadSharp();
  let meta: Metadata;
  try {
    meta = await sharp(input, { limitInputPixels: false, limitInputChannels: false }).metadata();
  } catch (e) {
    throw new Error(`${context}: not an image sharp reads: ${firstLine(e)}`);
  }
  checkImageSize(meta.width ?? 0, meta.height ?? 0, context);
  if ((meta.channels ?? 0) > MAX_BANDS) throw new Error(`${context}: ${meta.channels} bands; at most ${MAX_BANDS} are read`);
  const space = ownValue(SIXTEEN_BIT, meta.space);
  if (!space) throw new Error(`${context}: bands are read from grey or RGB files (with extra samples); this ${meta.format} is '${meta.space}'`);
  if (meta.depth !== 'uchar' && meta.depth !== 'ushort') {
    throw new Error(`${context}: bands are read from 8-bit or 16-bit unsigned samples; this ${meta.format} holds '${meta.depth}' samples (pass the bands as a Float32Array to segment())`);
  }
  let raw: Buffer, info: OutputInfo;
  try {
    ({ data: raw, info } = await sharp(input, { limitInputPixels: MAX_IMAGE_PIXELS, limitInputChannels: MAX_BANDS, failOn: 'truncated' }).rotate().toColourspace(space).raw({ depth: 'ushort' }).toBuffer({ resolveWithObject: true }));
  } catch (e) {
    throw new Error(`${context}: corrupt or truncated ${meta.format}: ${firstLine(e)}`);
  }
  const words = new Uint16Array(raw.buffer, raw.byteOffset, raw.length / 2);
  const { width, height, channels } = info;
  if (channels !== meta.channels || words.length !== width * height * channels) {
    throw new Error(`${context}: decoded ${channels} bands, ${words.length} samples, of a ${width}x${height} file of ${meta.channels} samples a pixel`);
  }
  if (meta.depth === 'ushort') return { width, height, channels, data: Uint16Array.from(words), layout: 'interleaved' };
  const data = new Uint8Array(words.length);
  for (let i = 0; i < words.length; i++) data[i] = words[i] / 257;
  return { width, height, channels, data, layout: 'interleaved' };
}

/** A file's bands (decodeBands of its bytes). */
export async function readBands(path: string): Promise<BandArray> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (e) {
    throw new Error(`readBands(${path}): cannot read file: ${(e as Error).message}`);
  }
  return decodeBands(bytes, path);
}
