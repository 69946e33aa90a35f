// The reference a fine-tune's first loss is checked against: PyTorch's cross-entropy over the
// labelled pixels of [H,W,C] logits, in float64.
import { UNLABELLED } from '../../src/train/fine-tune.js';

/**
 * Mean cross-entropy of [H,W,C] logits over the pixels whose label is a class (UNLABELLED left
 * out), each weighing its class's weight (PyTorch's weighted mean; all 1 by default), and how
 * many pixels it took.
 */
export function pixelCrossEntropy(logits: Float32Array, labels: ArrayLike<number>, C: number, weights?: ArrayLike<number>): { loss: number; pixels: number } {
  let sum = 0;
  let total = 0;
  let n = 0;
  for (let p = 0; p < labels.length; p++) {
    if (labels[p] === UNLABELLED) continue;
    const row = logits.subarray(p * C, (p + 1) * C);
    const max = Math.max(...row);
    let z = 0;
    for (const v of row) z += Math.exp(v - max);
    const w = weights?.[labels[p]] ?? 1;
    sum += w * (Math.log(z) + max - row[labels[p]]);
    total += w;
    n++;
  }
  return { loss: sum / total, pixels: n };
}
