// Depthwise layers (groups == Cin == Cout) with C % 4 == 0 on vec4 tiles
// (conv2d_depthwise.wgsl): a lane owns 4 channels and a TR x TP tile of output pixels, a
// workgroup walks consecutive tiles. Dilation and stride keep a sliding window through a
// "comb" of outputs phaseStep apart (window step 1 or 2). The variants: lanes per workgroup,
// tiles a workgroup walks, and the kernel: the looped 4 x 4 tile, or a tile written out as
// straight-line code (conv2d_depthwise_unrolled.wgsl, for drivers that run shaders as written).
import { type Grid, Uniforms, makeDispatch } from '../../../gpu/dispatch.js';
import { type AdapterClass, distinctValid } from '../../candidates.js';
import { summing } from '../../precision.js';
import { type ConvAlgorithm, compiledKernelSize, convBuffers, epilogueBits, windowUniforms } from '../algorithm.js';
import type { Conv2dParams, ConvGeometry } from '../params.js';

export interface DepthwiseVariant {
  /** Lanes per workgroup, 4 channels each. */
  lanes: number;
  /** Consecutive output tiles a workgroup walks, sharing its weight loads and cached input columns. */
  tilesPerGroup: number;
  /** The tile written out as straight-line code, rows x columns of outputs; absent: the looped 4 x 4 kernel. */
  unrolled?: { rows: number; cols: number };
}

// The looped kernel's tile (TR x TP in conv2d_depthwise.wgsl): 4x4 measured fastest on lavapipe;
// larger tiles spill.
const DW_TR = 4;
const DW_TP = 4;
/** The unrolled kernel's window (input values a tile reads) at most: each is a variable in the source. */
const UNROLLED_WINDOW_MAX = 100;
// A workgroup walks fewer tiles when that would leave fewer than this many workgroups, so small
// layers still spread over all cores / SMs.
const DW_MIN_GROUPS = 256;

export function depthwiseVariantName(v: DepthwiseVariant): string {
  return `l${v.lanes}t${v.tilesPerGroup}${v.unrolled ? `u${v.unrolled.rows}x${v.unrolled.cols}` : ''}`;
}

/**
 * What runs untuned: 8 lanes (one lavapipe SIMD batch; divides the common channel counts,
 * 32 .. 960) and 8 tiles a workgroup (1.1-1.4x faster than 1 on lavapipe); on SwiftShader a tile
 * written out, 4 x 4, or 2 x 4 where the window steps by 2 (stride 2): there the 4 x 4 tile's
 * 9 x 9 window took 0.56 s to compile against 0.19 s, and ran no faster. The launch takes fewer
 * tiles a workgroup where that would leave too few workgroups.
 */
export function defaultDepthwiseVariant(cls: AdapterClass = 'software', p?: Conv2dParams): DepthwiseVariant {
  if (cls !== 'swiftshader') return { lanes: 8, tilesPerGroup: 8 };
  const steps2 = !!p && (comb(p.strideH, p.dilationH).ss > 1 || comb(p.strideW, p.dilationW).ss > 1);
  return { lanes: 8, tilesPerGroup: 8, unrolled: steps2 ? { rows: 2, cols: 4 } : { rows: 4, cols: 4 } };
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

/** Why `v` cannot run the layer, or null. */
function depthwiseProblem(v: DepthwiseVariant, { g, p }: { g: ConvGeometry; p: Conv2dParams }, maxInvocations: number): string | null {
  if (v.lanes > maxInvocations) return `${v.lanes} lanes exceed the device's ${maxInvocations} invocations per workgroup`;
  if (!v.unrolled) return null;
  const { nr, nc } = unrolledWindow(v.unrolled, g, p);
  if (nr * nc > UNROLLED_WINDOW_MAX) return `a window of ${nr} x ${nc} input values exceeds the ${UNROLLED_WINDOW_MAX} written out`;
  return null;
}

/** The input window an unrolled tile reads: rows and columns. */
function unrolledWindow(tile: { rows: number; cols: number }, g: ConvGeometry, p: Conv2dParams): { nr: number; nc: number } {
  return { nr: (tile.rows - 1) * comb(p.strideH, p.dilationH).ss + g.KH, nc: (tile.cols - 1) * comb(p.strideW, p.dilationW).ss + g.KW };
}

/**
 * The candidates for a depthwise layer on an adapter of class `cls`, the default first: lanes
 * and tiles a workgroup for the looped kernel, and on SwiftShader the unrolled tiles.
 */
export function depthwiseCandidates(layer: { g: ConvGeometry; p: Conv2dParams }, cls: AdapterClass, maxInvocations: number): DepthwiseVariant[] {
  const channels = layer.g.cout;
  const out = [defaultDepthwiseVariant(cls, layer.p)];
  for (const lanes of [8, 16, 32, 64]) {
    // Lanes past what the channels need would idle.
    if (lanes > 8 && (lanes / 2) * 4 >= channels) continue;
    for (const tilesPerGroup of [1, 2, 4, 8, 16]) out.push({ lanes, tilesPerGroup });
  }
  if (cls === 'swiftshader') {
    // Tiles written out, for drivers that keep loops and arrays as written. (Lavapipe's compiler
    // unrolls the looped kernel itself, and takes seconds over these.)
    for (const [rows, cols] of [[4, 4], [2, 4]]) {
      for (const [lanes, tilesPerGroup] of [[8, 8], [4, 8]]) out.push({ lanes, tilesPerGroup, unrolled: { rows, cols } });
    }
  }
  const valid = distinctValid(out, depthwiseVariantName, (v) => depthwiseProblem(v, layer, maxInvocations));
  // Most promising first (a budgeted tuner tries them in this order): on SwiftShader the tiles
  // written out.
  return cls === 'swiftshader' ? [valid[0], ...valid.slice(1).filter((v) => v.unrolled), ...valid.slice(1).filter((v) => !v.unrolled)] : valid;
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
  shaders: ['conv2d_depthwise.wgsl', 'conv2d_depthwise_unrolled.wgsl'],
  variants: (layer) => (runsDepthwise(layer) ? depthwiseCandidates(layer, layer.cls, layer.limits.maxComputeInvocationsPerWorkgroup) : []),
  name: depthwiseVariantName,
  // The looped kernel's reduction is only the KH x KW taps, in acc_t.
  halfSums: (v) => (v.unrolled ? 'the written-out tiles accumulate in f32 only' : null),
  specs({ g, p }, has, v, accumulate) {
    const ssh = comb(p.strideH, p.dilationH).ss;
    const ssw = comb(p.strideW, p.dilationW).ss;
    if (v.unrolled) {
      // The tile, the kernel and the window steps are written out: module constants. The epilogue
      // stays an override constant (unlike the looped kernel's uniform): read at run time, each
      // pipeline compiled 1.5-2x slower on SwiftShader, as slow in all as a pipeline per epilogue.
      const { nr, nc } = unrolledWindow(v.unrolled, g, p);
      const consts = { TR: v.unrolled.rows, TP: v.unrolled.cols, KH: g.KH, KW: g.KW, SSH: ssh, SSW: ssw, NR: nr, NC: nc };
      return [{ shader: 'conv2d_depthwise_unrolled.wgsl', consts, constants: { EPILOGUE: epilogueBits(p, has), WG: v.lanes } }];
    }
    // Only the window step class (1 or 2) specialises, never a size.
    return [summing({ shader: 'conv2d_depthwise.wgsl', constants: { WG: v.lanes, KSIZE: compiledKernelSize(g.KH, g.KW), SSH: ssh, SSW: ssw } }, accumulate)];
  },
  prepare(ctx, t, layer, v, accumulate, label) {
    const { g, p } = layer;
    const has = { bias: !!t.bias, scale: !!t.scale, residual: !!t.residual };
    const rows = axisTiles(g.OH, p.strideH, p.dilationH, v.unrolled?.rows ?? DW_TR);
    const cols = axisTiles(g.OW, p.strideW, p.dilationW, v.unrolled?.cols ?? DW_TP);
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
      .u32(perGroup)
      .u32(epilogueBits(p, has));
    // Tile groups in x (consecutive workgroups share input rows in cache), channel blocks in y,
    // tile groups spilling into z past the per-dimension cap.
    const groups = Math.ceil(tiles / perGroup);
    const maxDim = ctx.limits.maxComputeWorkgroupsPerDimension;
    if (channelBlocks > maxDim) throw new Error(`conv2d: ${channelBlocks} channel blocks exceed the grid limit ${maxDim}`);
    const z = Math.ceil(groups / maxDim);
    if (z > maxDim) throw new Error(`conv2d: ${tiles} pixel tiles exceed the grid limit`);
    const grid: Grid = [Math.ceil(groups / z), channelBlocks, z];
    const [spec] = depthwiseAlgorithm.specs(layer, has, v, accumulate);
    return [makeDispatch(ctx, { label, spec, uniforms, buffers: convBuffers(t), workgroups: grid })];
  },
};
