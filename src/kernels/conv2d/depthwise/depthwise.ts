// Depthwise layers (groups == Cin == Cout) with C % 4 == 0 on vec4 tiles
// (conv2d_depthwise.wgsl): a lane owns 4 channels and a TR x TP tile of output pixels, a
// workgroup walks consecutive tiles. Dilation and stride keep a sliding window through a
// "comb" of outputs phaseStep apart (window step 1 or 2). The variants: lanes per workgroup
// and tiles a workgroup walks.
import { type Grid, Uniforms, makeDispatch } from '../../../gpu/dispatch.js';
import { distinctValid } from '../../candidates.js';
import { type ConvAlgorithm, type ConvLayer, compiledKernelSize, convBuffers, epilogueConstants, windowUniforms } from '../algorithm.js';
import type { Conv2dParams, ConvGeometry } from '../params.js';

export interface DepthwiseVariant {
  /** Lanes per workgroup, 4 channels each. */
  lanes: number;
  /** Consecutive output tiles a workgroup walks, sharing its weight loads and cached input columns. */
  tilesPerGroup: number;
}

// The tile (TR x TP in conv2d_depthwise.wgsl): 4x4 measured fastest on lavapipe; larger tiles spill.
const DW_TR = 4;
const DW_TP = 4;
// A workgroup walks fewer tiles when that would leave fewer than this many workgroups, so small
// layers still spread over all cores / SMs.
const DW_MIN_GROUPS = 256;

export function depthwiseVariantName(v: DepthwiseVariant): string {
  return `l${v.lanes}t${v.tilesPerGroup}`;
}

export function parseDepthwiseVariant(name: string): DepthwiseVariant | null {
  const m = /^l(\d+)t(\d+)$/.exec(name);
  return m ? { lanes: Number(m[1]), tilesPerGroup: Number(m[2]) } : null;
}

/**
 * The default everywhere: 8 lanes (one lavapipe SIMD batch; divides the common channel counts,
 * 32 .. 960) and 8 tiles a workgroup (1.1-1.4x faster than 1 on lavapipe). The launch takes fewer
 * tiles a workgroup where that would leave too few workgroups.
 */
export function defaultDepthwiseVariant(): DepthwiseVariant {
  return { lanes: 8, tilesPerGroup: 8 };
}

/** The comb a tile walks along one axis: outputs `phaseStep` apart read a window of inputs `dilation` apart with window step `ss`. */
function comb(stride: number, dilation: number): { phaseStep: number; ss: number } {
  const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));
  const d = gcd(stride, dilation);
  return { phaseStep: dilation / d, ss: stride / d };
}

/** Depthwise (one input channel per group, Cout == Cin) with C % 4 == 0 and window steps <= 2. */
export function runsDepthwise({ g, p }: { g: ConvGeometry; p: Conv2dParams }): boolean {
  return (
    p.groups === g.cin && g.cinPerGroup === 1 && g.cout === g.cin && g.cin % 4 === 0 &&
    comb(p.strideH, p.dilationH).ss <= 2 && comb(p.strideW, p.dilationW).ss <= 2
  );
}

/** The candidates for a depthwise layer of `channels` channels, the default first. */
export function depthwiseCandidates(channels: number, maxInvocations: number): DepthwiseVariant[] {
  const out = [defaultDepthwiseVariant()];
  for (const lanes of [8, 16, 32, 64]) {
    // Lanes past what the channels need would idle.
    if (lanes > 8 && (lanes / 2) * 4 >= channels) continue;
    if (lanes > maxInvocations) continue;
    for (const tilesPerGroup of [1, 2, 4, 8, 16]) out.push({ lanes, tilesPerGroup });
  }
  return distinctValid(out, depthwiseVariantName, () => null);
}

/** Tiles along one axis: phases x tiles per phase. */
function axisTiles(outSize: number, stride: number, dilation: number, tile: number): { phaseStep: number; perPhase: number; tiles: number } {
  const { phaseStep } = comb(stride, dilation);
  // Phase k holds outputs k, k + phaseStep, ...; the longest (phase 0) sets the tiles per
  // phase, and phases past the output size would be empty.
  const perPhase = Math.ceil(Math.ceil(outSize / phaseStep) / tile);
  return { phaseStep, perPhase, tiles: Math.min(phaseStep, outSize) * perPhase };
}

export const depthwiseAlgorithm: ConvAlgorithm<DepthwiseVariant> = {
  id: 'depthwise',
  variants: (layer) => (runsDepthwise(layer) ? depthwiseCandidates(layer.g.cout, layer.limits.maxComputeInvocationsPerWorkgroup) : []),
  name: depthwiseVariantName,
  specs({ g, p }, has, v) {
    // Only the window step class (1 or 2) specialises, never a size.
    return [{
      shader: 'conv2d_depthwise.wgsl',
      constants: { ...epilogueConstants(p, has), WG: v.lanes, KSIZE: compiledKernelSize(g.KH, g.KW), SSH: comb(p.strideH, p.dilationH).ss, SSW: comb(p.strideW, p.dilationW).ss },
    }];
  },
  prepare(ctx, t, layer, v, label) {
    const { g, p } = layer;
    const rows = axisTiles(g.OH, p.strideH, p.dilationH, DW_TR);
    const cols = axisTiles(g.OW, p.strideW, p.dilationW, DW_TP);
    const tiles = g.N * rows.tiles * cols.tiles;
    const channelBlocks = Math.ceil(g.cout / 4 / v.lanes);
    let perGroup = v.tilesPerGroup;
    while (perGroup > 1 && Math.ceil(tiles / perGroup) * channelBlocks < DW_MIN_GROUPS) perGroup /= 2;
    // The DwParams struct, in declaration order.
    const uniforms = windowUniforms(new Uniforms().u32(g.cout / 4), g, p)
      .u32(rows.phaseStep)
      .u32(cols.phaseStep)
      .u32(rows.perPhase)
      .u32(rows.tiles)
      .u32(cols.perPhase)
      .u32(cols.tiles)
      .u32(tiles)
      .u32(perGroup);
    // Tile groups in x (consecutive workgroups share input rows in cache), channel blocks in y,
    // tile groups spilling into z past the per-dimension cap.
    const groups = Math.ceil(tiles / perGroup);
    const maxDim = ctx.limits.maxComputeWorkgroupsPerDimension;
    if (channelBlocks > maxDim) throw new Error(`conv2d: ${channelBlocks} channel blocks exceed the grid limit ${maxDim}`);
    const z = Math.ceil(groups / maxDim);
    if (z > maxDim) throw new Error(`conv2d: ${tiles} pixel tiles exceed the grid limit`);
    const grid: Grid = [Math.ceil(groups / z), channelBlocks, z];
    const has = { bias: !!t.bias, scale: !!t.scale, residual: !!t.residual };
    const [spec] = depthwiseAlgorithm.specs(layer, has, v);
    return [makeDispatch(ctx, { label, spec, uniforms, buffers: convBuffers(t), workgroups: grid })];
  },
};
