// SegFormer's Mix Transformer (MiT) as segmentation_models_pytorch's `mit_b0`..`mit_b5` encoders,
// under smp's names (`patch_embed{s}`, `block{s}.{i}`, `norm{s}`). Each stage: an overlapping
// patch embedding (conv with bias: 7x7 stride 4 for stage 1, 3x3 stride 2 after; LayerNorm over
// channels, eps 1e-5), transformer blocks, a LayerNorm (eps 1e-6). A block is pre-norm (eps
// 1e-6): efficient self-attention, whose keys and values come from the map reduced by a conv of
// kernel = stride = sr_ratio (+ LayerNorm eps 1e-5) where sr_ratio > 1; then the Mix-FFN: fc1
// (C -> 4C), a 3x3 depthwise conv with bias on the token map, exact GELU, fc2; residual adds.
//
// Tokens stay the NHWC map [B, H, W, C] (row-major tokens are already smp's [B, H*W, C]), so
// LayerNorms and Linear layers (1x1 convs, weights HWIO [1, 1, in, out]) act on it directly.
// Only attention's heads become rank-3 batches [B * heads, tokens, head size].
//
// smp's output-stride surgery (make_dilated) on the /16 stage (patch_embed3, block3, norm3) and
// the /32 one: every conv in a stage past the output stride runs at stride 1, dilation `rate`,
// padding (k // 2) * rate: the patch embedding, the reduction conv (so a 2x2 one gets padding
// `rate` and keys/values from a map larger than the block's) and the depthwise conv.
import type { GraphBuilder } from '../../graph/builder.js';
import type { Value } from '../../graph/ir.js';
import { conv } from './layers.js';

/** A MiT variant: per stage its width, heads, blocks and key/value reduction (smp's mix_transformer_encoders). */
export interface MixTransformerSpec {
  dims: readonly number[];
  heads: readonly number[];
  depths: readonly number[];
  srRatios: readonly number[];
}

export interface SmpMixTransformerOptions {
  outputStride: number;
  /** smp's encoder_depth (3..5): stages built are depth - 1. */
  depth: number;
  prefix: string;
}

const PATCH_NORM_EPS = 1e-5;
const REDUCTION_NORM_EPS = 1e-5;
const BLOCK_NORM_EPS = 1e-6;
const MLP_RATIO = 4;

function layerNorm(b: GraphBuilder, x: Value, p: string, eps: number): Value {
  const c = x.shape[3];
  return b.layerNorm(p, x, { gamma: b.param(`${p}.weight`, [c]), beta: b.param(`${p}.bias`, [c]) }, { eps });
}

/** A Linear layer on the token map: a 1x1 conv with bias. */
function linear(b: GraphBuilder, x: Value, p: string, cout: number): Value {
  return conv(b, x, { name: p, kernel: 1, cout, bias: true });
}

/** A conv under the surgery: at `rate` > 1 stride 1, dilation rate, padding (k // 2) * rate. */
function dilatedConv(b: GraphBuilder, x: Value, o: { name: string; kernel: number; cout: number; stride: number; padding: number; groups?: number; rate: number }): Value {
  const dilated = o.rate > 1;
  return conv(b, x, {
    name: o.name,
    kernel: o.kernel,
    cout: o.cout,
    groups: o.groups,
    bias: true,
    stride: dilated ? 1 : o.stride,
    dilation: o.rate,
    padding: dilated ? (o.kernel >> 1) * o.rate : o.padding,
  });
}

/** Efficient self-attention (smp's Attention) on the normed map [B, H, W, C]. */
function attention(b: GraphBuilder, x: Value, p: string, o: { heads: number; sr: number; rate: number }): Value {
  const [B, H, W, C] = x.shape;
  const heads = o.heads;
  const d = C / heads;
  const N = H * W;
  const q = b.permute(`${p}.q.heads`, linear(b, x, `${p}.q`, C), { view: [B, N, heads, d], perm: [0, 2, 1, 3], shape: [B * heads, N, d] });
  let source = x;
  if (o.sr > 1) {
    source = dilatedConv(b, x, { name: `${p}.sr`, kernel: o.sr, cout: C, stride: o.sr, padding: 0, rate: o.rate });
    source = layerNorm(b, source, `${p}.norm`, REDUCTION_NORM_EPS);
  }
  const M = source.shape[1] * source.shape[2];
  // kv's channels are [k | v], each split into heads: viewed [B, M, 2, heads, d] and read as a
  // map [B, 2, heads * M, d] whose two rows are k and v (each cropped out), in head-major order.
  const kv = b.permute(`${p}.kv.split`, linear(b, source, `${p}.kv`, 2 * C), { view: [B, M, 2, heads, d], perm: [0, 2, 3, 1, 4], shape: [B, 2, heads * M, d] });
  const k = b.reshape(`${p}.k.heads`, b.pad(`${p}.k`, kv, { top: 0, bottom: -1, left: 0, right: 0 }), [B * heads, M, d]);
  const v = b.reshape(`${p}.v.heads`, b.pad(`${p}.v`, kv, { top: -1, bottom: 0, left: 0, right: 0 }), [B * heads, M, d]);
  const scores = b.matmul(`${p}.scores`, q, k, { transB: true, alpha: d ** -0.5 });
  const context = b.matmul(`${p}.context`, b.softmax(`${p}.softmax`, scores), v);
  const merged = b.permute(`${p}.merge_heads`, context, { view: [B, heads, N, d], perm: [0, 2, 1, 3], shape: [B, H, W, C] });
  return linear(b, merged, `${p}.proj`, C);
}

/** One block (smp's Block): attention and Mix-FFN, each pre-norm with a residual. */
function block(b: GraphBuilder, x: Value, p: string, o: { heads: number; sr: number; rate: number }): Value {
  const C = x.shape[3];
  const h = b.addValues(`${p}.attn_residual`, x, attention(b, layerNorm(b, x, `${p}.norm1`, BLOCK_NORM_EPS), `${p}.attn`, o));
  const hidden = C * MLP_RATIO;
  let y = linear(b, layerNorm(b, h, `${p}.norm2`, BLOCK_NORM_EPS), `${p}.mlp.fc1`, hidden);
  y = conv(b, y, { name: `${p}.mlp.dwconv.dwconv`, kernel: 3, cout: hidden, groups: hidden, bias: true, dilation: o.rate, padding: o.rate, activation: 'gelu' });
  return b.addValues(`${p}.mlp_residual`, h, linear(b, y, `${p}.mlp.fc2`, C));
}

/**
 * The encoder on an NHWC image: its stage outputs at /4, /8, /16, /32 (as many as depth - 1).
 * smp hands on an empty /2 feature before them; the caller (smp-encoders.ts) places it.
 */
export function buildSmpMixTransformer(b: GraphBuilder, image: Value, spec: MixTransformerSpec, o: SmpMixTransformerOptions): Value[] {
  const features: Value[] = [];
  let x = image;
  for (let s = 0; s < o.depth - 1; s++) {
    const stageStride = 4 * 2 ** s;
    const rate = stageStride > o.outputStride ? stageStride / o.outputStride : 1;
    const n = s + 1;
    const first = s === 0;
    x = dilatedConv(b, x, { name: `${o.prefix}.patch_embed${n}.proj`, kernel: first ? 7 : 3, cout: spec.dims[s], stride: first ? 4 : 2, padding: first ? 3 : 1, rate });
    x = layerNorm(b, x, `${o.prefix}.patch_embed${n}.norm`, PATCH_NORM_EPS);
    for (let i = 0; i < spec.depths[s]; i++) x = block(b, x, `${o.prefix}.block${n}.${i}`, { heads: spec.heads[s], sr: spec.srRatios[s], rate });
    x = layerNorm(b, x, `${o.prefix}.norm${n}`, BLOCK_NORM_EPS);
    features.push(x);
  }
  return features;
}
