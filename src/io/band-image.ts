// N-band input (smp's `in_channels` other than 3: RGB+NIR, multispectral): the typed array a
// caller gives with its size, channel count and layout, and the normalised float32 image the
// still-image pipelines carry instead of RGB bytes. Normalising once, before any crop or mirror,
// gives the same values as after them (the normalisation is per pixel), so tiles and flips take
// a band image as they take RGB.
//
// The rule (docs/models.md, "The input"): 8-bit bands are x / 255, then (x - mean) / std with
// mean and std on that 0..1 scale (the model's own by default); 16-bit and float bands are taken
// as they are, (x - mean) / std with the caller's mean and std in the data's own units (there is
// no default: the model's statistics are for bytes, and 16-bit data has no one range).
import { type RgbImage, checkImageSize } from './rgb-image.js';

/** Bands as a caller gives them: HWC (`interleaved`) or one plane per band (`planar`), row-major. */
export interface BandArray {
  width: number;
  height: number;
  channels: number;
  data: Uint8Array | Uint16Array | Float32Array;
  layout: 'interleaved' | 'planar';
}

/** Normalised bands: float32 HWC, what the network takes (smp's `(x - mean) / std`). */
export interface BandImage {
  width: number;
  height: number;
  channels: number;
  /** Normalised values, interleaved (HWC). */
  normalized: Float32Array;
}

/** A still image as the pipelines carry it: RGB bytes, or normalised bands. */
export type StillImage = RgbImage | BandImage;

export const isBandImage = (img: StillImage): img is BandImage => 'normalized' in img;

/** Whether a value is meant as a BandArray (it names its channels or layout); checkBandArray says what is wrong with it. */
export const looksLikeBandArray = (x: object): boolean => 'channels' in x || 'layout' in x;

const TYPES = 'a Uint8Array, Uint16Array or Float32Array';

/** A BandArray, checked: size, channels, layout, data type and length, every float finite. */
export function checkBandArray(x: Partial<Record<keyof BandArray, unknown>>, what: string): BandArray {
  const { width, height, channels, data, layout } = x;
  if (!Number.isInteger(width) || !Number.isInteger(height) || (width as number) < 0 || (height as number) < 0) {
    throw new Error(`${what}: bands need whole-number width and height, got ${String(width)}x${String(height)}`);
  }
  const [w, h] = [width as number, height as number];
  checkImageSize(w, h, what);
  if (!Number.isInteger(channels) || (channels as number) < 1) throw new Error(`${what}: bands need channels, a positive whole number, got ${String(channels)}`);
  if (layout !== 'interleaved' && layout !== 'planar') {
    throw new Error(`${what}: bands need layout 'interleaved' (HWC, the bands of a pixel together) or 'planar' (one plane per band), got ${JSON.stringify(layout) ?? 'undefined'}`);
  }
  if (!(data instanceof Uint8Array || data instanceof Uint16Array || data instanceof Float32Array)) {
    throw new Error(`${what}: band data must be ${TYPES}, got ${data === null || data === undefined ? String(data) : (data as object).constructor?.name}`);
  }
  const n = w * h * (channels as number);
  if (data.length !== n) throw new Error(`${what}: band data has ${data.length} values, expected ${w}x${h}x${channels as number} = ${n}`);
  if (data instanceof Float32Array) {
    const bad = data.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0) throw new Error(`${what}: band data holds ${data[bad]} at index ${bad}; every value must be finite`);
  }
  return { width: w, height: h, channels: channels as number, data, layout };
}

/** The bands' bit depth in words, for messages. */
export const bandDepth = (a: BandArray): string => (a.data instanceof Uint8Array ? '8-bit' : a.data instanceof Uint16Array ? '16-bit' : 'float');

/** The bands normalised per channel: 8-bit x / 255 first, the others as they are; then (x - mean[c]) / std[c], computed in float64 and rounded once. */
export function normalizeBandArray(a: BandArray, mean: readonly number[], std: readonly number[]): BandImage {
  const { width, height, channels, data } = a;
  const scale = data instanceof Uint8Array ? 1 / 255 : 1;
  const pixels = width * height;
  const out = new Float32Array(pixels * channels);
  for (let p = 0; p < pixels; p++) {
    for (let c = 0; c < channels; c++) {
      const x = data[a.layout === 'planar' ? c * pixels + p : p * channels + c];
      out[p * channels + c] = ((scale === 1 ? x : x / 255) - mean[c]) / std[c];
    }
  }
  return { width, height, channels, normalized: out };
}

/** The width x height part of a band image whose top-left corner is (x, y) (a copy). */
export function cropBands(img: BandImage, x: number, y: number, width: number, height: number): BandImage {
  const C = img.channels;
  const out = new Float32Array(width * height * C);
  for (let row = 0; row < height; row++) {
    const from = ((y + row) * img.width + x) * C;
    out.set(img.normalized.subarray(from, from + width * C), row * width * C);
  }
  return { width, height, channels: C, normalized: out };
}

/** The band image mirrored left-right. */
export function flipBands(img: BandImage): BandImage {
  const { width: W, height: H, channels: C, normalized } = img;
  const out = new Float32Array(normalized.length);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) out.set(normalized.subarray((y * W + W - 1 - x) * C, (y * W + W - x) * C), (y * W + x) * C);
  }
  return { width: W, height: H, channels: C, normalized: out };
}
