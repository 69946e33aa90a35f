// The bias gradient db of a convolution: dY summed over N, OH, OW, one workgroup per block of
// channels with a tree reduction.
import type { GpuContext } from '../../../gpu/context.js';
import { type Dispatch, Uniforms, linearGrid, makeDispatch, runToNewTensor } from '../../../gpu/dispatch.js';
import type { KernelSpec } from '../../../gpu/pipeline-cache.js';
import { type GpuTensor, shapeString, validateShape } from '../../../gpu/tensor.js';
import { expectRank, expectShape } from '../../checks.js';
import { BIAS_GRAD, checkOperands } from '../geometry.js';

/** Channels per workgroup; must match TC in conv2d_bias_grad.wgsl. */
const BIAS_CHANNEL_BLOCK = 16;

export function conv2dBiasGradSpec(): KernelSpec {
  return { shader: 'conv2d_bias_grad.wgsl' };
}

/** db = dY summed over N, OH, OW: dOut [N, OH, OW, Cout] -> dBias [Cout]. */
export function prepareConv2dBiasGrad(ctx: GpuContext, t: { dOut: GpuTensor; dBias: GpuTensor }): Dispatch {
  expectRank(t.dOut.shape, 4, BIAS_GRAD, 'dOut');
  validateShape(t.dOut.shape, `${BIAS_GRAD}: dOut`);
  const [N, OH, OW, cout] = t.dOut.shape;
  expectShape(t.dBias.shape, [cout], BIAS_GRAD, 'dBias');
  checkOperands(ctx, BIAS_GRAD, { dOut: t.dOut, dBias: t.dBias }, ['dBias']);
  const blocks = Math.ceil(cout / BIAS_CHANNEL_BLOCK);
  return makeDispatch(ctx, {
    label: `${BIAS_GRAD} ${shapeString(t.dOut.shape)}`,
    spec: conv2dBiasGradSpec(),
    uniforms: new Uniforms().u32(N * OH * OW).u32(cout).u32(blocks),
    buffers: [t.dOut, t.dBias],
    // One workgroup per channel block; linearGrid with 1 "thread" per group spills into y.
    workgroups: linearGrid(ctx, blocks, 1),
  });
}

/** Allocates db and runs once. */
export function conv2dBiasGrad(ctx: GpuContext, dOut: GpuTensor): Promise<GpuTensor> {
  expectRank(dOut.shape, 4, BIAS_GRAD, 'dOut');
  return runToNewTensor(ctx, [dOut.shape[3]], BIAS_GRAD, (dBias) => prepareConv2dBiasGrad(ctx, { dOut, dBias }));
}

