// The direct kernel (conv2d_direct.wgsl): grouped and depthwise layers the depthwise tiles do
// not take (C % 4 != 0, window steps over 2), where the per-group reduction is too short for
// the GEMM tiling to pay off. A workgroup owns P adjacent output pixels of a row, a lane one
// output channel; its variant is the lane count that covers Cout (its kernel sums in f16 too,
// where half-precision programs admit it: ../../precision.ts).
import { Uniforms, makeDispatch } from '../../../gpu/dispatch.js';
import { lanesFor } from '../../candidates.js';
import { summing } from '../../precision.js';
import { type ConvAlgorithm, blockGrid, compiledKernelSize, convBuffers, epilogueBits, windowUniforms } from '../algorithm.js';

/** Output pixels per workgroup (P in conv2d_direct.wgsl). */
const DIRECT_P = 8;

export interface DirectVariant {
  /** Lanes per workgroup, one output channel each. */
  lanes: number;
}

export const directAlgorithm: ConvAlgorithm<DirectVariant> = {
  id: 'direct',
  shaders: ['conv2d_direct.wgsl'],
  variants: (layer) => (layer.p.groups > 1 ? [{ lanes: lanesFor(layer.g.cout, 1, 64) }] : []),
  // GPUs: the depthwise layers' default too. On the H100 it ran MobileNetV2 513's eight depthwise
  // shapes 2.0-12.7x faster than the depthwise tiles' default (lanes 8, 8 tiles; 0.22x their
  // summed time), faster than every depthwise tile in seven and level in one
  // (bench/results/h100-tune-513.json).
  preferred: (layer) => (layer.cls === 'gpu' && layer.p.groups > 1 ? { lanes: lanesFor(layer.g.cout, 1, 64) } : undefined),
  name: (v) => `l${v.lanes}`,
  // Its reduction is KH * KW * Cin/groups taps, in acc_t.
  halfSums: () => null,
  specs({ g, p }, _has, v, accumulate) {
    // Stride 1 without horizontal dilation lets one input row slide across the KW taps.
    const slide = p.strideW === 1 && p.dilationW === 1 ? 1 : 0;
    const constants = { WG: v.lanes, SLIDE: slide, KSIZE: compiledKernelSize(g.KH, g.KW), DEPTHWISE: g.cinPerGroup === 1 ? 1 : 0 };
    return [summing({ shader: 'conv2d_direct.wgsl', constants }, accumulate)];
  },
  prepare(ctx, t, layer, v, accumulate, label) {
    const { g, p } = layer;
    const has = { bias: !!t.bias, scale: !!t.scale, residual: !!t.residual };
    const owBlocks = Math.ceil(g.OW / DIRECT_P);
    const blocks = g.N * g.OH * owBlocks;
    const uniforms = windowUniforms(new Uniforms().u32(g.cout).u32(g.cin).u32(g.cinPerGroup).u32(g.coutPerGroup), g, p)
      .u32(owBlocks)
      .u32(blocks)
      .u32(DIRECT_P)
      .u32(epilogueBits(p, has));
    const [spec] = directAlgorithm.specs(layer, has, v, accumulate);
    return [makeDispatch(ctx, { label, spec, uniforms, buffers: convBuffers(t), workgroups: blockGrid(ctx, blocks, Math.ceil(g.cout / v.lanes)) })];
  },
};
