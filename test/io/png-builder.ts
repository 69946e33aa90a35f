// Test-only: builds PNG files of any colour type and bit depth from raw sample values, for the
// cases pngjs cannot write (palette, 1/2/4-bit, tRNS) and for hand-made broken headers.
import { deflateSync } from 'node:zlib';
import { PNG_SIGNATURE, makeChunk } from '../../src/io/png-chunks.js';

export interface RawPng {
  width: number;
  height: number;
  colorType: number;
  bitDepth: number;
  /** Samples in row-major, channel-interleaved order, each < 2^bitDepth. */
  samples: ArrayLike<number>;
  plte?: Uint8Array;
  trns?: Uint8Array;
}

const CHANNELS: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };

export function buildPng(p: RawPng): Uint8Array {
  const ch = CHANNELS[p.colorType];
  const rowBits = p.width * ch * p.bitDepth;
  const rowBytes = Math.ceil(rowBits / 8);
  const raw = new Uint8Array(p.height * (rowBytes + 1));
  for (let y = 0; y < p.height; y++) {
    const base = y * (rowBytes + 1) + 1; // filter byte 0 (none) precedes each row
    for (let i = 0; i < p.width * ch; i++) {
      const v = p.samples[y * p.width * ch + i];
      if (p.bitDepth === 16) {
        raw[base + 2 * i] = v >> 8;
        raw[base + 2 * i + 1] = v & 0xff;
      } else {
        // Samples packed most significant bits first.
        const bit = i * p.bitDepth;
        raw[base + (bit >> 3)] |= v << (8 - p.bitDepth - (bit & 7));
      }
    }
  }
  return assemblePng(ihdrBytes(p.width, p.height, p.bitDepth, p.colorType), deflateSync(raw), p.plte, p.trns);
}

export function ihdrBytes(width: number, height: number, bitDepth: number, colorType: number): Uint8Array {
  const ihdr = new Uint8Array(13);
  const v = new DataView(ihdr.buffer);
  v.setUint32(0, width);
  v.setUint32(4, height);
  ihdr[8] = bitDepth;
  ihdr[9] = colorType;
  return ihdr;
}

export function assemblePng(ihdr: Uint8Array, idat: Uint8Array, plte?: Uint8Array, trns?: Uint8Array): Uint8Array {
  const parts = [PNG_SIGNATURE, makeChunk('IHDR', ihdr)];
  if (plte) parts.push(makeChunk('PLTE', plte));
  if (trns) parts.push(makeChunk('tRNS', trns));
  parts.push(makeChunk('IDAT', idat), makeChunk('IEND', new Uint8Array(0)));
  return Buffer.concat(parts);
}
