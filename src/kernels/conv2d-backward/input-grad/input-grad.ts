// The input gradient dX of a convolution (backward data): the transposed convolution as a gather
// (see ../geometry.ts), a convolution family of three algorithms (../../conv2d/family.ts):
// 'pointwise', 1x1 stride-1 layers on SwiftShader written out as straight-line code
// (conv2d_input_grad_pointwise.wgsl: PX pixels x CI input channels a lane, dot products over
// Cout as vec4); 'gemm', groups == 1 layers on `main`'s tiles (../tiles.ts); and 'grouped',
// grouped and depthwise layers on `grouped`, one element an invocation. The tuner times a
// layer's candidates as the forward's, under the family's name.
import type { GpuContext } from '../../../gpu/context.js';
import { type Dispatch, Uniforms, linearGrid, makeDispatch, runToNewTensor } from '../../../gpu/dispatch.js';
import type { KernelSpec } from '../../../gpu/pipeline-cache.js';
import { type GpuTensor, type Shape, shapeString } from '../../../gpu/tensor.js';
import { adapterClass } from '../../candidates.js';
import { type ConvAlgorithm, type ConvChoice, type ConvLayer, windowUniforms } from '../../conv2d/algorithm.js';
import { type ConvFamily, chooseConv, convTunable, launchConv } from '../../conv2d/family.js';
import type { Conv2dParams } from '../../conv2d/params.js';
import type { TunableLayer } from '../../tuning.js';
import { INPUT_GRAD, SCALAR_WG, backwardGeometry, checkOperands, describeWindow, tileGrid } from '../geometry.js';
import { type GradientTile, gradientTileName, gradientTiles, pointwiseGradient } from '../tiles.js';

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

/** The Params struct of conv2d_input_grad.wgsl, and main's tiles (blocks of IG_R pixels of one stride phase). */
function inputGradUniforms({ g, p }: ConvLayer): { uniforms: Uniforms; tiles: number; total: number } {
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
  return { uniforms, tiles, total };
}

/** groups == 1: `main`, an implicit GEMM over tiles of 8 input pixels by 4 channels a lane. */
const inputGradGemm: ConvAlgorithm<GradientTile, Conv2dInputGradOperands, null> = {
  id: 'gemm',
  shaders: ['conv2d_input_grad.wgsl', 'conv2d_input_grad_subgroup.wgsl'],
  variants: ({ g, p, cls, limits }) => (p.groups === 1 ? gradientTiles('input_grad', g.cin, cls, limits) : []),
  name: gradientTileName,
  specs: (_layer, _has, v) => [{ shader: v.subgroups ? 'conv2d_input_grad_subgroup.wgsl' : 'conv2d_input_grad.wgsl', constants: { WG: v.lanes } }],
  prepare(ctx, t, layer, v, accumulate, label) {
    const { uniforms, tiles } = inputGradUniforms(layer);
    const [spec] = inputGradGemm.specs(layer, null, v, accumulate);
    const workgroups = tileGrid(ctx, INPUT_GRAD, Math.ceil(layer.g.cin / (v.lanes * IG_CN)), tiles);
    return [makeDispatch(ctx, { label, spec, uniforms, buffers: [t.dOut, t.weight, t.dInput], workgroups })];
  },
};

/** conv2d_input_grad_pointwise.wgsl's tile: PX pixels a workgroup by CI input channels a lane, on `lanes` lanes. */
export interface PointwiseInputTile {
  PX: number;
  CI: number;
  lanes: number;
}

/** The pointwise kernel's tiles, its default first (16 vec4 sums a lane). */
const POINTWISE_INPUT_TILES: readonly PointwiseInputTile[] = [
  { PX: 4, CI: 4, lanes: 8 },
  { PX: 8, CI: 2, lanes: 8 },
  { PX: 4, CI: 2, lanes: 8 },
];

/** 1x1 stride-1 layers on SwiftShader, Cout a multiple of 4: `main` of conv2d_input_grad_pointwise.wgsl. */
const inputGradPointwise: ConvAlgorithm<PointwiseInputTile, Conv2dInputGradOperands, null> = {
  id: 'pointwise',
  shaders: ['conv2d_input_grad_pointwise.wgsl'],
  variants: (layer) => (pointwiseGradient(layer) && layer.g.cout % 4 === 0 ? [...POINTWISE_INPUT_TILES] : []),
  name: (v) => `p${v.PX}c${v.CI}l${v.lanes}`,
  specs: (_layer, _has, v) => [{ shader: 'conv2d_input_grad_pointwise.wgsl', consts: { PX: v.PX, CI: v.CI }, constants: { WG: v.lanes } }],
  prepare(ctx, t, layer, v, accumulate, label) {
    const { g } = layer;
    const M = g.N * g.H * g.W;
    const mBlocks = Math.ceil(M / v.PX);
    const [spec] = inputGradPointwise.specs(layer, null, v, accumulate);
    const uniforms = new Uniforms().u32(M).u32(g.cin).u32(g.cout / 4).u32(mBlocks);
    const workgroups = tileGrid(ctx, INPUT_GRAD, Math.ceil(g.cin / (v.lanes * v.CI)), mBlocks);
    return [makeDispatch(ctx, { label, spec, uniforms, buffers: [t.dOut, t.weight, t.dInput], workgroups })];
  },
};

/** groups > 1 (depthwise and channel multipliers included): `grouped`, one input element an invocation. */
const inputGradGrouped: ConvAlgorithm<{ lanes: number }, Conv2dInputGradOperands, null> = {
  id: 'grouped',
  shaders: ['conv2d_input_grad.wgsl'],
  variants: ({ p }) => (p.groups > 1 ? [{ lanes: SCALAR_WG }] : []),
  name: (v) => `l${v.lanes}`,
  specs: (_layer, _has, v) => [{ shader: 'conv2d_input_grad.wgsl', entryPoint: 'grouped', constants: { WG: v.lanes } }],
  prepare(ctx, t, layer, v, accumulate, label) {
    const { uniforms, total } = inputGradUniforms(layer);
    const [spec] = inputGradGrouped.specs(layer, null, v, accumulate);
    return [makeDispatch(ctx, { label, spec, uniforms, buffers: [t.dOut, t.weight, t.dInput], workgroups: linearGrid(ctx, total, v.lanes) })];
  },
};

/** The input gradient's family under its name in the tuning store. */
export const CONV2D_INPUT_GRAD: ConvFamily<Conv2dInputGradOperands, null> = { kernel: 'conv2d_input_grad', algorithms: [inputGradPointwise, inputGradGemm, inputGradGrouped] };

/** A layer's dX as the family's algorithms see it (training programs: f32). */
function inputGradLayer(ctx: GpuContext, inputShape: Shape, weightShape: Shape, p: Conv2dParams, dOutShape?: Shape): ConvLayer {
  return { g: backwardGeometry(INPUT_GRAD, inputShape, weightShape, p, dOutShape), p, cls: adapterClass(ctx), limits: ctx.kernelLimits, dtype: 'f32' };
}

/** What a layer's dX runs on `ctx`, chosen once where it is lowered: the choice, to pass to prepareConv2dInputGrad, and the kernels it compiles. */
export function conv2dInputGradLowering(ctx: GpuContext, inputShape: Shape, weightShape: Shape, p: Conv2dParams): { choice: ConvChoice<Conv2dInputGradOperands, null>; specs: KernelSpec[] } {
  const layer = inputGradLayer(ctx, inputShape, weightShape, p);
  const choice = chooseConv(ctx, CONV2D_INPUT_GRAD, layer);
  return { choice, specs: choice.algorithm.specs(layer, null, choice.variant, choice.accumulate) };
}

/**
 * dX of conv2d with the forward's params; writes every element of dInput. `choice`: a candidate
 * to run instead of the context's choice (the tuner's, tests').
 */
export function prepareConv2dInputGrad(ctx: GpuContext, t: Conv2dInputGradOperands, p: Conv2dParams, choice?: ConvChoice<Conv2dInputGradOperands, null>): Dispatch[] {
  const layer = inputGradLayer(ctx, t.dInput.shape, t.weight.shape, p, t.dOut.shape);
  checkOperands(ctx, INPUT_GRAD, { dOut: t.dOut, weight: t.weight, dInput: t.dInput }, ['dInput']);
  const label = `${INPUT_GRAD}(${describeWindow(p, layer.g)}) ${shapeString(t.dOut.shape)}->${shapeString(t.dInput.shape)}`;
  return launchConv(ctx, CONV2D_INPUT_GRAD, t, layer, choice ?? chooseConv(ctx, CONV2D_INPUT_GRAD, layer), label);
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

/** A layer's dX candidates as the tuner times them (dOut, weight -> dInput), or null where it has no choice (grouped layers). */
export function conv2dInputGradTunable(ctx: GpuContext, inputShape: Shape, weightShape: Shape, attrs: Conv2dParams): TunableLayer | null {
  const p = { ...attrs, activation: 'none' as const };
  const layer = inputGradLayer(ctx, inputShape, weightShape, p);
  const { g } = layer;
  const operands = [{ shape: [g.N, g.OH, g.OW, g.cout], fill: true }, { shape: [...weightShape], fill: true }, { shape: [...inputShape], fill: false }];
  return convTunable(CONV2D_INPUT_GRAD, layer, operands, 2, (ctx, [dOut, weight, dInput], choice) => prepareConv2dInputGrad(ctx, { dOut, weight, dInput }, p, choice));
}
