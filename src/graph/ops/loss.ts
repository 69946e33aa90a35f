// The training losses over NHWC logits and u32 labels. Each gives the loss [1], the logits'
// gradient (the seed of the backward pass: these ops need no rule of their own) and the count of
// invalid labels [1] (u32), then scratch tensors of its reduction.
//  - softmax_cross_entropy: ignore index, optional class weights, a scale (auxiliary losses,
//    micro-batches), hard-pixel mining;
//  - softmax_dice: smp's soft Dice loss (src/kernels/loss/dice.ts), multi-class or binary.
import { shapeString } from '../../gpu/tensor.js';
import { fromLike } from '../../kernels/cpu-arrays.js';
import { checkDice, diceCpu, diceSpecs, diceStatsShape, prepareDice } from '../../kernels/loss/dice.js';
import { crossEntropyCpu, crossEntropyScratchShapes, crossEntropySpecs, prepareCrossEntropy } from '../../kernels/loss/cross-entropy.js';
import { crossEntropyOnnx, diceOnnx } from '../onnx/rules/loss.js';
import type { Value } from '../value.js';
import { type OpDef, numel } from './op-def.js';

export interface SoftmaxCrossEntropyOp {
  type: 'softmax_cross_entropy';
  logits: Value;
  labels: Value;
  weights?: Value;
  /** hardFraction < 1: the loss over only the hardest pixels (src/kernels/loss/cross-entropy.ts). */
  attrs: { ignoreIndex: number; scale: number; hardFraction?: number };
}

export const softmaxCrossEntropyOp: OpDef<SoftmaxCrossEntropyOp> = {
  type: 'softmax_cross_entropy',
  operands: ['logits', 'labels', 'weights'],
  infer(op) {
    const shape = op.logits.shape;
    if (shapeString(op.labels.shape) !== shapeString(shape.slice(0, -1))) {
      throw new Error(`labels ${shapeString(op.labels.shape)} do not match logits ${shapeString(shape)} (the loss is taken at the labels' size)`);
    }
    if (op.labels.dtype !== 'u32') throw new Error(`labels must be u32, got ${op.labels.dtype}`);
    if (op.weights && shapeString(op.weights.shape) !== shapeString([shape[shape.length - 1]])) {
      throw new Error(`class weights ${shapeString(op.weights.shape)} do not match ${shape[shape.length - 1]} classes`);
    }
    const scratch = crossEntropyScratchShapes(shape, op.attrs);
    return [
      { shape: [1], dtype: 'f32' },
      { shape: [...shape], dtype: 'f32' },
      { shape: [1], dtype: 'u32' },
      { shape: scratch.partial, dtype: 'f32' },
      { shape: scratch.factor, dtype: 'f32' },
    ];
  },
  lower: (op) => ({
    specs: crossEntropySpecs(!!op.weights, op.attrs),
    prepare: (ctx, t, [loss, dlogits, invalid, partial, factor]) =>
      prepareCrossEntropy(
        ctx,
        { logits: t(op.logits), labels: t(op.labels), weights: op.weights && t(op.weights), loss, dlogits, invalid, partial, factor },
        op.attrs,
      ),
  }),
  cpu(op, read) {
    const r = crossEntropyCpu(read(op.logits) as Float32Array, op.logits.shape, read(op.labels), op.attrs, op.weights && read(op.weights));
    return [fromLike(r.dlogits, [r.loss]), r.dlogits, Uint32Array.of(r.invalid), new Float32Array(0), new Float32Array(0)];
  },
  cost: (op) => ({ macs: 0, flops: 6 * numel(op.logits.shape) }),
};

export interface SoftmaxDiceOp {
  type: 'softmax_dice';
  logits: Value;
  labels: Value;
  /** binary: only class 1 counts (a binary model's [0, z] logits). */
  attrs: { ignoreIndex: number; scale: number; binary?: boolean };
}

export const softmaxDiceOp: OpDef<SoftmaxDiceOp> = {
  type: 'softmax_dice',
  operands: ['logits', 'labels'],
  infer(op) {
    const shape = op.logits.shape;
    if (shapeString(op.labels.shape) !== shapeString(shape.slice(0, -1))) {
      throw new Error(`labels ${shapeString(op.labels.shape)} do not match logits ${shapeString(shape)} (the loss is taken at the labels' size)`);
    }
    if (op.labels.dtype !== 'u32') throw new Error(`labels must be u32, got ${op.labels.dtype}`);
    checkDice(op.attrs, shape[shape.length - 1]);
    return [
      { shape: [1], dtype: 'f32' },
      { shape: [...shape], dtype: 'f32' },
      { shape: [1], dtype: 'u32' },
      { shape: diceStatsShape(shape), dtype: 'f32' },
    ];
  },
  lower: (op) => ({
    specs: diceSpecs(op.attrs),
    prepare: (ctx, t, [loss, dlogits, invalid, stats]) => prepareDice(ctx, { logits: t(op.logits), labels: t(op.labels), loss, dlogits, invalid, stats }, op.attrs),
  }),
  cpu(op, read) {
    const r = diceCpu(read(op.logits) as Float32Array, op.logits.shape, read(op.labels), op.attrs);
    return [fromLike(r.dlogits, [r.loss]), r.dlogits, Uint32Array.of(r.invalid), new Float32Array(0)];
  },
  cost: (op) => ({ macs: 0, flops: 12 * numel(op.logits.shape) }),
};

// In standard operators (src/graph/onnx/rules/loss.ts); the reductions' scratch is not written.
softmaxCrossEntropyOp.onnx = (op, [loss, dlogits, invalid], g) => crossEntropyOnnx(g, { ...op, ...op.attrs }, { loss, dlogits, invalid });
softmaxDiceOp.onnx = (op, [loss, dlogits, invalid], g) => diceOnnx(g, { ...op, ...op.attrs }, { loss, dlogits, invalid });
