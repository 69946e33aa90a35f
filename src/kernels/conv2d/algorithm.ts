// One way of computing a convolution (the implicit GEMM, the depthwise tiles, the direct
// kernel, ...; a gradient's kernels likewise), as its family's selection sees it: which layers
// it can run, the variants it offers for a layer (its candidate space, the adapter class's
// default first), and how a variant compiles and launches. family.ts makes a layer's space and
// choice from a family's list of algorithms (conv2d.ts lists the forward's); the tuner times
// every candidate of every algorithm that can run a layer, and programs run the fastest.
// Also here: what the algorithms' launches share (the epilogue bits, the binding list,
// the window fields of their params structs, the 3-D grid).
import type { GpuContext } from '../../gpu/context.js';
import type { Dispatch, Grid, Uniforms } from '../../gpu/dispatch.js';
import type { KernelLimits } from '../../gpu/kernel-limits.js';
import type { KernelOptions } from '../../gpu/kernel-options.js';
import type { KernelSpec } from '../../gpu/pipeline-cache.js';
import { type GpuTensor, shapeString } from '../../gpu/tensor.js';
import type { FloatType } from '../../gpu/tuning.js';
import { activationCode } from '../activation/activation.js';
import type { AdapterClass } from '../candidates.js';
import { summedName } from '../precision.js';
import type { Conv2dParams, ConvGeometry } from './params.js';

/** One layer as the algorithms choose for it. */
export interface ConvLayer {
  g: ConvGeometry;
  p: Conv2dParams;
  cls: AdapterClass;
  limits: KernelLimits;
  /** The program's tensor type (half-precision programs store f16). */
  dtype: FloatType;
}

export interface Conv2dOperands {
  /** [N, H, W, Cin] */
  input: GpuTensor;
  /** HWIO [KH, KW, Cin/groups, Cout] */
  weight: GpuTensor;
  /** [Cout], added after scale. */
  bias?: GpuTensor;
  /** [Cout], per-channel multiplier (a folded batch norm kept separate). */
  scale?: GpuTensor;
  /** [N, OH, OW, Cout], added before the activation. */
  residual?: GpuTensor;
  /** [N, OH, OW, Cout] */
  out: GpuTensor;
}

/** Which epilogue operands a layer has. */
export interface EpilogueSlots {
  bias: boolean;
  scale: boolean;
  residual: boolean;
}

/**
 * One way of computing a layer of a convolution family (the forward's operands and epilogue by
 * default; the gradients' families have their own, conv2d-backward/): its variants for a layer,
 * and how a variant compiles and launches at an accumulation type (f32, or f16 where its
 * kernel can: ../precision.ts makes the candidates).
 */
export interface ConvAlgorithm<V, O = Conv2dOperands, S = EpilogueSlots> {
  /** Its name, the prefix of its candidates' names ('gemm/r16c8l8k1'). */
  readonly id: string;
  /** Every WGSL file its variants compile: the family's space version is their hash (a test checks the list is whole). */
  readonly shaders: readonly string[];
  /** Its valid variants for the layer, its default for the layer's adapter class first; none where it cannot run the layer. */
  variants(layer: ConvLayer): V[];
  /** A short stable name for a variant (the tuning store keeps choices by it). */
  name(v: V): string;
  /**
   * The layer's default where the family's order of algorithms would give another (half-precision
   * programs on tensor cores; depthwise layers on GPUs); a stored choice still replaces it.
   */
  preferred?(layer: ConvLayer): V | undefined;
  /**
   * Why `v`'s kernel cannot sum in f16, or null where it can (then half-precision layers also
   * get it summing in f16: ../precision.ts). Absent: the algorithm sums in f32 only.
   */
  halfSums?(v: V): string | null;
  /** A chosen variant adjusted to the context's kernel options (split-K modes). */
  settle?(v: V, layer: ConvLayer, options: KernelOptions): V;
  /** The kernels the layer compiles with `v` summing in `accumulate`. */
  specs(layer: ConvLayer, has: S, v: V, accumulate: FloatType): KernelSpec[];
  /** The dispatches of the layer with `v` summing in `accumulate`, on operands the family has checked. */
  prepare(ctx: GpuContext, t: O, layer: ConvLayer, v: V, accumulate: FloatType, label: string): Dispatch[];
}

/** An algorithm, one of its variants and the type it sums in: what a layer runs. */
export interface ConvChoice<O = Conv2dOperands, S = EpilogueSlots> {
  readonly algorithm: ConvAlgorithm<unknown, O, S>;
  readonly variant: unknown;
  readonly accumulate: FloatType;
}

export function convChoice<V, O, S>(algorithm: ConvAlgorithm<V, O, S>, variant: V, accumulate: FloatType = 'f32'): ConvChoice<O, S> {
  return { algorithm: algorithm as unknown as ConvAlgorithm<unknown, O, S>, variant, accumulate };
}

/** 'gemm/r16c8l8k1', 'gemm/r16c8l8k1h' (summing in f16) */
export function convChoiceName(c: ConvChoice<unknown, unknown>): string {
  return summedName(`${c.algorithm.id}/${c.algorithm.name(c.variant)}`, c.accumulate);
}

/**
 * The epilogue as one number: bit 0 bias, bit 1 scale, bit 2 residual, bits 8-15 the activation's
 * code. The kernels read it at run time from their uniforms (one pipeline then serves every
 * epilogue: each distinct shader is a compile, seconds each on software adapters), except the
 * written-out depthwise tiles, which take it as an override constant.
 */
export function epilogueBits(p: Conv2dParams, has: EpilogueSlots): number {
  return (has.bias ? 1 : 0) | (has.scale ? 2 : 0) | (has.residual ? 4 : 0) | (activationCode(p.activation ?? 'none') << 8);
}

/** The bindings every conv kernel takes (conv2d_bindings.wgsl); unused epilogue slots get the weight. */
export function convBuffers(t: Conv2dOperands): GpuTensor[] {
  return [t.input, t.weight, t.bias ?? t.weight, t.scale ?? t.weight, t.residual ?? t.weight, t.out];
}

/** A dispatch's label: the layer's kernel, stride, rate, groups and shapes. */
export function convLabel(t: Conv2dOperands, layer: ConvLayer): string {
  const { g, p } = layer;
  return `conv2d(${g.KH}x${g.KW} s${p.strideH}x${p.strideW} d${p.dilationH}x${p.dilationW} g${p.groups}` +
    `${p.activation && p.activation !== 'none' ? ' ' + p.activation : ''}) ${shapeString(t.input.shape)}->${shapeString(t.out.shape)}`;
}

/** The window fields all conv params structs share, in their order: sizes, kernel, strides, rates, pads. */
export function windowUniforms(u: Uniforms, g: ConvGeometry, p: Conv2dParams): Uniforms {
  return u
    .u32(g.H)
    .u32(g.W)
    .u32(g.OH)
    .u32(g.OW)
    .u32(g.KH)
    .u32(g.KW)
    .u32(p.strideH)
    .u32(p.strideW)
    .u32(p.dilationH)
    .u32(p.dilationW)
    .i32(p.padTop)
    .i32(p.padLeft);
}

/** Channel blocks in x, pixel blocks in y, spilling into z past the per-dimension cap. */
export function blockGrid(ctx: GpuContext, mTiles: number, nTiles: number): Grid {
  const maxDim = ctx.limits.maxComputeWorkgroupsPerDimension;
  if (nTiles > maxDim) throw new Error(`conv2d: ${nTiles} output-channel tiles exceed the grid limit ${maxDim}`);
  const z = Math.ceil(mTiles / maxDim);
  if (z > maxDim) throw new Error(`conv2d: ${mTiles} pixel tiles exceed the grid limit`);
  return [nTiles, Math.ceil(mTiles / z), z];
}

/** 3x3 and 5x5 become compile-time loop bounds; other sizes are read from params. */
export function compiledKernelSize(KH: number, KW: number): number {
  return KH === KW && (KH === 3 || KH === 5) ? KH : 0;
}
