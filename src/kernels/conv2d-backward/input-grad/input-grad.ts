// The input gradient dX of a convolution: the transposed convolution as a gather (see
// ../geometry.ts). groups == 1 runs `main` on the variant the layer's space chooses (../space.ts);
// grouped and depthwise layers run `grouped`, one element an invocation.
import type { GpuContext } from '../../../gpu/context.js';
import { type Dispatch, Uniforms, linearGrid, makeDispatch, runToNewTensor } from '../../../gpu/dispatch.js';
import type { KernelSpec } from '../../../gpu/pipeline-cache.js';
import { type GpuTensor, type Shape, shapeString } from '../../../gpu/tensor.js';
import { windowUniforms } from '../../conv2d/algorithm.js';
import type { Conv2dParams } from '../../conv2d/params.js';
import { type TunableLayer, tunableLayer } from '../../tuning.js';
import { INPUT_GRAD, SCALAR_WG, backwardGeometry, checkOperands, describeWindow, tileGrid } from '../geometry.js';
import { type BackwardVariant, backwardLayer, backwardSpace, backwardVariant } from '../space.js';

// conv2d_input_grad.wgsl `main`: R input pixels of one stride phase per workgroup, CN channels per lane.
const IG_R = 8;
const IG_CN = 4;

export interface Conv2dInputGradOperands {
  /** dLoss/dY [N, OH, OW, Cout] */
  dOut: GpuTensor;
  /** The forward's weight, HWIO [KH, KW, Cin/groups, Cout]. */
  weight: GpuTensor;
  /** Written: dLoss/dX [N, H, W, Cin] (its shape is the forward input's). */
  dInput: GpuTensor;
}

/** The groups == 1 variant a layer runs on `ctx` (undefined for grouped layers, which have one kernel): chosen once, where it is lowered. */
export function conv2dInputGradVariant(ctx: GpuContext, inputShape: Shape, weightShape: Shape, p: Conv2dParams): BackwardVariant | undefined {
  return p.groups === 1 ? backwardVariant(ctx, 'input_grad', backwardGeometry(INPUT_GRAD, inputShape, weightShape, p), p) : undefined;
}

/** `variant`: the groups == 1 kernel's (default: the context's choice, backwardVariant). */
export function conv2dInputGradSpec(ctx: GpuContext, inputShape: Shape, weightShape: Shape, p: Conv2dParams, variant?: BackwardVariant): KernelSpec {
  const g = backwardGeometry(INPUT_GRAD, inputShape, weightShape, p);
  if (p.groups === 1) {
    const v = variant ?? backwardVariant(ctx, 'input_grad', g, p);
    return { shader: v.subgroups ? 'conv2d_input_grad_subgroup.wgsl' : 'conv2d_input_grad.wgsl', constants: { WG: v.lanes } };
  }
  return { shader: 'conv2d_input_grad.wgsl', entryPoint: 'grouped', constants: { WG: SCALAR_WG } };
}

/**
 * dX of conv2d with the forward's params; writes every element of dInput. `variant`: a groups == 1
 * variant to run instead of the context's choice (the tuner's candidates).
 */
export function prepareConv2dInputGrad(ctx: GpuContext, t: Conv2dInputGradOperands, p: Conv2dParams, variant?: BackwardVariant): Dispatch {
  const g = backwardGeometry(INPUT_GRAD, t.dInput.shape, t.weight.shape, p, t.dOut.shape);
  checkOperands(ctx, INPUT_GRAD, { dOut: t.dOut, weight: t.weight, dInput: t.dInput }, ['dInput']);
  const v = p.groups === 1 ? (variant ?? backwardVariant(ctx, 'input_grad', g, p)) : undefined;
  const spec = conv2dInputGradSpec(ctx, t.dInput.shape, t.weight.shape, p, v);
  const phaseRows = Math.ceil(g.H / p.strideH);
  const phaseCols = Math.ceil(g.W / p.strideW);
  const blocksPerPhase = Math.ceil((phaseRows * phaseCols) / IG_R);
  const tiles = g.N * p.strideH * p.strideW * blocksPerPhase;
  const total = g.N * g.H * g.W * g.cin;
  const uniforms = windowUniforms(new Uniforms().u32(g.cin).u32(g.cout).u32(g.cinPerGroup).u32(g.coutPerGroup), g, p)
    .u32(phaseRows)
    .u32(phaseCols)
    .u32(blocksPerPhase)
    .u32(tiles)
    .u32(total)
    .u32(IG_R);
  const workgroups =
    p.groups === 1
      ? tileGrid(ctx, INPUT_GRAD, Math.ceil(g.cin / (v!.lanes * IG_CN)), tiles)
      : linearGrid(ctx, total, SCALAR_WG);
  const label = `${INPUT_GRAD}(${describeWindow(p, g)}) ${shapeString(t.dOut.shape)}->${shapeString(t.dInput.shape)}`;
  return makeDispatch(ctx, { label, spec, uniforms, buffers: [t.dOut, t.weight, t.dInput], workgroups });
}

/** Allocates dX and runs once. */
export function conv2dInputGrad(
  ctx: GpuContext,
  dOut: GpuTensor,
  weight: GpuTensor,
  inputShape: Shape,
  p: Conv2dParams,
): Promise<GpuTensor> {
  backwardGeometry(INPUT_GRAD, inputShape, weight.shape, p, dOut.shape);
  return runToNewTensor(ctx, inputShape, INPUT_GRAD, (dInput) => prepareConv2dInputGrad(ctx, { dOut, weight, dInput }, p));
}

/** A groups == 1 layer's dX candidates as the tuner times them (dOut, weight -> dInput), or null for grouped layers. */
export function conv2dInputGradTunable(ctx: GpuContext, inputShape: Shape, weightShape: Shape, attrs: Conv2dParams): TunableLayer | null {
  if (attrs.groups !== 1) return null;
  const p = { ...attrs, activation: 'none' as const };
  const g = backwardGeometry(INPUT_GRAD, inputShape, weightShape, p);
  const space = backwardSpace('input_grad', backwardLayer(ctx, g, p));
  const operands = [{ shape: [g.N, g.OH, g.OW, g.cout], fill: true }, { shape: [...weightShape], fill: true }, { shape: [...inputShape], fill: false }];
  return tunableLayer(space, operands, (ctx, [dOut, weight, dInput], v) => [prepareConv2dInputGrad(ctx, { dOut, weight, dInput }, p, v)]);
}
