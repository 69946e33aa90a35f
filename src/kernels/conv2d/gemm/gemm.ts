// groups == 1 convolutions as an implicit GEMM: M = N*OH*OW output pixels by Cout channels, over
// K = KH*KW*Cin taps, the input gathered from the activation as the tiles need it (no im2col
// buffer). The variant (types.ts; the candidates and defaults: candidates.ts) picks the kernel, its tiles and its split over the input
// channels: a split GEMM writes raw partial sums into a scratch buffer of its own, and
// conv2d_splitk_reduce.wgsl adds them up in order with the epilogue.
import type { GpuContext } from '../../../gpu/context.js';
import { type Dispatch, type Grid, Uniforms, linearGrid, makeDispatch } from '../../../gpu/dispatch.js';
import { STORAGE_USAGE } from '../../../gpu/buffer-pool.js';
import type { KernelSpec } from '../../../gpu/pipeline-cache.js';
import { checkBindable, tensorBytes } from '../../../gpu/tensor.js';
import type { FloatType } from '../../../gpu/tuning.js';
import { summing } from '../../precision.js';
import { type ConvAlgorithm, type Conv2dOperands, type EpilogueSlots, blockGrid, convBuffers, epilogueBits, windowUniforms } from '../algorithm.js';
import type { Conv2dParams, ConvGeometry } from '../params.js';
import { normaliseSplits } from '../split.js';
import { gemmCandidates } from './candidates.js';
import { gemmBlock } from './geometry.js';
import { gemmVariantName } from './names.js';
import type { GemmVariant } from './types.js';
import { gemmVariantProblem } from './validity.js';

/** Workgroup size of the split-K reduction. */
const REDUCE_WG = 64;

function gemmSpec(g: ConvGeometry, v: GemmVariant, accumulate: FloatType): KernelSpec {
  // The epilogue is a uniform (params.epilogue, epilogueBits): one pipeline serves every epilogue,
  // which matters where compiles are slow (software adapters). A split GEMM writes raw sums.
  const split: Record<string, number> = v.splits > 1 ? { SPLIT_K: 1 } : {};
  if (v.kind === 'matrix') {
    // The matrix shapes are types' parameters: module constants, not overrides.
    const shader = v.emulated ? 'conv2d_gemm_matrix_emulated.wgsl' : 'conv2d_gemm_matrix.wgsl';
    const consts = { SM_M: v.m, SM_N: v.n, SM_K: v.k, SGM: v.SGM, SGN: v.SGN, TMS: v.TMS, TNS: v.TNS, KS: v.KS, LANES: v.lanes };
    return { shader, consts, constants: split };
  }
  if (v.kind === 'unrolled') {
    // The tile is written out in the source: its sizes are module constants.
    // Pointwise layers (1x1, no padding) work out their pixels' offsets once.
    const consts: Record<string, number> = { PX: v.PX, CG: v.CG, POINTWISE: g.pointwise ? 1 : 0, ...(v.subgroups ? { SG: v.lanes } : {}) };
    return summing({ shader: v.subgroups ? 'conv2d_gemm_unrolled_subgroup.wgsl' : 'conv2d_gemm_unrolled.wgsl', consts, constants: { WG: v.lanes, ...split } }, accumulate);
  }
  if (v.kind === 'tiled') {
    // The block sizes the workgroup arrays: consts, not overrides (docs/wgsl-rules.md, rule 8).
    const block = { BM: v.BM, BN: v.BN, BK: v.BK };
    const tile = { TM: v.TM, TN: v.TN, WGX: v.BN / v.TN, WGY: v.BM / v.TM };
    return summing({ shader: v.vec4 ? 'conv2d_gemm_tiled_vec4.wgsl' : 'conv2d_gemm_tiled.wgsl', consts: block, constants: { ...split, ...tile } }, accumulate);
  }
  const tile = { WG: v.lanes, R: v.R, CN: v.CN };
  return summing({ shader: v.kind === 'register' ? 'conv2d_gemm.wgsl' : 'conv2d_gemm_subgroup.wgsl', constants: { ...split, ...tile } }, accumulate);
}

function splitKReduceSpec(): KernelSpec {
  return { shader: 'conv2d_splitk_reduce.wgsl', constants: { WG: REDUCE_WG } };
}

/** A split-K GEMM into its own scratch [splits, M, Cout], then the ordered sum with the epilogue. */
function splitKDispatches(
  ctx: GpuContext,
  t: Conv2dOperands,
  p: Conv2dParams,
  s: { g: ConvGeometry; label: string; uniforms: Uniforms; workgroups: Grid; gemm: GemmVariant; accumulate: FloatType; count: number; has: EpilogueSlots },
): Dispatch[] {
  const splits = s.gemm.splits;
  // The partial sums are stored in the output's type (f16 in half-precision programs).
  const scratchBytes = tensorBytes([splits, s.count], t.out.dtype);
  checkBindable(ctx, scratchBytes, `conv2d: split-K scratch of ${splits} x ${s.count} values`);
  const scratch = ctx.createBuffer(scratchBytes, STORAGE_USAGE, `${s.label}:split-k`);
  try {
    const gemm = makeDispatch(ctx, {
      label: `${s.label} split-K x${splits}`,
      spec: gemmSpec(s.g, s.gemm, s.accumulate),
      uniforms: s.uniforms,
      buffers: [t.input, t.weight, t.weight, t.weight, t.weight, scratch],
      workgroups: s.workgroups,
    });
    const reduce = makeDispatch(ctx, {
      label: `${s.label} split-K sum`,
      spec: splitKReduceSpec(),
      uniforms: new Uniforms().u32(s.count).u32(t.out.shape[3]).u32(splits).u32(epilogueBits(p, s.has)),
      buffers: [scratch, t.bias ?? t.weight, t.scale ?? t.weight, t.residual ?? t.weight, t.out],
      workgroups: linearGrid(ctx, s.count, REDUCE_WG),
    });
    return [{ ...gemm, ownedBuffers: [scratch] }, reduce];
  } catch (e) {
    ctx.destroyBuffer(scratch);
    throw e;
  }
}

export const gemmAlgorithm: ConvAlgorithm<GemmVariant> = {
  id: 'gemm',
  shaders: [
    'conv2d_gemm.wgsl',
    'conv2d_gemm_subgroup.wgsl',
    'conv2d_gemm_tiled.wgsl',
    'conv2d_gemm_tiled_vec4.wgsl',
    'conv2d_gemm_matrix.wgsl',
    'conv2d_gemm_matrix_emulated.wgsl',
    'conv2d_gemm_unrolled.wgsl',
    'conv2d_gemm_unrolled_subgroup.wgsl',
    'conv2d_splitk_reduce.wgsl',
  ],
  variants: ({ g, p, cls, limits, dtype }) => (p.groups === 1 ? gemmCandidates(g, cls, limits, dtype) : []),
  name: gemmVariantName,
  // The register, tiled and written-out tiles sum in acc_t: twice the arithmetic rate on GPUs
  // with native f16, at an error growing with the reduction length.
  halfSums: (v) => (v.kind === 'matrix' ? 'subgroup matrices accumulate in f32' : null),
  settle(v, { g, limits, dtype }, options) {
    const problem = gemmVariantProblem(g, v, limits, dtype);
    if (problem) throw new Error(`conv2d: GEMM variant ${gemmVariantName(v)} cannot run ${g.cin} -> ${g.cout} channels: ${problem}`);
    // The split-K modes 'never' and 'always' override the variant's splits.
    if (options.splitK === 'never') v = { ...v, splits: 1 };
    else if (options.splitK === 'always') v = { ...v, splits: normaliseSplits(g.cin, 4) };
    // Forced splits may cut the channels where vec4 staging cannot: stage them a value at a time.
    if (v.kind === 'tiled' && v.vec4 && gemmVariantProblem(g, v, limits, dtype)) v = { ...v, vec4: false };
    return v;
  },
  specs: ({ g }, _has, v, accumulate) => (v.splits > 1 ? [gemmSpec(g, v, accumulate), splitKReduceSpec()] : [gemmSpec(g, v, accumulate)]),
  prepare(ctx, t, { g, p }, v, accumulate, label) {
    const has = { bias: !!t.bias, scale: !!t.scale, residual: !!t.residual };
    const M = g.N * g.OH * g.OW;
    const block = gemmBlock(v);
    const mTiles = Math.ceil(M / block.pixels);
    const coGroups = Math.ceil(g.cout / block.channels);
    const uniforms = windowUniforms(new Uniforms().u32(M).u32(g.cout).u32(g.cin), g, p)
      .u32(mTiles)
      .u32(block.pixels)
      .u32(coGroups)
      .u32(Math.ceil(g.cin / v.splits))
      .u32(v.splits > 1 ? 0 : epilogueBits(p, has));
    const workgroups = blockGrid(ctx, mTiles, v.splits * coGroups);
    if (v.splits === 1) return [makeDispatch(ctx, { label, spec: gemmSpec(g, v, accumulate), uniforms, buffers: convBuffers(t), workgroups })];
    return splitKDispatches(ctx, t, p, { g, label, uniforms, workgroups, gemm: v, accumulate, count: M * g.cout, has });
  },
};
