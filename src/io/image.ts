// Decoding image files to 8-bit RGB in Node, the input every pipeline starts from, with sharp
// (libvips): PNG, JPEG, WebP, TIFF, GIF and AVIF, EXIF orientation applied, truncated or damaged
// files refused. On JPEGs its pixels are PIL's, which our TF Lite parity needs. The browser
// decodes with its own decoders (src/browser/images.ts).
import { readFile } from 'node:fs/promises';
import type { Metadata, OutputInfo } from 'sharp';
import { loadSharp } from './sharp.js';
import { hasPngSignature, readPngChunks } from './png-chunks.js';

export { type RgbImage, MAX_IMAGE_PIXELS, checkImageSize } from './rgb-image.js';
import { type RgbImage, MAX_IMAGE_PIXELS, checkImageSize } from './rgb-image.js';

/** File signatures: the formats we decode, and some we do not, for error messages. */
const KNOWN_MAGICS: { name: string; bytes: number[]; decoded: boolean }[] = [
  { name: 'PNG', bytes: [0x89, 0x50, 0x4e, 0x47], decoded: true },
  { name: 'JPEG', bytes: [0xff, 0xd8, 0xff], decoded: true },
  { name: 'GIF', bytes: [0x47, 0x49, 0x46, 0x38], decoded: true },
  { name: 'TIFF', bytes: [0x49, 0x49, 0x2a, 0x00], decoded: true },
  { name: 'TIFF', bytes: [0x4d, 0x4d, 0x00, 0x2a], decoded: true },
  { name: 'WebP/RIFF', bytes: [0x52, 0x49, 0x46, 0x46], decoded: true },
  { name: 'BMP', bytes: [0x42, 0x4d], decoded: false },
  { name: 'gzip', bytes: [0x1f, 0x8b], decoded: false },
];

const magicOf = (bytes: Uint8Array) => KNOWN_MAGICS.find((m) => m.bytes.every((b, i) => bytes[i] === b));

/** "47 49 46 38 39 61 ('GIF89a', looks like GIF)": the start of the file, for the error message. */
function describeMagic(bytes: Uint8Array): string {
  const head = Array.from(bytes.subarray(0, 8));
  const hexs = head.map((b) => b.toString(16).padStart(2, '0')).join(' ');
  const text = head.map((b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.')).join('');
  const known = magicOf(bytes);
  return `${hexs} ('${text}'${known ? `, looks like ${known.name}` : ''})`;
}

/**
 * Decodes an image (PNG, JPEG, WebP, TIFF, GIF: the first frame, AVIF) to 8-bit RGB, upright as
 * its EXIF orientation says. Damaged or truncated files are errors, not partial pictures.
 * `what` names the source in error messages.
 */
export async function decodeImage(bytes: Uint8Array, what = '<bytes>'): Promise<RgbImage> {
  const context = `decodeImage(${what})`;
  if (bytes.length === 0) throw new Error(`${context}: empty file`);
  const input = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  // A PNG's chunks first, every CRC checked and IEND required: libpng lets a file cut inside
  // IEND, a bad IHDR CRC and damaged chunk lengths through; this names the chunk instead.
  if (hasPngSignature(bytes)) readPngChunks(bytes, context);
  // The header alone first (no pixels): the size is checked before anything is allocated.
  const sharp = await loadSharp();
  let metadata: Metadata;
  try {
    metadata = await sharp(input, { limitInputPixels: false }).metadata();
  } catch (e) {
    const magic = magicOf(bytes);
    if (magic?.decoded) throw new Error(`${context}: corrupt ${magic.name} header: ${firstLine(e)}`);
    throw new Error(`${context}: unsupported image format, first bytes ${describeMagic(bytes)}; PNG, JPEG, WebP, TIFF, GIF and AVIF are supported`);
  }
  checkImageSize(metadata.width ?? 0, metadata.height ?? 0, context);
  // A file cut short is refused everywhere (libvips would grey-fill the rest). libjpeg reports
  // corrupt entropy-coded data only as warnings, so for JPEG warnings fail too; elsewhere
  // warnings are often harmless (a PNG's slightly wrong sRGB profile) and pass.
  const options = { limitInputPixels: MAX_IMAGE_PIXELS, failOn: metadata.format === 'jpeg' ? 'warning' : 'truncated' } as const;
  let decoded: { data: Buffer; info: OutputInfo };
  try {
    decoded = await sharp(input, options)
      .rotate() // EXIF orientation, as every viewer shows the photo
      .removeAlpha() // dropped, not blended, as PIL's convert('RGB') does
      .toColourspace('srgb') // grey becomes R = G = B; 16-bit samples become 8-bit
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
  } catch (e) {
    throw new Error(`${context}: corrupt or truncated ${metadata.format ?? 'image'}: ${firstLine(e)}`);
  }
  const { width, height, channels } = decoded.info;
  if (channels !== 3 || decoded.data.length !== 3 * width * height) {
    throw new Error(`${context}: decoded to ${channels} channels, ${decoded.data.length} bytes for ${width}x${height}; expected RGB`);
  }
  return { width, height, data: new Uint8Array(decoded.data.buffer, decoded.data.byteOffset, decoded.data.length) };
}

/** The first line of an error's message (libvips adds its own lines). */
function firstLine(e: unknown): string {
  return String((e as Error).message ?? e).split('\n')[0].trim();
}

export async function readImage(path: string): Promise<RgbImage> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (e) {
    throw new Error(`readImage(${path}): cannot read file: ${(e as Error).message}`);
  }
  return decodeImage(bytes, path);
}
