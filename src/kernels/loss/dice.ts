// Soft Dice loss over the class axis of NHWC logits, as segmentation_models_pytorch's DiceLoss
// (losses/dice.py, from_logits=True, smooth 0, eps 1e-7, ignore_index) computes it:
//   p = softmax(x); p and the one-hot target t are zeroed at ignored pixels;
//   per class c, over every pixel of the batch: dice_c = 2 sum(p t) / max(sum p + sum t, eps);
//   loss = scale * mean over classes of mask_c (1 - dice_c), mask_c = the class has a target pixel.
// Multi-class mode counts every class (the mean is over all C, masked ones as 0). Binary mode
// (a binary model's [0, z] logits, C = 2) counts only class 1, whose softmax is sigmoid(z): smp's
// mode='binary' on z. The loss is the root of the backward pass, so the op gives the logits'
// gradient with it, as cross-entropy does. Labels that are neither a class nor the ignore index
// are counted (and count as ignored).
// Three dispatches: per-pixel softmax, per-class sums (one workgroup a class), per-pixel gradient.
import type { GpuContext } from '../../gpu/context.js';
import type { Dispatch } from '../../gpu/dispatch.js';
import { Uniforms, linearGrid, makeDispatch } from '../../gpu/dispatch.js';
import type { KernelSpec } from '../../gpu/pipeline-cache.js';
import { type GpuTensor, type Shape, numel, shapeString } from '../../gpu/tensor.js';
import { expectShape } from '../checks.js';
import { checkedPixels, softmaxShift } from './cross-entropy.js';

export interface DiceParams {
  ignoreIndex: number;
  /** Multiplies loss and gradient (a loss's weight in a sum; 1 / micro-batches). Default 1. */
  scale?: number;
  /** Only class 1 counts (smp's mode='binary' on a binary model's [0, z] logits); needs 2 classes. */
  binary?: boolean;
}

export interface DiceTensors {
  /** [N,H,W,C] */
  logits: GpuTensor;
  /** [N,H,W] u32 */
  labels: GpuTensor;
  /** [1] */
  loss: GpuTensor;
  /** [N,H,W,C] */
  dlogits: GpuTensor;
  /** [1] u32: labels that are neither a class nor the ignore index. */
  invalid: GpuTensor;
  /** Scratch [C, 4]: per class (dice, S, w, 0). */
  stats: GpuTensor;
}

/** smp's eps: the denominator's floor (never reached by a class that counts: its S >= 1). */
const EPS = 1e-7;
const PIXEL_WG = 64;

export const diceStatsShape = (logitsShape: Shape): number[] => [logitsShape[logitsShape.length - 1], 4];

export function diceSpecs(p: DiceParams): KernelSpec[] {
  return [
    { shader: 'dice_probs.wgsl', constants: { WG: PIXEL_WG } },
    { shader: 'dice_classes.wgsl', constants: { BINARY: p.binary ? 1 : 0 } },
    { shader: 'dice_grad.wgsl', constants: { WG: PIXEL_WG } },
  ];
}

/** Throws on parameters or a class count the loss cannot take. */
export function checkDice(p: DiceParams, classes: number): void {
  if (!Number.isInteger(p.ignoreIndex) || p.ignoreIndex < 0) throw new Error(`dice: ignoreIndex must be a non-negative integer, got ${p.ignoreIndex}`);
  if (p.scale !== undefined && !Number.isFinite(p.scale)) throw new Error(`dice: scale must be finite, got ${p.scale}`);
  if (p.binary && classes !== 2) throw new Error(`dice: binary mode takes the two logits [0, z] of a binary model, got ${classes} classes`);
}

export function prepareDice(ctx: GpuContext, t: DiceTensors, p: DiceParams): Dispatch[] {
  const kernel = 'dice';
  const shape = t.logits.shape;
  if (shape.length < 2) throw new Error(`${kernel}: logits must have a class axis, got ${shapeString(shape)}`);
  const C = shape[shape.length - 1];
  checkDice(p, C);
  const P = numel(shape) / C;
  expectShape(t.labels.shape, shape.slice(0, -1), kernel, 'labels');
  if (t.labels.dtype !== 'u32') throw new Error(`${kernel}: labels must be u32, got ${t.labels.dtype}`);
  expectShape(t.dlogits.shape, shape, kernel, 'dlogits');
  expectShape(t.loss.shape, [1], kernel, 'loss');
  expectShape(t.invalid.shape, [1], kernel, 'invalid');
  expectShape(t.stats.shape, diceStatsShape(shape), kernel, 'stats');
  const [probs, classes, grad] = diceSpecs(p);
  const label = `${kernel} ${shapeString(shape)}`;
  return [
    makeDispatch(ctx, {
      label: `${label} softmax`,
      spec: probs,
      uniforms: new Uniforms().u32(P).u32(C),
      buffers: [t.logits, t.labels, t.dlogits],
      workgroups: linearGrid(ctx, P, PIXEL_WG),
    }),
    makeDispatch(ctx, {
      label: `${label} classes`,
      spec: classes,
      uniforms: new Uniforms().u32(P).u32(C).u32(p.ignoreIndex).f32(p.scale ?? 1),
      buffers: [t.dlogits, t.labels, t.stats, t.invalid],
      workgroups: [C, 1, 1],
    }),
    makeDispatch(ctx, {
      label: `${label} gradient`,
      spec: grad,
      uniforms: new Uniforms().u32(P).u32(C),
      buffers: [t.stats, t.labels, t.dlogits, t.loss],
      workgroups: linearGrid(ctx, P, PIXEL_WG),
    }),
  ];
}

export interface DiceResult<T> {
  loss: number;
  dlogits: T;
  invalid: number;
}

/** CPU reference (float64 inside; returns dlogits of the logits' array type). */
export function diceCpu<T extends Float32Array | Float64Array>(logits: T, shape: Shape, labels: ArrayLike<number>, p: DiceParams): DiceResult<T> {
  const C = shape[shape.length - 1];
  checkDice(p, C);
  const P = checkedPixels(logits, labels, shape, 'dice');
  const probs = new Float64Array(logits.length);
  const sumP = new Float64Array(C);
  const sumPT = new Float64Array(C);
  const sumT = new Float64Array(C);
  let invalid = 0;
  for (let px = 0; px < P; px++) {
    const y = labels[px];
    if (y >= C) {
      if (y !== p.ignoreIndex) invalid++;
      continue;
    }
    const base = px * C;
    const [m, s] = softmaxShift(logits, base, C);
    for (let c = 0; c < C; c++) {
      const prob = Math.exp(logits[base + c] - m) / s;
      probs[base + c] = prob;
      sumP[c] += prob;
      if (c === y) {
        sumPT[c] += prob;
        sumT[c]++;
      }
    }
  }
  const scale = p.scale ?? 1;
  const dice = new Float64Array(C);
  const weight = new Float64Array(C);
  const S = new Float64Array(C);
  let loss = 0;
  for (let c = 0; c < C; c++) {
    S[c] = sumP[c] + sumT[c];
    dice[c] = (2 * sumPT[c]) / Math.max(S[c], EPS);
    const counted = !p.binary || c === 1;
    weight[c] = counted && sumT[c] > 0 ? scale / (p.binary ? 1 : C) : 0;
    loss += weight[c] * (1 - dice[c]);
  }
  const dlogits = new (logits.constructor as { new (n: number): T })(logits.length);
  const g = new Float64Array(C);
  for (let px = 0; px < P; px++) {
    const y = labels[px];
    if (y >= C) continue;
    const base = px * C;
    let dot = 0;
    for (let c = 0; c < C; c++) {
      g[c] = weight[c] > 0 ? (-weight[c] * (2 * (c === y ? 1 : 0) - dice[c])) / S[c] : 0;
      dot += probs[base + c] * g[c];
    }
    for (let c = 0; c < C; c++) dlogits[base + c] = probs[base + c] * (g[c] - dot);
  }
  return { loss, dlogits, invalid };
}
