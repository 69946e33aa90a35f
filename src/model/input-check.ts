// The checks at the API's door: what segment(), segmentBatch() and forwardToHost() take, refused
// with an error naming the argument before any work is done or memory allocated. Pixels of the
// wrong type would otherwise be read as bytes (floats in [0, 1] come back all background) and a
// huge scale would spend minutes resizing on the CPU before anything refused it.
import { checkBandArray, looksLikeBandArray } from '../io/band-image.js';
import type { RgbImage } from '../io/rgb-image.js';
import { checkImageSize } from '../io/rgb-image.js';
import type { ImageInput, SegmentOptions } from './segment-options.js';
import { checkOptionKeys, checkSignal } from '../util/option-keys.js';

/** The largest input scale: a multiple of the network's input size (the paper's largest is 1.75). */
export const MAX_SCALE = 8;

/** The option names segment() and segmentBatch() know. */
export const SEGMENT_OPTION_NAMES: readonly (keyof SegmentOptions)[] = ['include', 'scales', 'flip', 'batchSize', 'tile', 'overlap', 'onTileProgress', 'slide', 'signal', 'mean', 'std'];

/** What a value is, for messages: never its contents (a file's bytes must not reach a message). */
export function describeValue(x: unknown): string {
  if (x === null) return 'null';
  if (x === undefined) return 'undefined';
  if (typeof x === 'string') return x.length > 60 ? `a string of ${x.length} characters` : `the string ${JSON.stringify(x)}`;
  if (typeof x === 'number' || typeof x === 'boolean' || typeof x === 'bigint') return `the ${typeof x} ${String(x)}`;
  if (typeof x === 'function') return 'a function';
  if (Array.isArray(x)) return `an array of ${x.length}`;
  const name = (x as object).constructor?.name;
  if (name && name !== 'Object') return /^[AEIOU]/.test(name) ? `an ${name}` : `a ${name}`;
  return 'an object';
}

/** A name for messages: printable and short (a path that is really a file's bytes is cut, not printed). */
export function printableName(s: string): string {
  // eslint-disable-next-line no-control-regex
  const clean = s.replace(/[\u0000-\u001f\u007f-\u009f\ufffd]/g, '?');
  return clean.length > 120 ? `${clean.slice(0, 60)}... (${s.length} characters)` : clean;
}

/** An options object: its type, then its names against `known` (an unknown one named, with the known ones). */
export function checkOptionNames(opts: unknown, known: readonly string[], what: string): void {
  if (opts === undefined) return;
  if (typeof opts !== 'object' || opts === null || Array.isArray(opts)) throw new Error(`${what}: options must be an object, got ${describeValue(opts)}`);
  checkOptionKeys(what, opts, known);
}

/** segment()'s options, their names and types, before the checks of what they combine into. */
export function checkSegmentOptionTypes(opts: SegmentOptions, what: string): void {
  checkOptionNames(opts, SEGMENT_OPTION_NAMES, what);
  const { include, scales, flip, slide, signal } = opts;
  if (include !== undefined && !Array.isArray(include)) {
    throw new Error(`${what}: include must be an array of 'classes', 'probabilities' or 'logits' (e.g. ['probabilities']), got ${describeValue(include)}`);
  }
  if (scales !== undefined) {
    if (!Array.isArray(scales)) throw new Error(`${what}: scales must be an array of numbers (e.g. [0.75, 1, 1.25]), got ${describeValue(scales)}`);
    if (scales.some((s) => typeof s !== 'number' || !(s > 0) || !(s <= MAX_SCALE))) {
      throw new Error(`${what}: scales must be positive numbers up to ${MAX_SCALE} (multiples of the network's input size), got [${scales.map((s) => (typeof s === 'number' ? s : describeValue(s))).join(', ')}]`);
    }
  }
  if (flip !== undefined && typeof flip !== 'boolean') throw new Error(`${what}: flip must be true or false, got ${describeValue(flip)}`);
  if (slide !== undefined && typeof slide !== 'boolean') throw new Error(`${what}: slide must be true or false, got ${describeValue(slide)}`);
  checkStatistics(opts, what);
  checkSignal(what, signal);
}

/** mean and std: both or neither, arrays of finite numbers, std positive (their lengths are the model's to check). */
export function checkStatistics({ mean, std }: Pick<SegmentOptions, 'mean' | 'std'>, what: string): void {
  if ((mean === undefined) !== (std === undefined)) throw new Error(`${what}: mean and std go together: ${mean === undefined ? 'std' : 'mean'} was given without ${mean === undefined ? 'mean' : 'std'}`);
  for (const [name, v] of [['mean', mean], ['std', std]] as const) {
    if (v === undefined) continue;
    if (!Array.isArray(v) || v.some((x) => typeof x !== 'number' || !Number.isFinite(x))) throw new Error(`${what}: ${name} must be an array of finite numbers (one per input channel), got ${describeValue(v)}`);
  }
  const bad = std?.findIndex((x) => !(x > 0)) ?? -1;
  if (bad >= 0) throw new Error(`${what}: std must be positive, got std[${bad}] = ${std![bad]}`);
}

const PIXEL_TYPES = 'a Uint8Array or Uint8ClampedArray of RGB bytes (0-255, 3 a pixel)';

/**
 * A still image as segment() takes it, checked: a path (a URL in the page), encoded bytes, or
 * `{ width, height, data }` with RGB bytes (a Uint8ClampedArray, a canvas's, is viewed as bytes),
 * or bands `{ width, height, channels, data, layout }` (src/io/band-image.ts).
 */
export function checkedImageInput(image: unknown, what: string): ImageInput {
  if (typeof image === 'string') {
    if (image === '') throw new Error(`${what}: the image path is empty`);
    return image;
  }
  if (image instanceof Uint8Array) {
    if (image.length === 0) throw new Error(`${what}: the image bytes are empty`);
    return image;
  }
  if (image instanceof ArrayBuffer) throw new Error(`${what}: the image is an ArrayBuffer: pass encoded image bytes as a Uint8Array (new Uint8Array(buffer))`);
  if (typeof image !== 'object' || image === null || !('width' in image || 'height' in image || 'data' in image)) {
    throw new Error(`${what}: the image must be a path, encoded bytes (a Uint8Array), { width, height, data } with RGB bytes or { width, height, channels, data, layout } bands, got ${describeValue(image)}`);
  }
  if (looksLikeBandArray(image)) return checkBandArray(image, what);
  const { width, height, data } = image as Partial<Record<'width' | 'height' | 'data', unknown>>;
  if (!Number.isInteger(width) || !Number.isInteger(height) || (width as number) < 0 || (height as number) < 0) {
    throw new Error(`${what}: image.width and image.height must be whole numbers, got width ${describeValue(width)} and height ${describeValue(height)}`);
  }
  const [w, h] = [width as number, height as number];
  checkImageSize(w, h, what);
  if (data === undefined) throw new Error(`${what}: image.data is missing: ${PIXEL_TYPES}, ${w}x${h}x3 = ${w * h * 3} of them`);
  let bytes: Uint8Array;
  if (data instanceof Uint8Array) bytes = data;
  else if (data instanceof Uint8ClampedArray) bytes = new Uint8Array(data.buffer, data.byteOffset, data.length);
  else {
    const hint = data instanceof Float32Array || data instanceof Float64Array ? ' (floats in [0, 1]: multiply by 255 and round into a Uint8Array)' : '';
    throw new Error(`${what}: image.data is ${describeValue(data)}; pixel data must be ${PIXEL_TYPES}${hint}`);
  }
  if (bytes.length !== w * h * 3) {
    const rgba = bytes.length === w * h * 4 ? ' (RGBA? drop every fourth byte, or use imageToRgb in the page)' : '';
    throw new Error(`${what}: image data has ${bytes.length} bytes, expected ${w}x${h}x3 = ${w * h * 3}${rgba}`);
  }
  return bytes === data ? (image as RgbImage) : { width: w, height: h, data: bytes };
}

/** forwardToHost's input: a Float32Array of batch x height x width x channels (the network's input channels) finite values. */
export function checkNetworkInput(input: unknown, height: number, width: number, batch: number, what: string, channels = 3): void {
  for (const [name, n] of [['height', height], ['width', width], ['batch', batch]] as const) {
    if (!Number.isInteger(n) || n < 1) throw new Error(`${what}: ${name} must be a positive whole number, got ${describeValue(n)}`);
  }
  if (!(input instanceof Float32Array)) throw new Error(`${what}: the input must be a Float32Array (NHWC, normalised), got ${describeValue(input)}`);
  const expected = batch * height * width * channels;
  if (input.length !== expected) throw new Error(`${what}: the input has ${input.length} values, expected ${batch}x${height}x${width}x${channels} = ${expected}`);
  for (let i = 0; i < input.length; i++) {
    if (!Number.isFinite(input[i])) throw new Error(`${what}: the input holds ${input[i]} at index ${i}; every value must be finite`);
  }
}
