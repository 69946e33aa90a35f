// The PNG container at the byte level: signature, chunks with their CRCs, the IHDR header.
// Both the image decoder (decodeImage, before sharp) and the indexed-mask codec walk the chunks
// here first, so a truncated or bit-flipped file is reported the same way, naming the file and the
// chunk, before any pixel decoding starts.
import { crc32 } from '../util/crc32.js';

export const PNG_SIGNATURE = Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a);

export interface PngChunk {
  type: string;
  data: Uint8Array;
  /** Byte offset of the chunk's length field in the file (for error messages). */
  offset: number;
}

export interface PngHeader {
  width: number;
  height: number;
  bitDepth: number;
  /** 0 grey, 2 RGB, 3 palette, 4 grey+alpha, 6 RGBA. */
  colorType: number;
  interlaced: boolean;
}

export function hasPngSignature(bytes: Uint8Array): boolean {
  if (bytes.length < PNG_SIGNATURE.length) return false;
  return PNG_SIGNATURE.every((b, i) => bytes[i] === b);
}

function readU32(bytes: Uint8Array, at: number): number {
  return ((bytes[at] << 24) | (bytes[at + 1] << 16) | (bytes[at + 2] << 8) | bytes[at + 3]) >>> 0;
}

function chunkTypeName(bytes: Uint8Array, at: number): string {
  let s = '';
  for (let i = 0; i < 4; i++) {
    const b = bytes[at + i];
    s += b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : `\\x${b.toString(16).padStart(2, '0')}`;
  }
  return s;
}

/**
 * All chunks up to and including IEND, each CRC-checked. `context` prefixes every error (it names
 * the function and the file). Data after IEND is ignored, as decoders commonly do.
 */
export function readPngChunks(bytes: Uint8Array, context: string): PngChunk[] {
  if (!hasPngSignature(bytes)) throw new Error(`${context}: not a PNG file (bad signature)`);
  const chunks: PngChunk[] = [];
  let at = PNG_SIGNATURE.length;
  for (;;) {
    if (at + 8 > bytes.length) {
      throw new Error(
        `${context}: truncated PNG: file ends at byte ${bytes.length} where a chunk header was expected (no IEND chunk)`,
      );
    }
    const length = readU32(bytes, at);
    const type = chunkTypeName(bytes, at + 4);
    if (length > 0x7fffffff) throw new Error(`${context}: corrupt PNG: chunk '${type}' at byte ${at} has length ${length}`);
    const end = at + 12 + length;
    if (end > bytes.length) {
      throw new Error(
        `${context}: truncated PNG: chunk '${type}' at byte ${at} needs ${12 + length} bytes, only ${bytes.length - at} left`,
      );
    }
    const typeAndData = bytes.subarray(at + 4, at + 8 + length);
    const stored = readU32(bytes, at + 8 + length);
    if (crc32(typeAndData) !== stored) {
      throw new Error(`${context}: corrupt PNG: CRC mismatch in '${type}' chunk at byte ${at}`);
    }
    if (chunks.length === 0 && type !== 'IHDR') {
      throw new Error(`${context}: corrupt PNG: first chunk is '${type}', expected 'IHDR'`);
    }
    chunks.push({ type, data: bytes.subarray(at + 8, at + 8 + length), offset: at });
    at = end;
    if (type === 'IEND') return chunks;
  }
}

const VALID_DEPTHS: Record<number, number[]> = {
  0: [1, 2, 4, 8, 16],
  2: [8, 16],
  3: [1, 2, 4, 8],
  4: [8, 16],
  6: [8, 16],
};

/** Parses and validates the IHDR chunk (the first chunk, as readPngChunks guarantees). */
export function parseIhdr(chunks: PngChunk[], context: string): PngHeader {
  const ihdr = chunks[0];
  if (!ihdr || ihdr.type !== 'IHDR' || ihdr.data.length !== 13) {
    throw new Error(`${context}: corrupt PNG: IHDR chunk missing or not 13 bytes`);
  }
  const d = ihdr.data;
  const header: PngHeader = {
    width: readU32(d, 0),
    height: readU32(d, 4),
    bitDepth: d[8],
    colorType: d[9],
    interlaced: d[12] === 1,
  };
  const depths = VALID_DEPTHS[header.colorType];
  if (!depths) throw new Error(`${context}: corrupt PNG: invalid colour type ${header.colorType}`);
  if (!depths.includes(header.bitDepth)) {
    throw new Error(`${context}: corrupt PNG: bit depth ${header.bitDepth} is invalid for colour type ${header.colorType}`);
  }
  if (d[10] !== 0 || d[11] !== 0 || d[12] > 1) {
    throw new Error(`${context}: corrupt PNG: unknown compression/filter/interlace method (${d[10]}/${d[11]}/${d[12]})`);
  }
  return header;
}

/** One chunk's bytes: length, type, data, CRC. */
export function makeChunk(type: string, data: Uint8Array): Uint8Array {
  if (!/^[A-Za-z]{4}$/.test(type)) throw new Error(`makeChunk: invalid chunk type '${type}'`);
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

/** The zlib stream: all IDAT chunks' data joined in order. */
export function joinIdat(chunks: PngChunk[], context: string): Uint8Array {
  const parts = chunks.filter((c) => c.type === 'IDAT');
  if (parts.length === 0) throw new Error(`${context}: corrupt PNG: no IDAT chunk`);
  const total = parts.reduce((n, c) => n + c.data.length, 0);
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of parts) {
    out.set(c.data, at);
    at += c.data.length;
  }
  return out;
}
