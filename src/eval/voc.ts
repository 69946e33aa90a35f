// PASCAL VOC segmentation evaluation, usable from the library as well as the CLI:
//
//   const items = listVocSplit('VOCdevkit/VOC2012', 'val');
//   const scores = await evaluateVoc(model, items, { scales: [1] });
//   console.log(formatScoresTable(scores, model.classNames));
//
// The protocol is the devkit's: one confusion matrix accumulated over the whole split (not a
// mean of per-image scores), ground-truth value 255 (object borders, "difficult") ignored,
// predictions compared at the ground truth's own resolution.
import type { VocItem } from '../data/formats/voc-split.js';
import { readFileBytes } from '../io/file-bytes.js';
import { readIndexedPng } from '../io/png-indexed.js';
import type { SegmentOptions, SegmentResult } from '../model/model.js';
import { VOC_IGNORE_LABEL } from '../model/voc.js';
import { checkOptionKeys, checkSignal } from '../util/option-keys.js';
import { ConfusionMatrix } from './metrics.js';

/** The part of DeepLabModel evaluation needs (so other segmenters can be scored too). */
export interface Segmenter {
  readonly name: string;
  readonly numClasses: number;
  readonly classNames: readonly string[];
  segment(image: string, opts?: SegmentOptions): Promise<SegmentResult>;
  /** Several images at once (batched where sizes agree); used when present. */
  segmentBatch?(images: string[], opts?: SegmentOptions): Promise<SegmentResult[]>;
}

/** Images handed to segmentBatch at a time. */
const EVAL_CHUNK = 8;

export interface VocEvalOptions {
  /** Input scales (default [1]); see SegmentOptions.scales. */
  scales?: number[];
  /** Also average in the left-right flipped image. */
  flip?: boolean;
  /** Sliding-window inference: windows of tile x tile pixels overlapping by `overlap`; see SegmentOptions.tile. */
  tile?: number;
  overlap?: number;
  /** Ground-truth value that marks pixels to ignore (VOC: 255; other data sets name theirs). */
  ignoreIndex?: number;
  /**
   * Reads a ground-truth file as class ids and the ignore index (a data set's readLabel, which
   * maps its format's values); default: the PNG's raw 8-bit values, as VOC stores them.
   */
  readLabel?: (path: string) => { width: number; height: number; indices: Uint8Array };
  /** Called after each image: i counts from 1. */
  onImage?: (i: number, n: number, id: string) => void;
  /**
   * Cancels the evaluation: checked before it starts and between batches of images (up to 8),
   * where an aborted signal rejects the call with its reason (a DOMException named 'AbortError'
   * unless abort() was given one).
   */
  signal?: AbortSignal;
}

/** Every option's name, for the check of the keys given. */
const OPTION_NAMES = Object.keys({
  scales: true,
  flip: true,
  tile: true,
  overlap: true,
  ignoreIndex: true,
  readLabel: true,
  onImage: true,
  signal: true,
} satisfies Record<keyof VocEvalOptions, true>);

/** Scores in percent (as papers and the devkit report them); null = class in neither gt nor prediction. */
export interface VocScores {
  matrix: ConfusionMatrix;
  /** The matrix's classes in order (the model's names, 'class N' where it has none). */
  classNames: string[];
  /** Mean IoU over the classes present in the ground truth or the prediction. */
  mIoU: number;
  /** Mean IoU over all classes, an absent class counting as 0. */
  mIoU21: number;
  pixelAccuracy: number;
  perClass: Record<string, number | null>;
  /** Dice (F1) per class, in percent; null = class in neither gt nor prediction. */
  dicePerClass: Record<string, number | null>;
  images: number;
  seconds: number;
}

function percent(x: number): number {
  return x * 100;
}

/** Segments every item and scores the predictions against the ground truth. */
export async function evaluateVoc(model: Segmenter, items: readonly VocItem[], opts: VocEvalOptions = {}): Promise<VocScores> {
  checkOptionKeys('evaluateVoc', opts, OPTION_NAMES);
  const signal = checkSignal('evaluateVoc', opts.signal);
  if (items.length === 0) throw new Error('evaluateVoc: no images to evaluate');
  const matrix = new ConfusionMatrix(model.numClasses, opts.ignoreIndex ?? VOC_IGNORE_LABEL);
  const segmentOptions: SegmentOptions = { scales: opts.scales, flip: opts.flip, ...(opts.tile !== undefined ? { tile: opts.tile, overlap: opts.overlap } : {}) };
  const start = performance.now();
  for (let first = 0; first < items.length; first += EVAL_CHUNK) {
    signal?.throwIfAborted();
    const chunk = items.slice(first, first + EVAL_CHUNK);
    // Ground truth first: a broken mask should fail before seconds of GPU work.
    const gts = chunk.map(({ id, gtPath }) => {
      try {
        return opts.readLabel ? opts.readLabel(gtPath) : readIndexedPng(readFileBytes(gtPath), gtPath);
      } catch (e) {
        throw new Error(`evaluateVoc: image ${id}: ${(e as Error).message}`);
      }
    });
    const preds = model.segmentBatch
      ? await model.segmentBatch(chunk.map((it) => it.imagePath), segmentOptions)
      : await Promise.all(chunk.map((it) => model.segment(it.imagePath, segmentOptions)));
    chunk.forEach(({ id, imagePath, gtPath }, k) => {
      const pred = preds[k];
      const gt = gts[k];
      if (pred.width !== gt.width || pred.height !== gt.height) {
        throw new Error(
          `evaluateVoc: image ${id}: the prediction is ${pred.width}x${pred.height} (from ${imagePath}) but the ground truth ${gtPath} is ${gt.width}x${gt.height}`,
        );
      }
      try {
        matrix.add(pred.classes, gt.indices);
      } catch (e) {
        throw new Error(`evaluateVoc: image ${id} (${gtPath}): ${(e as Error).message}`);
      }
      opts.onImage?.(first + k + 1, items.length, id);
    });
  }
  const seconds = (performance.now() - start) / 1000;
  const iou = matrix.iou();
  const classNames = iou.map((_, c) => model.classNames[c] ?? `class ${c}`);
  const perClass: Record<string, number | null> = {};
  iou.forEach((v, c) => {
    perClass[classNames[c]] = Number.isNaN(v) ? null : percent(v);
  });
  const dicePerClass: Record<string, number | null> = {};
  matrix.dice().forEach((v, c) => {
    dicePerClass[classNames[c]] = Number.isNaN(v) ? null : percent(v);
  });
  return {
    matrix,
    classNames,
    mIoU: percent(matrix.meanIouPresent()),
    mIoU21: percent(matrix.meanIouAll()),
    pixelAccuracy: percent(matrix.pixelAccuracy()),
    perClass,
    dicePerClass,
    images: items.length,
    seconds,
  };
}

function fmt(v: number | null): string {
  return v === null || Number.isNaN(v) ? '     -' : v.toFixed(2).padStart(6);
}

/**
 * A per-class IoU table followed by the summary lines:
 *
 *   class           IoU %  Dice %
 *   background      93.41   96.59
 *   ...
 *   mIoU (present classes)  74.97
 */
export function formatScoresTable(scores: VocScores, classNames: readonly string[]): string {
  const width = Math.max(12, ...classNames.map((n) => n.length)) + 2;
  const lines = [`${'class'.padEnd(width)} IoU %  Dice %`];
  const k = scores.matrix.numClasses;
  for (let c = 0; c < k; c++) {
    const name = classNames[c] ?? `class ${c}`;
    lines.push(`${name.padEnd(width)}${fmt(scores.perClass[name] ?? null)}  ${fmt(scores.dicePerClass[name] ?? null)}`);
  }
  const rate = scores.seconds > 0 ? scores.images / scores.seconds : 0;
  const label = (s: string) => s.padEnd(28);
  lines.push(
    '',
    `${label('mIoU (present classes)')}${scores.mIoU.toFixed(2)}`,
    `${label(`mIoU (all ${k} classes)`)}${scores.mIoU21.toFixed(2)}`,
    `${label('pixel accuracy')}${scores.pixelAccuracy.toFixed(2)}`,
    `${label('images')}${scores.images} in ${scores.seconds.toFixed(1)} s (${rate.toFixed(2)} images/s)`,
  );
  return lines.join('\n') + '\n';
}
