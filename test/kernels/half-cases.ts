// What the half-precision kernel tests share (half.test.ts, half-candidates.test.ts): f16 inputs,
// a run on a poisoned f16 output, and the comparisons with the CPU references.
import { expect } from 'chai';
import { runOnce } from '../../src/gpu/dispatch.js';
import { halfBits, halfValue, roundToHalf } from '../../src/gpu/half.js';
import { type GpuTensor, type Shape, readTensor, uploadTensor } from '../../src/gpu/tensor.js';
import type { prepareCast } from '../../src/kernels/elementwise/cast.js';
import { type Conv2dParams, conv2dOutputShape } from '../../src/kernels/conv2d/params.js';
import { conv2dCpu } from '../../src/kernels/conv2d/reference.js';
import type { prepareConv2d } from '../../src/kernels/conv2d/conv2d.js';
import { FP16_TOLERANCE, expectClose, f16AccumulationTolerance, numel, poisonedTensor, randomArray, testContext } from '../helpers.js';

/** Random values already representable in f16, and their f16 tensor. */
export function halfInput(shape: Shape, lo = -1, hi = 1): { data: Float32Array; shape: Shape } {
  return { data: roundToHalf(randomArray(numel(shape), lo, hi)), shape };
}

/** Uploads f16 tensors, runs `prepare` on a poisoned f16 output, returns what it wrote. */
export async function runHalf(
  inputs: { data: Float32Array; shape: Shape }[],
  outShape: Shape,
  prepare: (ins: GpuTensor[], out: GpuTensor) => ReturnType<typeof prepareCast> | ReturnType<typeof prepareConv2d>,
): Promise<Float32Array> {
  const ctx = await testContext();
  const tensors = inputs.map((x) => uploadTensor(ctx, x.data, x.shape, 'in', true));
  const out = poisonedTensor(ctx, outShape, 'out', 'f16');
  try {
    expect(tensors.every((t) => t.dtype === 'f16') && out.dtype === 'f16').to.equal(true);
    await runOnce(ctx, 'half test', () => prepare(tensors, out));
    return await readTensor(ctx, out);
  } finally {
    for (const t of tensors) t.dispose();
    out.dispose();
  }
}

export function expectHalfClose(got: Float32Array, ref: Float32Array, what: string): void {
  expect(got.every(Number.isFinite), `${what}: every output written`).to.equal(true);
  expectClose(got, roundToHalf(ref), what, FP16_TOLERANCE);
}

/**
 * A convolution's f16 operands (input, weight, bias, scale, residual) and two CPU references:
 * summing in f32 (`exact`), and rounding every step to f16 (`summedInHalf`).
 */
export function halfConvCase(inputShape: Shape, weightShape: Shape, p: Conv2dParams) {
  const outShape = conv2dOutputShape(inputShape, weightShape, p);
  const cout = weightShape[3];
  const operands = [halfInput(inputShape), halfInput(weightShape, -0.5, 0.5), halfInput([cout]), halfInput([cout], 0.5, 1.5), halfInput(outShape)];
  const [input, weight, bias, scale, residual] = operands;
  const extras = { bias: bias.data, scale: scale.data, residual: residual.data };
  const exact = conv2dCpu(input.data, inputShape, weight.data, weightShape, p, extras);
  const summedInHalf = conv2dCpu(input.data, inputShape, weight.data, weightShape, p, extras, (x) => halfValue(halfBits(x)));
  return { operands, outShape, exact, summedInHalf };
}

/**
 * A kernel summing in f32 and its twin summing in f16 on one layer: the first within f16 rounding
 * of the exact result, the second within f16 accumulation's error (over `terms` products) of
 * sums rounded to f16, and the two different (the twin's sums really round to f16).
 */
export function expectBothSums(single: Float32Array, half: Float32Array, ref: { exact: Float32Array; summedInHalf: Float32Array }, what: string, terms: number): void {
  expectHalfClose(single, ref.exact, `${what}, f32 sums`);
  expect(half.every(Number.isFinite), `${what}, f16 sums: every output written`).to.equal(true);
  expectClose(half, roundToHalf(ref.summedInHalf), `${what}, f16 sums`, f16AccumulationTolerance(terms));
  expect(half.some((x, i) => x !== single[i]), `${what}: outputs differ from the f32-accumulating kernel's`).to.equal(true);
}
