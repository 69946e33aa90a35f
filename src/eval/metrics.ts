// Segmentation scores from a confusion matrix accumulated over a whole evaluation set (the
// standard VOC protocol: one matrix for all images, not a mean of per-image scores).

export class ConfusionMatrix {
  /** counts[gt * numClasses + pred]: row = ground truth, column = prediction. */
  readonly counts: Float64Array;

  constructor(
    readonly numClasses: number,
    readonly ignoreLabel = 255,
  ) {
    if (!Number.isInteger(numClasses) || numClasses < 1 || numClasses > 65536) {
      throw new Error(`ConfusionMatrix: numClasses must be an integer in 1..65536, got ${numClasses}`);
    }
    this.counts = new Float64Array(numClasses * numClasses);
  }

  /** Adds one image (or any set of pixels). Pixels whose gt is the ignore label are skipped. */
  add(pred: ArrayLike<number>, gt: ArrayLike<number>): void {
    const k = this.numClasses;
    if (pred.length !== gt.length) {
      throw new Error(`ConfusionMatrix.add: pred has ${pred.length} values but gt has ${gt.length}`);
    }
    // Validate first so a bad input leaves the matrix unchanged.
    for (let i = 0; i < gt.length; i++) {
      const g = gt[i];
      if (g === this.ignoreLabel) continue;
      if (!Number.isInteger(g) || g < 0 || g >= k) {
        throw new Error(`ConfusionMatrix.add: gt value ${g} at index ${i} is not a class in 0..${k - 1} nor the ignore label ${this.ignoreLabel}`);
      }
      const p = pred[i];
      if (!Number.isInteger(p) || p < 0 || p >= k) {
        throw new Error(`ConfusionMatrix.add: pred value ${p} at index ${i} is not a class in 0..${k - 1}`);
      }
    }
    for (let i = 0; i < gt.length; i++) {
      if (gt[i] === this.ignoreLabel) continue;
      this.counts[gt[i] * k + pred[i]] += 1;
    }
  }

  /** Per class: TP / (TP + FP + FN); NaN for a class absent from both gt and prediction. */
  iou(): number[] {
    const k = this.numClasses;
    const out: number[] = [];
    for (let c = 0; c < k; c++) {
      let row = 0;
      let col = 0;
      for (let j = 0; j < k; j++) {
        row += this.counts[c * k + j];
        col += this.counts[j * k + c];
      }
      const tp = this.counts[c * k + c];
      const union = row + col - tp;
      out.push(union > 0 ? tp / union : NaN);
    }
    return out;
  }

  /**
   * Per class: the Dice coefficient (F1) 2 TP / (2 TP + FP + FN), a binary model's usual score
   * for its foreground; NaN for a class absent from both gt and prediction.
   */
  dice(): number[] {
    return this.iou().map((j) => (Number.isNaN(j) ? NaN : (2 * j) / (1 + j)));
  }

  /**
   * Mean IoU over the classes with a defined IoU (present in gt or prediction): the usual
   * published mIoU. NaN when nothing has been added.
   */
  meanIouPresent(): number {
    const defined = this.iou().filter((v) => !Number.isNaN(v));
    return defined.length ? defined.reduce((a, b) => a + b, 0) / defined.length : NaN;
  }

  /** Mean IoU over all numClasses, an undefined IoU (class absent everywhere) counting as 0. */
  meanIouAll(): number {
    return this.iou().reduce((a, v) => a + (Number.isNaN(v) ? 0 : v), 0) / this.numClasses;
  }

  /**
   * Each ground-truth row divided by its sum: rows[gt][pred] is the share of class gt's pixels
   * predicted as pred. A class with no ground-truth pixels has a row of NaN (no share is defined).
   */
  rowNormalised(): number[][] {
    const k = this.numClasses;
    return Array.from({ length: k }, (_, g) => {
      const row = Array.from(this.counts.subarray(g * k, (g + 1) * k));
      const total = row.reduce((a, b) => a + b, 0);
      return row.map((v) => (total > 0 ? v / total : NaN));
    });
  }

  /** Correct pixels / counted pixels (ignored pixels excluded); NaN when nothing was counted. */
  pixelAccuracy(): number {
    const k = this.numClasses;
    let correct = 0;
    let total = 0;
    for (let c = 0; c < k; c++) correct += this.counts[c * k + c];
    for (let i = 0; i < this.counts.length; i++) total += this.counts[i];
    return total > 0 ? correct / total : NaN;
  }
}

/** A confusion matrix as JSON (training's confusion.json, `eval --json`'s `confusion`). */
export interface ConfusionJson {
  /** Class names: the order of both the rows and the columns. */
  classes: string[];
  rows: 'ground truth';
  columns: 'prediction';
  /** Pixels whose ground truth is this value are not counted. */
  ignoreIndex: number;
  /** counts[gt][pred]: pixels of ground-truth class gt predicted as pred. */
  counts: number[][];
}

export function confusionJson(matrix: ConfusionMatrix, classNames: readonly string[]): ConfusionJson {
  const k = matrix.numClasses;
  if (classNames.length !== k) throw new Error(`confusionJson: ${classNames.length} class names for a ${k}-class matrix`);
  return {
    classes: [...classNames],
    rows: 'ground truth',
    columns: 'prediction',
    ignoreIndex: matrix.ignoreLabel,
    counts: Array.from({ length: k }, (_, g) => Array.from(matrix.counts.subarray(g * k, (g + 1) * k))),
  };
}
