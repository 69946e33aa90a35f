// What segment() and segmentBatch() take and give: the options, the result, and the checks that
// turn bad options into errors naming the option before any work starts.
import type { BandArray } from '../io/band-image.js';
import type { RgbImage } from '../io/rgb-image.js';
import { DEFAULT_OVERLAP, checkTileOptions } from './tiling.js';

export type SegmentOutput = 'classes' | 'probabilities' | 'logits';

export interface SegmentOptions {
  /** Also return per-pixel class probabilities and/or logits at the image's size (HWC). */
  include?: SegmentOutput[];
  /**
   * Input scales (multiples of the network's input size). With more than one scale or with
   * `flip`, the softmax probabilities of all passes are averaged at the image's resolution and
   * the argmax taken of the average (paper Sec. 5). Default [1].
   */
  scales?: number[];
  /** Also run the left-right flipped image and average it in. */
  flip?: boolean;
  /** segmentBatch: at most this many images per forward pass (default 4); with `tile`, windows. */
  batchSize?: number;
  /**
   * Sliding-window inference for images much larger than the network's input: windows of
   * tile x tile image pixels (at least MIN_TILE), each segmented as an image is, their
   * probabilities blended on the GPU weighted towards each window's centre (src/model/tiled.ts).
   * Along an axis where the image is no longer than the tile, the window is as long as the image.
   */
  tile?: number;
  /** With `tile`: the share of a window its neighbour overlaps, 0 <= overlap < 1 (default 0.25). */
  overlap?: number;
  /** With `tile` (or a model's own sliding windows): called after each batch of windows of an image. */
  onTileProgress?: (windowsDone: number, windows: number) => void;
  /**
   * Models whose reference pipeline slides windows over the image (mmseg's 769x769 Cityscapes
   * and Pascal Context models: `loadedWeights.slide`) do so by default, as mmseg does
   * (src/model/slide.ts); false runs the whole image through the network at once instead.
   * Ignored by other models, and when `tile`, several scales or `flip` are given.
   */
  slide?: boolean;
  /**
   * Stops the call: checked before any work and between images and batches; the call
   * rejects with the signal's reason (an 'AbortError' DOMException by default).
   */
  signal?: AbortSignal;
  /**
   * The per-channel mean and std of the input, one per network input channel (`in_channels`):
   * (x - mean) / std, on 8-bit values scaled to 0..1 (x / 255) and on 16-bit and float bands as
   * they are. Both or neither; required for 16-bit and float bands. Without them 8-bit input
   * takes the model's own (src/model/band-input.ts). Still images only, not frames.
   */
  mean?: readonly number[];
  std?: readonly number[];
}

/** The paper's multi-scale inputs. */
export const PAPER_SCALES: readonly number[] = [0.5, 0.75, 1.0, 1.25, 1.5, 1.75];

export interface SegmentResult {
  width: number;
  height: number;
  /** Class index per pixel, row-major, width*height. */
  classes: Uint8Array;
  /** [height, width, numClasses] softmax probabilities, when asked for. */
  probabilities?: Float32Array;
  /** [height, width, numClasses] logits, when asked for. */
  logits?: Float32Array;
  numClasses: number;
}

/** An image as a path (a URL in the browser), encoded bytes, decoded RGB, or bands (a model of `in_channels` bands). */
export type ImageInput = RgbImage | BandArray | Uint8Array | string;

/** Images per forward pass when several share a size (segmentBatch's default). */
export const DEFAULT_BATCH_SIZE = 4;

/** The outputs `include` asks for, each one checked. */
function includedOutputs(opts: SegmentOptions): Set<SegmentOutput> {
  const include = new Set(opts.include ?? []);
  for (const k of include) {
    if (!['classes', 'probabilities', 'logits'].includes(k)) throw new Error(`segment: unknown output '${k}' (classes, probabilities, logits)`);
  }
  return include;
}

/** Still images' options, checked: how segmentBatch runs them. */
export interface StillImagePlan {
  include: Set<SegmentOutput>;
  scales: number[];
  batchSize: number;
  /** Several scales or a flip: the passes' probabilities averaged. */
  averaged: boolean;
  /** Sliding windows of `opts.tile`. */
  tiled: boolean;
}

export function checkStillImageOptions(opts: SegmentOptions): StillImagePlan {
  const include = includedOutputs(opts);
  const scales = opts.scales ?? [1];
  if (scales.length === 0 || scales.some((x) => !(x > 0) || !Number.isFinite(x))) {
    throw new Error(`segment: scales must be positive numbers, got [${scales.join(', ')}]`);
  }
  const batchSize = opts.batchSize ?? DEFAULT_BATCH_SIZE;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error(`segment: batchSize must be a positive integer, got ${batchSize}`);
  const averaged = scales.length > 1 || !!opts.flip;
  if (averaged && include.has('logits')) throw new Error('segment: logits are not defined for multi-scale / flipped inference (use probabilities)');
  const tiled = opts.tile !== undefined;
  if (tiled) {
    checkTileOptions(opts.tile!, opts.overlap ?? DEFAULT_OVERLAP);
    if (averaged || scales[0] !== 1) throw new Error('segment: tile cannot be combined with scales or flip (each window is segmented at scale 1)');
    if (include.has('logits')) throw new Error('segment: logits are not defined for tiled inference, whose windows are blended as probabilities (use probabilities)');
  } else if (opts.overlap !== undefined) {
    throw new Error('segment: overlap needs tile (the window size)');
  }
  return { include, scales, batchSize, averaged, tiled };
}

/** The outputs a frame is segmented with; multi-scale and flipped inference are for still images. */
export function checkFrameOptions(opts: SegmentOptions): Set<SegmentOutput> {
  if (opts.mean || opts.std) throw new Error('segment: mean and std are for still images (bands, RGB pixels, bytes or a path); frames on the GPU take the model\'s own normalisation');
  const scales = opts.scales ?? [1];
  if (scales.length !== 1 || opts.flip) {
    throw new Error('segment: multi-scale and flipped inference take still images (RgbImage, bytes or a path); a frame (GPUTexture, VideoFrame, ...) is segmented at one scale');
  }
  if (!(scales[0] > 0) || !Number.isFinite(scales[0])) throw new Error(`segment: scales must be positive numbers, got [${scales.join(', ')}]`);
  return includedOutputs(opts);
}
