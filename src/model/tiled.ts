// Sliding-window inference for one image (segment's `tile` option), for images much larger than
// the network's input. The windows of planTiles (src/model/tiling.ts) go through the network a
// batch at a time, each segmented as the model segments an image (resized to the network's
// input, its logits resized back to the window's size and turned into probabilities); the blend
// device's accumulator (on the GPU the blend kernels, src/kernels/tiles/tile-blend.ts) adds them,
// weighted towards each window's centre. Once a row of windows is in, the image rows no later
// window touches are normalised and argmaxed there and only their class indices (and the
// probabilities, when asked for) are read back. The accumulator is a ring one window high, so its memory grows
// with the image's width, not its area, and no full-size logits exist anywhere.
import { GpuError } from '../gpu/context.js';
import { GraphBuilder } from '../graph/builder.js';
import type { Graph } from '../graph/ir.js';
import type { StillImage } from '../io/band-image.js';
import { cropImage } from './image-input.js';
import type { PadParams } from '../kernels/layout/pad.js';
import type { ResizeMode } from '../kernels/resize/resize.js';
import { croppedToImage, paddingKey } from './post-graphs.js';
import type { PostLogits } from './post-logits.js';
import type { SegmentResult } from './segment-options.js';
import type { DeviceProgram, DeviceTensor, DeviceTensors } from './devices/device.js';
import { type TileWindow, planTiles, planWeights } from './tiling.js';

export interface TiledOptions {
  tile: number;
  overlap: number;
  /** Window stride in pixels (mmseg's slide), instead of the one `overlap` gives. */
  stride?: number;
  /**
   * What is blended: 'probabilities' (default), each window's softmax weighted towards its
   * centre; or 'logits', each window's logits with equal weight (mmseg's slide_inference: the
   * sum over the windows covering a pixel divided by their count). With 'logits' the result's
   * `probabilities` hold those averaged logits.
   */
  blend?: 'probabilities' | 'logits';
  /** How a window's logits are resized to the window (default 'half_pixel'). */
  windowResizeMode?: ResizeMode;
  /** Windows per forward pass (halved while a pass would exceed the device's binding limit). */
  batchSize: number;
  keepProbabilities: boolean;
  /** Called after each batch of windows. */
  onProgress?: (windowsDone: number, windows: number) => void;
}

/** What tiled inference needs of a model. Called inside the caller's turn of the device. */
export interface TileHost {
  readonly tensors: DeviceTensors;
  readonly numClasses: number;
  /** The network's input size [height, width] for an image (window) of width x height. */
  networkSize(width: number, height: number): [number, number];
  /** The zeros around an image (window) in the network's input where the input policy pads it; null where it fills it. */
  inputPadding(width: number, height: number): PadParams | null;
  /** Normalised NHWC network input of an image (window). */
  preprocess(img: StillImage): { input: Float32Array; height: number; width: number };
  /** The network output the post-processing reads at an input size ('logits', or the head's own 'logits_raw'), and its size. */
  postLogits(height: number, width: number): PostLogits;
  /** An output ('logits' [batch, height, width, C] by default) of a forward pass, on the device. */
  forward(input: Float32Array, height: number, width: number, batch: number, output?: PostLogits['name']): Promise<DeviceTensor>;
  /** A cached post-processing program. */
  postProgram(key: string, build: () => Graph): Promise<DeviceProgram>;
}

/** A batch of windows' logits [B, h, w, C] -> their probabilities (or logits) at the window's size. */
function buildWindowGraph(
  batch: number,
  h: number,
  w: number,
  C: number,
  winH: number,
  winW: number,
  mode: ResizeMode,
  blend: 'probabilities' | 'logits',
  padding: PadParams | null,
): Graph {
  const g = new GraphBuilder();
  // As segment() post-processes a whole image: crop, resize, then softmax.
  const logits = croppedToImage(g, g.input('logits', [batch, h, w, C]), padding);
  const full = logits.shape[1] === winH && logits.shape[2] === winW ? logits : g.resize('resize_to_window', logits, winH, winW, mode);
  g.output('probabilities', blend === 'logits' ? full : g.softmax('softmax', full));
  return g.build();
}

export async function segmentTiled(host: TileHost, img: StillImage, opts: TiledOptions): Promise<SegmentResult> {
  const C = host.numClasses;
  const blend = opts.blend ?? 'probabilities';
  const mode = opts.windowResizeMode ?? 'half_pixel';
  const plan = planTiles(img.width, img.height, opts.tile, opts.overlap, opts.stride);
  const { width: W, height: H, windowWidth: winW, windowHeight: winH, windows } = plan;
  const [h, w] = host.networkSize(winW, winH);
  const padding = host.inputPadding(winW, winH);
  const raw = host.postLogits(h, w);
  const classes = new Uint8Array(W * H);
  const probabilities = opts.keepProbabilities ? new Float32Array(W * H * C) : undefined;
  // Logits are averaged with equal weights (mmseg); probabilities weighted towards each window's centre.
  const weights = blend === 'logits' ? { rows: new Float32Array(winH).fill(1), cols: new Float32Array(winW).fill(1) } : planWeights(plan);
  // Window row r covers rows ys[r] .. ys[r] + winH - 1, so winH slots never alias within a row.
  const acc = host.tensors.tileAccumulator({ rows: winH, width: W, classes: C, rowWeights: weights.rows, colWeights: weights.cols, keepProbabilities: !!probabilities });
  try {
    /** Image rows [row0, row1): finalised on the device, read back, their accumulator rows cleared. */
    const finishRows = async (row0: number, row1: number): Promise<void> => {
      const done = await acc.finish(row0, row1 - row0);
      classes.set(done.labels, row0 * W);
      if (probabilities) probabilities.set(done.probabilities!, row0 * W * C);
    };

    /** A batch of windows through the network: their probabilities [B, winH, winW, C] on the device. */
    const windowProbabilities = async (batch: readonly TileWindow[]): Promise<DeviceTensor> => {
      const B = batch.length;
      // Logits already at the window's size are blended as the network left them.
      const direct = blend === 'logits' && raw.height === winH && raw.width === winW && !padding;
      // Post-processing first: a batch too large for the device's limits fails before any GPU work.
      const post = direct ? undefined : await host.postProgram(`tiles ${blend} ${mode} ${B}x${raw.height}x${raw.width}${paddingKey(padding)}->${winH}x${winW}`, () => buildWindowGraph(B, raw.height, raw.width, C, winH, winW, mode, blend, padding));
      const inputs = batch.map((win) => host.preprocess(cropImage(img, win.x, win.y, winW, winH)).input);
      const input = new Float32Array(B * inputs[0].length);
      inputs.forEach((one, k) => input.set(one, k * one.length));
      const logits = await host.forward(input, h, w, B, raw.name);
      return post ? (await post.runKept({ logits })).get('probabilities')! : logits;
    };

    let batchSize = Math.min(opts.batchSize, windows.length);
    let row = 0; // the window row being accumulated
    for (let next = 0; next < windows.length; ) {
      const batch = windows.slice(next, next + batchSize);
      let probs: DeviceTensor;
      try {
        probs = await windowProbabilities(batch);
      } catch (e) {
        // Nothing of this batch is blended yet: retry it (and go on) with half as many windows.
        if (batchSize > 1 && e instanceof GpuError && e.kind === 'limit') {
          batchSize = Math.ceil(batchSize / 2);
          continue;
        }
        throw e;
      }
      // Blends run in order (windows overlap); a new window row first finalises the rows the
      // previous one completed, freeing their slots.
      let pending: TileWindow[] = [];
      const blendPending = async (): Promise<void> => {
        const items = pending.map((win) => ({ item: batch.indexOf(win), x0: win.x, y0: win.y }));
        pending = [];
        await acc.blend(probs, items);
      };
      for (const win of batch) {
        if (win.row !== row) {
          await blendPending();
          await finishRows(plan.ys[row], plan.ys[win.row]);
          row = win.row;
        }
        pending.push(win);
      }
      await blendPending();
      next += batch.length;
      opts.onProgress?.(next, windows.length);
    }
    await finishRows(plan.ys[row], H);
  } finally {
    acc.dispose();
  }
  const result: SegmentResult = { width: W, height: H, classes, numClasses: C };
  if (probabilities) result.probabilities = probabilities;
  return result;
}
