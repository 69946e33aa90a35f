// 3x3 convolutions of stride 1 (one group, any padding, channels and rate) by Winograd's minimal
// filtering F(m x m, 3x3), m = 2 or 4: each m x m tile of outputs from an (m + 2)^2 patch of
// inputs with (m + 2)^2 multiplies a channel pair instead of 9 m^2 (2.25x fewer for F(2x2),
// 4x for F(4x4)). Four dispatches, their scratch owned by the first:
//   0. U = G g G^T, the weight transform, into U [ALPHA^2, Cin, Cout] (every run: the weight
//      may change between runs while training);
//   1. V = B^T d B, the input transform of every tile, into V [ALPHA^2, tiles, Cin];
//   2. M[b] = V[b] U[b] for each of the ALPHA^2 positions b: batched GEMMs on the GEMM
//      family's register tiles (looped, or written out for SwiftShader);
//   3. Y = A^T M A, the output transform, with the epilogue.
// At rate d > 1 the tiles lie on the dilated grid (outputs d apart, one phase each: see
// conv2d_winograd_params.wgsl). Accuracy: F(2x2)'s coefficients are exact in f32; F(4x4)'s
// transforms scale values by up to 10 along each axis and its weight transform's 1/6, 1/12, 1/24
// round. Against the CPU reference on random data (Cin 256 to 2304) F(2x2) measured a relative
// error of 0.5-1.5e-6, F(4x4) 2-9e-6, the GEMM 0.8-2.6e-6 (the fp32 tolerance is 1e-4).
// Half-precision programs: the scratch and sums stay f32, or, in the f16-accumulating variants
// (F(2x2) only), the scratch is f16 and the GEMM sums in f16 while the transforms compute in f32
// and round once as they store. Measured on the CPU (test/kernels/winograd-reference.ts: 12 x 12
// maps, f16 inputs in [-1, 1], He-scaled weights; relative error against the exact convolution
// at Cin 32 / 128 / 512): F(2x2) with f16 scratch 4.8e-4 / 4.9e-4 / 5.1e-4, with f16 sums too
// 1.6e-3 / 2.8e-3 / 5.8e-3 (the implicit GEMM summing 9 x Cin products in f16: 2.4e-3 / 4.8e-3 /
// 9.6e-3). Computing the transforms in f16 as well added at most 1.3e-4: enough for F(2x2), but
// the transforms are bound by memory, not arithmetic, so they keep f32 and round once. F(4x4)'s
// transforms scale values by up to 10 and its output transform cancels them: f16 scratch alone
// errs 3.1-3.4e-3, with f16 sums 9.9e-3 / 2.0e-2 / 3.5e-2, past the accuracy check
// (F16_ACCUMULATION_ERROR, 3.9e-3) at every channel count measured, so it keeps f32 scratch and sums.
// A tuning candidate only: CONV2D (conv2d.ts) lists it after the GEMM, so it runs where it measured
// faster. The scratch takes (m+2)^2 / m^2 times the input and output (4x for F(2x2), 2.25x for
// F(4x4)) and 16 or 36 times the weight, held for the dispatches' life.
import { type Dispatch, type Grid, Uniforms, disposeDispatch, linearGrid, makeDispatch } from '../../../gpu/dispatch.js';
import { STORAGE_USAGE } from '../../../gpu/buffer-pool.js';
import type { KernelSpec } from '../../../gpu/pipeline-cache.js';
import { checkBindable } from '../../../gpu/tensor.js';
import type { FloatType } from '../../../gpu/tuning.js';
import { summing } from '../../precision.js';
import { type ConvAlgorithm, blockGrid, epilogueBits } from '../algorithm.js';
import { type WinogradVariant, winogradCandidates, winogradScratchBytes, winogradTiles, winogradVariantName, winogradVariantProblem } from './variants.js';

/** Workgroup size of the three transforms (one invocation a tile and channel, or a channel pair). */
const TRANSFORM_WG = 64;

/** The transforms' module consts: the tile and its patch. */
function tileConsts(v: WinogradVariant): Record<string, number> {
  return { TILE: v.tile, ALPHA: v.tile + 2 };
}

/** The transforms bind the program's tensors (half where they are f16); with f16 sums their scratch is f16. */
function transformSpec(stage: 'weight' | 'input' | 'output', v: WinogradVariant, accumulate: FloatType): KernelSpec {
  return summing({ shader: `conv2d_winograd_${stage}${v.tile === 4 ? '_f4' : ''}.wgsl`, consts: tileConsts(v), constants: { WG: TRANSFORM_WG } }, accumulate);
}

/** The GEMM binds only scratch: its f16-summing variant says it is a half-precision kernel itself. */
function gemmSpec(v: WinogradVariant, accumulate: FloatType): KernelSpec {
  let spec: KernelSpec;
  if (v.unrolled) {
    // The tile is written out in the source: its sizes are module constants.
    const consts: Record<string, number> = { PX: v.rows, CG: v.channels, ...(v.subgroups ? { SG: v.lanes } : {}) };
    spec = { shader: v.subgroups ? 'conv2d_winograd_gemm_unrolled_subgroup.wgsl' : 'conv2d_winograd_gemm_unrolled.wgsl', consts, constants: { WG: v.lanes } };
  } else {
    spec = { shader: v.subgroups ? 'conv2d_winograd_gemm_subgroup.wgsl' : 'conv2d_winograd_gemm.wgsl', constants: { WG: v.lanes, R: v.rows, CN: v.channels } };
  }
  return accumulate === 'f16' ? { ...summing(spec, accumulate), half: true } : spec;
}

/** The kernels in dispatch order: weight transform, input transform, GEMM, output transform. */
function winogradSpecs(v: WinogradVariant, accumulate: FloatType): KernelSpec[] {
  return [transformSpec('weight', v, accumulate), transformSpec('input', v, accumulate), gemmSpec(v, accumulate), transformSpec('output', v, accumulate)];
}

export const winogradAlgorithm: ConvAlgorithm<WinogradVariant> = {
  id: 'winograd',
  shaders: [
    ...(['weight', 'input', 'output'] as const).flatMap((stage) => [`conv2d_winograd_${stage}.wgsl`, `conv2d_winograd_${stage}_f4.wgsl`]),
    'conv2d_winograd_gemm.wgsl',
    'conv2d_winograd_gemm_subgroup.wgsl',
    'conv2d_winograd_gemm_unrolled.wgsl',
    'conv2d_winograd_gemm_unrolled_subgroup.wgsl',
  ],
  variants: (layer) => winogradCandidates(layer, layer.cls, layer.limits),
  name: winogradVariantName,
  // F(2x2) sums in f16 on f16 scratch, the transforms computing in f32 (see above).
  halfSums: (v) => (v.tile === 2 ? null : "F(4x4)'s transforms amplify f16 rounding past the accuracy check: its sums stay f32"),
  // The epilogue is a uniform of the output transform: the same kernels serve every epilogue.
  specs: (_layer, _has, v, accumulate) => winogradSpecs(v, accumulate),
  prepare(ctx, t, layer, v, accumulate, label) {
    const { g, p } = layer;
    const problem = winogradVariantProblem(layer, v, layer.limits);
    if (problem) throw new Error(`conv2d: Winograd variant ${winogradVariantName(v)} cannot run this layer: ${problem}`);
    const tiling = winogradTiles(g, p, v.tile);
    const positions = (v.tile + 2) ** 2;
    const rowsPerBlock = v.rows;
    const tileBlocks = Math.ceil(tiling.tiles / rowsPerBlock);
    const coGroups = Math.ceil(g.cout / (v.lanes * v.channels));
    const has = { bias: !!t.bias, scale: !!t.scale, residual: !!t.residual };
    // The Params struct of conv2d_winograd_params.wgsl, in declaration order.
    const uniforms = new Uniforms()
      .u32(g.N).u32(g.H).u32(g.W).u32(g.cin).u32(g.cout).u32(g.OH).u32(g.OW)
      .u32(p.dilationH).u32(p.dilationW).i32(p.padTop).i32(p.padLeft)
      .u32(tiling.h.perPhase).u32(tiling.h.tiles).u32(tiling.w.perPhase).u32(tiling.w.tiles).u32(tiling.tiles)
      .u32(tileBlocks).u32(rowsPerBlock).u32(coGroups)
      .u32(epilogueBits(p, has));
    const bytes = winogradScratchBytes(g, p, v.tile, accumulate);
    const scratch: GPUBuffer[] = [];
    const made: Dispatch[] = [];
    try {
      const buffer = (name: 'v' | 'u' | 'm', what: string) => {
        checkBindable(ctx, bytes[name], `conv2d: Winograd ${what}`);
        const b = ctx.createBuffer(bytes[name], STORAGE_USAGE, `${label}:winograd-${name}`);
        scratch.push(b);
        return b;
      };
      const U = buffer('u', `weight transform of ${positions} x ${g.cin} x ${g.cout} values`);
      const V = buffer('v', `input transform of ${positions} x ${tiling.tiles} x ${g.cin} values`);
      const M = buffer('m', `products of ${positions} x ${tiling.tiles} x ${g.cout} values`);
      const [weightSpec, inputSpec, gemm, outputSpec] = winogradSpecs(v, accumulate);
      const stage = (name: string, spec: KernelSpec, buffers: Parameters<typeof makeDispatch>[1]['buffers'], workgroups: Grid) => {
        made.push(makeDispatch(ctx, { label: `${label} winograd F${v.tile} ${name}`, spec, uniforms, buffers, workgroups }));
      };
      stage('weights', weightSpec, [t.weight, U], linearGrid(ctx, g.cin * g.cout, TRANSFORM_WG));
      stage('inputs', inputSpec, [t.input, V], linearGrid(ctx, tiling.tiles * g.cin, TRANSFORM_WG));
      stage('GEMM', gemm, [V, U, M], blockGrid(ctx, tileBlocks, positions * coGroups));
      stage('outputs', outputSpec, [M, t.bias ?? t.weight, t.scale ?? t.weight, t.residual ?? t.weight, t.out], linearGrid(ctx, tiling.tiles * g.cout, TRANSFORM_WG));
      return [{ ...made[0], ownedBuffers: scratch }, ...made.slice(1)];
    } catch (e) {
      for (const d of made) disposeDispatch(ctx, d);
      for (const b of scratch) ctx.destroyBuffer(b);
      throw e;
    }
  },
};
