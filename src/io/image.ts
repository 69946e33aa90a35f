// Decoding PNG and JPEG files to 8-bit RGB, the input every pipeline starts from. The pixel work
// is pngjs's and jpeg-js's; this module detects the format, validates the container first (so a
// damaged file fails loudly, naming the file, rather than decoding to a wrong picture) and
// converts every PNG flavour to RGB the way PIL's convert('RGB') does: alpha is simply dropped.
import { readFileSync } from 'node:fs';
import jpegJs from 'jpeg-js';
import pngjs from 'pngjs';
import { libjpegStyleRgb } from './jpeg-color.js';
import { type JpegInfo, checkJpeg } from './jpeg-scan.js';
import { hasPngSignature, parseIhdr, readPngChunks } from './png-chunks.js';

export { type RgbImage, MAX_IMAGE_PIXELS, checkImageSize } from './rgb-image.js';
import { type RgbImage, MAX_IMAGE_PIXELS, checkImageSize } from './rgb-image.js';

const KNOWN_MAGICS: { name: string; bytes: number[] }[] = [
  { name: 'GIF', bytes: [0x47, 0x49, 0x46, 0x38] },
  { name: 'BMP', bytes: [0x42, 0x4d] },
  { name: 'TIFF', bytes: [0x49, 0x49, 0x2a, 0x00] },
  { name: 'TIFF', bytes: [0x4d, 0x4d, 0x00, 0x2a] },
  { name: 'WebP/RIFF', bytes: [0x52, 0x49, 0x46, 0x46] },
  { name: 'gzip', bytes: [0x1f, 0x8b] },
];

/** "47 49 46 38 39 61 ('GIF89a', looks like GIF)": the start of the file, for the error message. */
function describeMagic(bytes: Uint8Array): string {
  const head = Array.from(bytes.subarray(0, 8));
  const hexs = head.map((b) => b.toString(16).padStart(2, '0')).join(' ');
  const text = head.map((b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.')).join('');
  const known = KNOWN_MAGICS.find((m) => m.bytes.every((b, i) => bytes[i] === b));
  return `${hexs} ('${text}'${known ? `, looks like ${known.name}` : ''})`;
}

/**
 * Decodes a PNG (any colour type, 1-16 bit, interlaced or not) or a JPEG (baseline or
 * progressive, grey or colour) to RGB. `what` names the source in error messages.
 */
export function decodeImage(bytes: Uint8Array, what = '<bytes>'): RgbImage {
  const context = `decodeImage(${what})`;
  if (bytes.length === 0) throw new Error(`${context}: empty file`);
  if (hasPngSignature(bytes)) return decodePng(bytes, context);
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return decodeJpeg(bytes, context);
  throw new Error(`${context}: unsupported image format, first bytes ${describeMagic(bytes)}; only PNG and JPEG are supported`);
}

export function readImage(path: string): RgbImage {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new Error(`readImage(${path}): cannot read file: ${(e as Error).message}`);
  }
  return decodeImage(bytes, path);
}

function decodePng(bytes: Uint8Array, context: string): RgbImage {
  // Our own chunk walk first: CRCs, IEND present, and the size limit before pngjs allocates.
  const chunks = readPngChunks(bytes, context);
  const header = parseIhdr(chunks, context);
  checkImageSize(header.width, header.height, context);
  let png: pngjs.PNG;
  try {
    // skipRescale: pngjs would round 16-bit samples to v*255/65535; we keep the high byte as
    // PIL does for 16-bit RGB(A), and scale 1/2/4-bit grey ourselves (exactly, as PIL does).
    png = pngjs.PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length), { skipRescale: true });
  } catch (e) {
    throw new Error(`${context}: corrupt PNG: ${(e as Error).message}`);
  }
  const { width, height } = header;
  const n = width * height;
  const src = png.data as unknown as ArrayLike<number>; // RGBA; Uint16Array for 16-bit
  if (src.length !== 4 * n) throw new Error(`${context}: corrupt PNG: decoded ${src.length} samples, expected ${4 * n}`);

  // pngjs zeroes a pixel matching the tRNS colour (grey/RGB types); restore its colour, since
  // we drop alpha rather than composite.
  const trns = header.colorType === 0 || header.colorType === 2 ? chunks.find((c) => c.type === 'tRNS') : undefined;
  const trnsRgb = trns ? trnsColour(trns.data, header.colorType) : undefined;

  let scale: (v: number) => number;
  if (header.bitDepth === 16) scale = (v) => v >> 8;
  else if (header.bitDepth < 8 && header.colorType !== 3) {
    const mul = 255 / ((1 << header.bitDepth) - 1); // 255, 85 or 17: exact integers
    scale = (v) => v * mul;
  } else scale = (v) => v;

  const out = new Uint8Array(3 * n);
  for (let i = 0; i < n; i++) {
    const transparent = trnsRgb !== undefined && src[4 * i + 3] === 0;
    for (let c = 0; c < 3; c++) out[3 * i + c] = scale(transparent ? trnsRgb[c] : src[4 * i + c]);
  }
  return { width, height, data: out };
}

function trnsColour(d: Uint8Array, colorType: number): [number, number, number] {
  const u16 = (at: number) => (d[at] << 8) | d[at + 1];
  if (colorType === 0) return [u16(0), u16(0), u16(0)];
  return [u16(0), u16(2), u16(4)];
}

function decodeJpeg(bytes: Uint8Array, context: string): RgbImage {
  const info = checkJpeg(bytes, context, (w, h) => checkImageSize(w, h, context));
  // Three components: take jpeg-js's raw samples and do upsampling + colour conversion as
  // libjpeg does (jpeg-color.ts). jpeg-js forces its own colour transform when an Adobe segment
  // asks for one, so that segment is cut out first; we apply its meaning ourselves.
  const threeComp = info.components === 3;
  const input = threeComp && info.adobe ? withoutRange(bytes, info.adobe.start, info.adobe.end) : bytes;
  let img: { width: number; height: number; data: Uint8Array };
  try {
    img = jpegJs.decode(input, {
      useTArray: true,
      formatAsRGBA: false,
      // checkJpeg has validated the structure already; jpeg-js's strict mode would also crash
      // on valid grey files whose restart interval does not divide the block count.
      tolerantDecoding: true,
      maxResolutionInMP: MAX_IMAGE_PIXELS / 1e6,
      maxMemoryUsageInMB: 4096,
      ...(threeComp ? { colorTransform: false } : {}),
    });
  } catch (e) {
    throw new Error(`${context}: corrupt or unsupported JPEG: ${(e as Error).message}`);
  }
  if (img.width !== info.width || img.height !== info.height || img.data.length !== 3 * img.width * img.height) {
    throw new Error(`${context}: corrupt JPEG: decoded ${img.width}x${img.height}, header says ${info.width}x${info.height}`);
  }
  const data = threeComp
    ? libjpegStyleRgb(img.data, { width: img.width, height: img.height, factors: info.comps }, isRgbCoded(info))
    : img.data;
  return { width: img.width, height: img.height, data };
}

/** libjpeg's rule for a 3-component file: JFIF or Adobe transform 1 -> YCbCr; Adobe 0 or ids 'R','G','B' -> RGB. */
function isRgbCoded(info: JpegInfo): boolean {
  if (info.jfif) return false;
  if (info.adobe) return info.adobe.transform === 0;
  const ids = info.comps.map((c) => c.id);
  return ids[0] === 0x52 && ids[1] === 0x47 && ids[2] === 0x42;
}

function withoutRange(bytes: Uint8Array, start: number, end: number): Uint8Array {
  const out = new Uint8Array(bytes.length - (end - start));
  out.set(bytes.subarray(0, start), 0);
  out.set(bytes.subarray(end), start);
  return out;
}
