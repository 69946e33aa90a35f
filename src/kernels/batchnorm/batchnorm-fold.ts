// Inference-time batch norm folded into the preceding convolution.
//   BN(y) = gamma * (y - mean) / sqrt(variance + eps) + beta = y * scale + shift
// With y = conv(x, w) + b this is conv(x, w * scale) + (b * scale + shift): one conv, no
// separate normalisation pass. The scale / shift pair is also offered on its own for callers
// that keep the weights untouched and feed `scale` to the conv epilogue instead. The GPU fold
// (batchnorm_fold.wgsl) derives folded weights from parameters that live on the device.
import type { GpuContext } from '../../gpu/context.js';
import { type Dispatch, Uniforms, linearGrid, makeDispatch } from '../../gpu/dispatch.js';
import type { KernelSpec } from '../../gpu/pipeline-cache.js';
import type { GpuTensor, Shape } from '../../gpu/tensor.js';
import { numel, shapeString } from '../../gpu/tensor.js';
import { expectRank, expectShape } from '../checks.js';

export interface BatchNormStats {
  gamma: Float32Array;
  beta: Float32Array;
  mean: Float32Array;
  variance: Float32Array;
  eps: number;
}

function validateStats(bn: BatchNormStats, what: string): number {
  const C = bn.gamma.length;
  for (const name of ['beta', 'mean', 'variance'] as const) {
    if (bn[name].length !== C) {
      throw new Error(`${what}: batch-norm ${name} has ${bn[name].length} values but gamma has ${C}`);
    }
  }
  if (!(bn.eps >= 0)) throw new Error(`${what}: batch-norm eps must be >= 0, got ${bn.eps}`);
  for (let c = 0; c < C; c++) {
    if (!(bn.variance[c] + bn.eps > 0)) {
      throw new Error(`${what}: batch-norm variance[${c}] + eps = ${bn.variance[c] + bn.eps} is not positive`);
    }
  }
  return C;
}

/** Per-channel scale and shift of a batch norm, absorbing an optional preceding conv bias. */
export function batchNormScaleShift(bn: BatchNormStats, convBias?: Float32Array): { scale: Float32Array; shift: Float32Array } {
  const C = validateStats(bn, 'batchNormScaleShift');
  if (convBias && convBias.length !== C) {
    throw new Error(`batchNormScaleShift: conv bias has ${convBias.length} values but the batch norm has ${C} channels`);
  }
  const scale = new Float32Array(C);
  const shift = new Float32Array(C);
  for (let c = 0; c < C; c++) {
    // Computed in double precision, rounded once when stored.
    const s = bn.gamma[c] / Math.sqrt(bn.variance[c] + bn.eps);
    scale[c] = s;
    shift[c] = bn.beta[c] + ((convBias ? convBias[c] : 0) - bn.mean[c]) * s;
  }
  return { scale, shift };
}

/** conv (HWIO weights, optional bias) followed by BN  ->  one conv with new weights and bias. */
export function foldBatchNorm(
  weightHWIO: Float32Array,
  weightShape: Shape,
  convBias: Float32Array | undefined,
  bn: BatchNormStats,
): { weight: Float32Array; bias: Float32Array } {
  if (weightShape.length !== 4) {
    throw new Error(`foldBatchNorm: weight must be HWIO [KH,KW,Cin/groups,Cout], got shape ${shapeString(weightShape)}`);
  }
  if (weightHWIO.length !== numel(weightShape)) {
    throw new Error(`foldBatchNorm: weight has ${weightHWIO.length} values but shape ${shapeString(weightShape)} needs ${numel(weightShape)}`);
  }
  const cout = weightShape[3];
  const C = validateStats(bn, 'foldBatchNorm');
  if (C !== cout) {
    throw new Error(`foldBatchNorm: batch norm has ${C} channels but weight ${shapeString(weightShape)} has Cout ${cout}`);
  }
  const { scale, shift } = batchNormScaleShift(bn, convBias);
  const weight = new Float32Array(weightHWIO.length);
  // Cout is the fastest axis of HWIO, so channel = index % Cout.
  for (let i = 0; i < weight.length; i++) {
    weight[i] = weightHWIO[i] * scale[i % cout];
  }
  return { weight, bias: shift };
}

export interface FoldBatchNormTensors {
  /** HWIO [KH, KW, Cin/groups, Cout] */
  weight: GpuTensor;
  /** [Cout], the conv's own bias if it has one. */
  bias?: GpuTensor;
  gamma: GpuTensor;
  beta: GpuTensor;
  mean: GpuTensor;
  variance: GpuTensor;
  foldedWeight: GpuTensor;
  foldedBias: GpuTensor;
}

const FOLD_WG = 256;

export function foldBatchNormSpec(hasBias: boolean): KernelSpec {
  return { shader: 'batchnorm_fold.wgsl', constants: { WG: FOLD_WG, HAS_BIAS: hasBias ? 1 : 0 } };
}

/** The GPU fold: the same arithmetic as foldBatchNorm, on tensors that stay on the device. */
export function prepareFoldBatchNorm(ctx: GpuContext, t: FoldBatchNormTensors, eps: number): Dispatch {
  const kernel = 'foldBatchNorm';
  expectRank(t.weight.shape, 4, kernel, 'weight');
  const cout = t.weight.shape[3];
  for (const [name, v] of [['bias', t.bias], ['gamma', t.gamma], ['beta', t.beta], ['mean', t.mean], ['variance', t.variance], ['foldedBias', t.foldedBias]] as const) {
    if (v) expectShape(v.shape, [cout], kernel, name);
  }
  expectShape(t.foldedWeight.shape, t.weight.shape, kernel, 'foldedWeight');
  if (!(eps >= 0)) throw new Error(`${kernel}: eps must be >= 0, got ${eps}`);
  return makeDispatch(ctx, {
    label: `${kernel} ${shapeString(t.weight.shape)}`,
    spec: foldBatchNormSpec(!!t.bias),
    uniforms: new Uniforms().u32(t.weight.size).u32(cout).f32(eps),
    // Without a conv bias the slot still needs a buffer: the weight is never read there.
    buffers: [t.weight, t.bias ?? t.weight, t.gamma, t.beta, t.mean, t.variance, t.foldedWeight, t.foldedBias],
    workgroups: linearGrid(ctx, t.weight.size, FOLD_WG),
  });
}
