// Softmax cross-entropy over the class axis of NHWC logits, with an ignore index and optional
// class weights, in PyTorch's semantics (nn.CrossEntropyLoss, reduction 'mean'):
//   loss = scale * sum_valid w[y] * -log softmax(x)[y] / sum_valid w[y]
//   dlogits = scale * w[y] * (softmax(x) - onehot(y)) / sum_valid w[y]   (0 at ignored pixels)
// One op gives both: the loss is the root of the backward pass, so its gradient is computed
// with it. Where no pixel is valid, PyTorch gives NaN; here loss and gradient are 0 (a crop of
// pure void teaches nothing, and must not poison the run). Labels that are neither a class
// nor the ignore index are counted, so the host can name the file they came from.
// Three dispatches: per-pixel terms, one-workgroup reduction, gradient normalisation.
import type { GpuContext } from '../../gpu/context.js';
import type { Dispatch } from '../../gpu/dispatch.js';
import { Uniforms, linearGrid, makeDispatch } from '../../gpu/dispatch.js';
import type { KernelSpec } from '../../gpu/pipeline-cache.js';
import { type GpuTensor, type Shape, numel, shapeString } from '../../gpu/tensor.js';
import { expectShape } from '../checks.js';

export interface CrossEntropyParams {
  ignoreIndex: number;
  /** Multiplies loss and gradient (an auxiliary loss's weight; 1 / micro-batches). Default 1. */
  scale?: number;
  /**
   * Hard-pixel mining (DeepLab's top_k_percent_pixels): only the max(1, floor(fraction * valid))
   * valid pixels with the largest weighted loss (and any tied with the last) count, in the loss
   * and its gradient. 1 (the default) keeps every pixel.
   */
  hardFraction?: number;
}

const isHard = (p: CrossEntropyParams): boolean => (p.hardFraction ?? 1) < 1;

export interface CrossEntropyTensors {
  /** [N,H,W,C] */
  logits: GpuTensor;
  /** [N,H,W] u32 */
  labels: GpuTensor;
  /** [C], optional per-class weights. */
  weights?: GpuTensor;
  /** [1] */
  loss: GpuTensor;
  /** [N,H,W,C] */
  dlogits: GpuTensor;
  /** [1] u32: labels that are neither a class nor the ignore index. */
  invalid: GpuTensor;
  /** Scratch [N*H*W*3] and [1] (crossEntropyScratchShapes). */
  partial: GpuTensor;
  factor: GpuTensor;
}

const PIXEL_WG = 64;
const SCALE_WG = 256;

/** Scratch: per-pixel (loss, weight, invalid) and the gradient factor (+ the mining threshold). */
export function crossEntropyScratchShapes(logitsShape: Shape, p: CrossEntropyParams = { ignoreIndex: 0 }): { partial: number[]; factor: number[] } {
  return { partial: [numel(logitsShape.slice(0, -1)) * 3], factor: [isHard(p) ? 2 : 1] };
}

export function crossEntropySpecs(hasWeights: boolean, p: CrossEntropyParams = { ignoreIndex: 0 }): KernelSpec[] {
  const hard = isHard(p);
  return [
    { shader: 'cross_entropy_pixels.wgsl', constants: { WG: PIXEL_WG, HAS_WEIGHTS: hasWeights ? 1 : 0 } },
    { shader: 'cross_entropy_reduce.wgsl', constants: { HARD: hard ? 1 : 0 } },
    { shader: hard ? 'cross_entropy_hard_scale.wgsl' : 'cross_entropy_scale.wgsl', constants: { WG: SCALE_WG } },
  ];
}

function checkParams(p: CrossEntropyParams): void {
  if (!Number.isInteger(p.ignoreIndex) || p.ignoreIndex < 0) throw new Error(`crossEntropy: ignoreIndex must be a non-negative integer, got ${p.ignoreIndex}`);
  if (p.scale !== undefined && !Number.isFinite(p.scale)) throw new Error(`crossEntropy: scale must be finite, got ${p.scale}`);
  const f = p.hardFraction ?? 1;
  if (!(f > 0 && f <= 1)) throw new Error(`crossEntropy: hardFraction must be in (0, 1], got ${p.hardFraction}`);
}

export function prepareCrossEntropy(ctx: GpuContext, t: CrossEntropyTensors, p: CrossEntropyParams): Dispatch[] {
  checkParams(p);
  const kernel = 'crossEntropy';
  const shape = t.logits.shape;
  if (shape.length < 2) throw new Error(`${kernel}: logits must have a class axis, got ${shapeString(shape)}`);
  const C = shape[shape.length - 1];
  const P = numel(shape) / C;
  expectShape(t.labels.shape, shape.slice(0, -1), kernel, 'labels');
  if (t.labels.dtype !== 'u32') throw new Error(`${kernel}: labels must be u32, got ${t.labels.dtype}`);
  if (t.weights) expectShape(t.weights.shape, [C], kernel, 'weights');
  expectShape(t.dlogits.shape, shape, kernel, 'dlogits');
  expectShape(t.loss.shape, [1], kernel, 'loss');
  expectShape(t.invalid.shape, [1], kernel, 'invalid');
  const scratch = crossEntropyScratchShapes(shape, p);
  expectShape(t.partial.shape, scratch.partial, kernel, 'partial');
  expectShape(t.factor.shape, scratch.factor, kernel, 'factor');
  const hard = isHard(p);
  const [pixels, reduce, scale] = crossEntropySpecs(!!t.weights, p);
  const label = `${kernel} ${shapeString(shape)}`;
  return [
    makeDispatch(ctx, {
      label: `${label} pixels`,
      spec: pixels,
      uniforms: new Uniforms().u32(P).u32(C).u32(p.ignoreIndex),
      buffers: [t.logits, t.labels, t.weights ?? t.logits, t.dlogits, t.partial],
      workgroups: linearGrid(ctx, P, PIXEL_WG),
    }),
    makeDispatch(ctx, {
      label: `${label} reduce`,
      spec: reduce,
      uniforms: new Uniforms().u32(P).f32(p.scale ?? 1).f32(p.hardFraction ?? 1),
      buffers: [t.partial, t.loss, t.factor, t.invalid],
      workgroups: [1, 1, 1],
    }),
    makeDispatch(ctx, {
      label: `${label} normalise`,
      spec: scale,
      uniforms: hard ? new Uniforms().u32(numel(shape)).u32(C) : new Uniforms().u32(numel(shape)),
      buffers: hard ? [t.factor, t.partial, t.dlogits] : [t.factor, t.dlogits],
      workgroups: linearGrid(ctx, numel(shape), SCALE_WG),
    }),
  ];
}

export interface CrossEntropyResult<T> {
  loss: number;
  dlogits: T;
  invalid: number;
}

/** The pixels of NHWC logits of `shape` [.., C], their labels' count checked; `what` names the loss. */
export function checkedPixels(logits: ArrayLike<number>, labels: ArrayLike<number>, shape: readonly number[], what: string): number {
  const P = numel(shape) / shape[shape.length - 1];
  if (logits.length !== numel(shape)) throw new Error(`${what}: ${logits.length} logits for ${shapeString(shape)}`);
  if (labels.length !== P) throw new Error(`${what}: ${labels.length} labels for ${P} pixels`);
  return P;
}

/** A pixel's softmax terms in float64: its largest logit m and sum(exp(logit - m)), so p_c = exp(logit_c - m) / s. */
export function softmaxShift(logits: ArrayLike<number>, base: number, C: number): [number, number] {
  let m = -Infinity;
  for (let c = 0; c < C; c++) m = Math.max(m, logits[base + c]);
  let s = 0;
  for (let c = 0; c < C; c++) s += Math.exp(logits[base + c] - m);
  return [m, s];
}

/** CPU reference (float64 inside; returns dlogits of the logits' array type). */
export function crossEntropyCpu<T extends Float32Array | Float64Array>(
  logits: T,
  shape: Shape,
  labels: ArrayLike<number>,
  p: CrossEntropyParams,
  weights?: ArrayLike<number>,
): CrossEntropyResult<T> {
  checkParams(p);
  const C = shape[shape.length - 1];
  const P = checkedPixels(logits, labels, shape, 'crossEntropy');
  const dlogits = new (logits.constructor as { new (n: number): T })(logits.length);
  const keys = new Float64Array(P);
  const pixelWeights = new Float64Array(P);
  let invalid = 0;
  for (let px = 0; px < P; px++) {
    const y = labels[px];
    if (y >= C) {
      if (y !== p.ignoreIndex) invalid++;
      continue;
    }
    const base = px * C;
    const [m, s] = softmaxShift(logits, base, C);
    const w = weights ? weights[y] : 1;
    for (let c = 0; c < C; c++) dlogits[base + c] = w * (Math.exp(logits[base + c] - m) / s - (c === y ? 1 : 0));
    keys[px] = w * (Math.log(s) + m - logits[base + y]);
    pixelWeights[px] = w;
  }
  const kept = keptPixels(keys, pixelWeights, p.hardFraction ?? 1);
  let lossSum = 0;
  let weightSum = 0;
  for (let px = 0; px < P; px++) {
    if (kept[px]) {
      lossSum += keys[px];
      weightSum += pixelWeights[px];
    } else dlogits.fill(0, px * C, (px + 1) * C);
  }
  const scale = p.scale ?? 1;
  const factor = weightSum > 0 ? scale / weightSum : 0;
  for (let i = 0; i < dlogits.length; i++) dlogits[i] *= factor;
  return { loss: weightSum > 0 ? (scale * lossSum) / weightSum : 0, dlogits, invalid };
}

/**
 * The pixels that count: every pixel of positive weight, or with mining the k = max(1,
 * floor(fraction * valid)) of largest key and all tied with the k-th (a key below 0 is 0).
 */
function keptPixels(keys: Float64Array, weights: Float64Array, fraction: number): boolean[] {
  const valid = [...keys.keys()].filter((i) => weights[i] > 0);
  const kept = new Array<boolean>(keys.length).fill(false);
  const key = (i: number): number => Math.max(0, keys[i]);
  let threshold = -Infinity;
  if (fraction < 1 && valid.length) {
    const sorted = valid.map(key).sort((a, b) => b - a);
    // k as the shader computes it: fraction as float32, the product rounded to float32.
    const k = Math.max(1, Math.floor(Math.fround(Math.fround(fraction) * valid.length)));
    threshold = sorted[k - 1];
  }
  for (const i of valid) kept[i] = key(i) >= threshold;
  return kept;
}
