// The direct kernel (conv2d_direct.wgsl): grouped and depthwise layers the depthwise tiles do
// not take (C % 4 != 0, window steps over 2), where the per-group reduction is too short for
// the GEMM tiling to pay off. A workgroup owns P adjacent output pixels of a row, a lane one
// output channel; its variant is the lane count that covers Cout, and in half-precision programs
// that lane count again accumulating in f16.
import { Uniforms, makeDispatch } from '../../../gpu/dispatch.js';
import { lanesFor } from '../../candidates.js';
import { type ConvAlgorithm, type ConvLayer, F16_ACCUMULATION_ERROR, blockGrid, compiledKernelSize, convBuffers, epilogueConstants, windowUniforms } from '../algorithm.js';

/** Output pixels per workgroup (P in conv2d_direct.wgsl). */
const DIRECT_P = 8;

export interface DirectVariant {
  /** Lanes per workgroup, one output channel each. */
  lanes: number;
  /**
   * Accumulating in f16 (half-precision programs; its reduction is KH * KW * Cin/groups taps).
   * Absent: f32 accumulators.
   */
  acc16?: boolean;
}

const runs = ({ p }: ConvLayer) => p.groups > 1;

/** The default (f32 sums) first; half-precision layers also get it summing in f16 (timed where it passes its accuracy check). */
function directVariants(layer: ConvLayer): DirectVariant[] {
  if (!runs(layer)) return [];
  const v = { lanes: lanesFor(layer.g.cout, 1, 64) };
  return layer.dtype === 'f16' ? [v, { ...v, acc16: true }] : [v];
}

export const directAlgorithm: ConvAlgorithm<DirectVariant> = {
  id: 'direct',
  shaders: ['conv2d_direct.wgsl'],
  variants: directVariants,
  name: (v) => `l${v.lanes}${v.acc16 ? 'h' : ''}`,
  // f16 sums only where the program's tensors are f16 (a choice measured there may be offered to f32 ones).
  fits: (v, layer) => !v.acc16 || layer.dtype === 'f16',
  accuracy: (v) => (v.acc16 ? F16_ACCUMULATION_ERROR : undefined),
  specs({ g, p }, has, v) {
    // Stride 1 without horizontal dilation lets one input row slide across the KW taps.
    const slide = p.strideW === 1 && p.dilationW === 1 ? 1 : 0;
    return [{
      shader: 'conv2d_direct.wgsl',
      constants: { ...epilogueConstants(p, has), WG: v.lanes, SLIDE: slide, KSIZE: compiledKernelSize(g.KH, g.KW), DEPTHWISE: g.cinPerGroup === 1 ? 1 : 0 },
      ...(v.acc16 ? { accumulate: 'f16' as const } : {}),
    }];
  },
  prepare(ctx, t, layer, v, label) {
    const { g, p } = layer;
    const owBlocks = Math.ceil(g.OW / DIRECT_P);
    const blocks = g.N * g.OH * owBlocks;
    const uniforms = windowUniforms(new Uniforms().u32(g.cout).u32(g.cin).u32(g.cinPerGroup).u32(g.coutPerGroup), g, p)
      .u32(owBlocks)
      .u32(blocks)
      .u32(DIRECT_P);
    const has = { bias: !!t.bias, scale: !!t.scale, residual: !!t.residual };
    const [spec] = directAlgorithm.specs(layer, has, v);
    return [makeDispatch(ctx, { label, spec, uniforms, buffers: convBuffers(t), workgroups: blockGrid(ctx, blocks, Math.ceil(g.cout / v.lanes)) })];
  },
};
