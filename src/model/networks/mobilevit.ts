// MobileViT (v1) DeepLabV3 as `transformers` builds it (MobileViTForSemanticSegmentation), from
// a plain configuration object carrying config.json's architectural values.
//
// Backbone: a 3x3 stride-2 stem, two stages of MobileNetV2 inverted residuals, then three
// MobileViT blocks, each: [an inverted residual that downsamples] -> local kxk conv -> 1x1 conv
// to the transformer width -> unfold into patch sequences -> transformer layers (pre-norm
// attention and MLP) -> layer norm -> fold back -> 1x1 projection -> concat with the block's
// input -> kxk fusion conv. Output stride 16 dilates the last block (8: the last two): its
// downsampling residual keeps stride 1 at half the dilation. Convolutions are conv -> batch
// norm -> SiLU unless noted; linear layers on tokens are 1x1 convolutions on [tokens, N, 1, C].
// Head: ASPP on the last block (1x1, three atrous 3x3, image pooling; ReLU), 1x1 classifier.
//
// Parameters carry the checkpoint's names in our layouts (conv weights HWIO, linear weights as
// 1x1 HWIO), so loading a hub checkpoint is only a layout change.
import { GraphBuilder } from '../../graph/builder.js';
import type { Graph, Value } from '../../graph/ir.js';
import type { Activation } from '../../kernels/activation/activation.js';
import { inversePermute } from '../../kernels/layout/permute.js';
import { aspp } from './aspp.js';
import { conv, convBnAct } from './layers.js';
import { makeDivisible } from './mobilenet-v3.js';
import { type MobileVitConfig, type MobileVitHeadValues, validateMobileVitConfig } from './mobilevit-config.js';
import { roundHalfEven } from '../../util/round-half-even.js';

export interface MobileVitOptions {
  /** Also output 'logits_raw': the classifier's output at the network's stride (transformers' `logits`). */
  extraOutputs?: boolean;
  /** Training: the dropout transformers trains with (the transformer's and the head's), seeded by the u32 input 'dropout_seed'. */
  dropout?: boolean;
}

/** transformers builds every batch norm of this network with eps 1e-5 and momentum 0.1. */
const BN = { eps: 1e-5, momentum: 0.1 };
/** The number of transformer layers of the three MobileViT blocks (fixed by the architecture). */
const TRANSFORMER_DEPTHS = [2, 4, 3];

/** conv -> BN -> activation under transformers' names `<p>.convolution`, `<p>.normalization` (MobileViTConvLayer, which MobileViTV2 copies). */
export function convLayer(b: GraphBuilder, x: Value, p: string, o: { kernel: number; cout: number; stride?: number; dilation?: number; groups?: number; activation: Activation }): Value {
  return convBnAct(b, x, { name: `${p}.convolution`, bn: `${p}.normalization`, ...BN, ...o });
}

/** MobileNetV2's inverted residual (MobileViTInvertedResidual, which MobileViTV2 copies). */
export function invertedResidual(b: GraphBuilder, x: Value, p: string, cfg: Pick<MobileVitConfig, 'expandRatio' | 'hiddenAct'>, o: { cout: number; stride: number; dilation?: number }): Value {
  const cin = x.shape[3];
  const expanded = makeDivisible(roundHalfEven(cin * cfg.expandRatio), 8);
  const act = cfg.hiddenAct;
  let y = convLayer(b, x, `${p}.expand_1x1`, { kernel: 1, cout: expanded, activation: act });
  y = convLayer(b, y, `${p}.conv_3x3`, { kernel: 3, cout: expanded, stride: o.stride, dilation: o.dilation, groups: expanded, activation: act });
  y = convLayer(b, y, `${p}.reduce_1x1`, { kernel: 1, cout: o.cout, activation: 'none' });
  return o.stride === 1 && cin === o.cout ? b.addValues(`${p}.residual`, x, y) : y;
}

/** A linear layer on tokens [T, N, 1, C]: a 1x1 convolution, weight [1,1,C,cout], bias [cout]. */
function linear(b: GraphBuilder, x: Value, p: string, cout: number, bias: boolean, activation: Activation = 'none'): Value {
  return conv(b, x, { name: p, kernel: 1, cout, bias, activation });
}

function layerNorm(b: GraphBuilder, x: Value, p: string, eps: number): Value {
  const c = x.shape[x.shape.length - 1];
  return b.layerNorm(p, x, { gamma: b.param(`${p}.weight`, [c]), beta: b.param(`${p}.bias`, [c]) }, { eps });
}

/** `x` dropped at rate `p` where training asks for dropout (transformers' nn.Dropout). */
function dropped(b: GraphBuilder, x: Value, name: string, p: number, training: boolean): Value {
  return training && p > 0 ? b.dropout(name, x, p) : x;
}

/** Multi-head self-attention over tokens [T, N, 1, C] (MobileViTSelfAttention + MobileViTSelfOutput). */
function attention(b: GraphBuilder, x: Value, p: string, cfg: MobileVitConfig, training: boolean): Value {
  const [T, N, , C] = x.shape;
  const heads = cfg.numAttentionHeads;
  const d = C / heads;
  // [T, N, heads * d] -> [T * heads, N, d]: each head's tokens as one batch item of the products.
  const split = (v: Value, name: string): Value => b.permute(`${p}.${name}.heads`, v, { view: [T, N, heads, d], perm: [0, 2, 1, 3], shape: [T * heads, N, d] });
  const [q, k, v] = (['query', 'key', 'value'] as const).map((n) => split(linear(b, x, `${p}.attention.${n}`, C, cfg.qkvBias), n));
  const scores = b.matmul(`${p}.attention.scores`, q, k, { transB: true, alpha: 1 / Math.sqrt(d) });
  const weights = dropped(b, b.softmax(`${p}.attention.softmax`, scores), `${p}.attention.dropout`, cfg.attentionProbsDropoutProb, training);
  const context = b.matmul(`${p}.attention.context`, weights, v);
  const merged = b.permute(`${p}.attention.merge_heads`, context, { view: [T, heads, N, d], perm: [0, 2, 1, 3], shape: [T, N, 1, C] });
  return dropped(b, linear(b, merged, `${p}.output.dense`, C, true), `${p}.output.dropout`, cfg.hiddenDropoutProb, training);
}

/** One pre-norm transformer layer (MobileViTTransformerLayer). */
function transformerLayer(b: GraphBuilder, x: Value, p: string, cfg: MobileVitConfig, training: boolean): Value {
  const C = x.shape[3];
  const h = b.addValues(`${p}.attention_residual`, x, attention(b, layerNorm(b, x, `${p}.layernorm_before`, cfg.layerNormEps), `${p}.attention`, cfg, training));
  const inner = linear(b, layerNorm(b, h, `${p}.layernorm_after`, cfg.layerNormEps), `${p}.intermediate.dense`, Math.trunc(C * cfg.mlpRatio), true, cfg.hiddenAct);
  const out = dropped(b, linear(b, inner, `${p}.output.dense`, C, true), `${p}.output.dropout`, cfg.hiddenDropoutProb, training);
  return b.addValues(`${p}.output_residual`, h, out);
}

/**
 * transformers' unfolding of a map [B, H, W, C] (H, W multiples of the patch) into patch
 * sequences [B * P, N, 1, C]: sequence i holds the pixel at offset i of every patch (P = patch
 * area), its tokens the patches in row-major order. Returns the parameters; folding is their inverse.
 */
export function unfoldingPermute(shape: readonly number[], patch: number): { view: number[]; perm: number[]; shape: number[] } {
  const [B, H, W, C] = shape;
  if (H % patch !== 0 || W % patch !== 0) throw new Error(`unfolding: ${H}x${W} is not a multiple of the ${patch}x${patch} patch`);
  const [nh, nw] = [H / patch, W / patch];
  return { view: [B, nh, patch, nw, patch, C], perm: [0, 2, 4, 1, 3, 5], shape: [B * patch * patch, nh * nw, 1, C] };
}

/** A MobileViT block (MobileViTLayer). */
function mobileVitBlock(b: GraphBuilder, x: Value, p: string, cfg: MobileVitConfig, o: { cout: number; hidden: number; depth: number; dilation: number; training: boolean }): Value {
  const act = cfg.hiddenAct;
  // The block always halves the map unless dilated; then it keeps the size at half the rate.
  const down = invertedResidual(b, x, `${p}.downsampling_layer`, cfg, { cout: o.cout, stride: o.dilation === 1 ? 2 : 1, dilation: o.dilation > 1 ? o.dilation / 2 : 1 });
  const [, H, W, C] = down.shape;
  let y = convLayer(b, down, `${p}.conv_kxk`, { kernel: cfg.convKernelSize, cout: C, activation: act });
  y = conv(b, y, { name: `${p}.conv_1x1.convolution`, kernel: 1, cout: o.hidden });
  // Sides that are not multiples of the patch are resized up to the next multiple and back.
  const patch = cfg.patchSize;
  const [ph, pw] = [Math.ceil(H / patch) * patch, Math.ceil(W / patch) * patch];
  const resized = ph !== H || pw !== W;
  if (resized) y = b.resize(`${p}.unfolding_resize`, y, ph, pw, 'half_pixel');
  const unfolding = unfoldingPermute(y.shape, patch);
  let tokens = b.permute(`${p}.unfolding`, y, unfolding);
  for (let i = 0; i < o.depth; i++) tokens = transformerLayer(b, tokens, `${p}.transformer.layer.${i}`, cfg, o.training);
  tokens = layerNorm(b, tokens, `${p}.layernorm`, cfg.layerNormEps);
  let folded = b.permute(`${p}.folding`, tokens, inversePermute(y.shape, unfolding));
  if (resized) folded = b.resize(`${p}.folding_resize`, folded, H, W, 'half_pixel');
  const projected = convLayer(b, folded, `${p}.conv_projection`, { kernel: 1, cout: C, activation: act });
  return convLayer(b, b.concat(`${p}.concat`, [down, projected]), `${p}.fusion`, { kernel: cfg.convKernelSize, cout: C, activation: act });
}

/** The backbone (MobileViTModel without the classification expansion): features at the output stride. */
export function buildMobileVitBackbone(b: GraphBuilder, image: Value, cfg: MobileVitConfig, opts: Pick<MobileVitOptions, 'dropout'> = {}): Value {
  const training = opts.dropout ?? false;
  const neck = cfg.neckHiddenSizes;
  const act = cfg.hiddenAct;
  const e = 'mobilevit.encoder.layer';
  let x = convLayer(b, image, 'mobilevit.conv_stem', { kernel: 3, cout: neck[0], stride: 2, activation: act });
  x = invertedResidual(b, x, `${e}.0.layer.0`, cfg, { cout: neck[1], stride: 1 });
  for (let i = 0; i < 3; i++) x = invertedResidual(b, x, `${e}.1.layer.${i}`, cfg, { cout: neck[2], stride: i === 0 ? 2 : 1 });
  // Stages 4 and 5 dilate instead of downsampling where the output stride asks.
  const dilate4 = cfg.outputStride === 8;
  const dilate5 = cfg.outputStride <= 16;
  let dilation = 1;
  x = mobileVitBlock(b, x, `${e}.2`, cfg, { cout: neck[3], hidden: cfg.hiddenSizes[0], depth: TRANSFORMER_DEPTHS[0], dilation, training });
  if (dilate4) dilation *= 2;
  x = mobileVitBlock(b, x, `${e}.3`, cfg, { cout: neck[4], hidden: cfg.hiddenSizes[1], depth: TRANSFORMER_DEPTHS[1], dilation, training });
  if (dilate5) dilation *= 2;
  return mobileVitBlock(b, x, `${e}.4`, cfg, { cout: neck[5], hidden: cfg.hiddenSizes[2], depth: TRANSFORMER_DEPTHS[2], dilation, training });
}

/** The head's values: what MobileViTDeepLabV3 (and MobileViTV2's copy of it) reads of the config. */
export type MobileVitHeadConfig = Omit<MobileVitHeadValues, 'outputStride'>;

/**
 * transformers' MobileViTDeepLabV3 on the backbone's features: ASPP (1x1, three atrous 3x3,
 * image pooling; ReLU), the classifier; its output at the network's stride (transformers'
 * `logits`), and the same resized to the image (bilinear, align_corners=False).
 */
export function mobileVitHead(b: GraphBuilder, features: Value, image: Value, cfg: MobileVitHeadConfig, opts: Pick<MobileVitOptions, 'dropout'> = {}): { raw: Value; logits: Value } {
  const h = 'segmentation_head';
  const aspps = `${h}.aspp`;
  const names = (p: string) => ({ conv: `${p}.convolution`, bn: `${p}.normalization` });
  const layout = {
    prefix: aspps,
    conv1x1: names(`${aspps}.convs.0`),
    atrous: [1, 2, 3].map((i) => names(`${aspps}.convs.${i}`)),
    pooling: names(`${aspps}.convs.4.conv_1x1`),
    project: names(`${aspps}.project`),
    poolingPosition: 'last' as const,
  };
  let y = aspp(b, features, layout, {
    rates: [...cfg.atrousRates],
    imagePooling: true,
    channels: cfg.asppOutChannels,
    eps: BN.eps,
    poolResizeMode: 'half_pixel',
    dropout: opts.dropout ? cfg.asppDropoutProb : 0,
  });
  if (opts.dropout && cfg.classifierDropoutProb > 0) y = b.dropout(`${h}.dropout`, y, cfg.classifierDropoutProb, { channelwise: true });
  const raw = conv(b, y, { name: `${h}.classifier.convolution`, kernel: 1, cout: cfg.numLabels, bias: true });
  return { raw, logits: b.resize('logits_upsample', raw, image.shape[1], image.shape[2], 'half_pixel') };
}

/**
 * The network on an image value [N,H,W,3] (already scaled as the processor does: x / 255, in
 * the channel order the stem's weights expect): the classifier's output at the network's stride
 * (transformers' `logits`), and the same resized to the input (bilinear, align_corners=False).
 */
export function mobileVitDeepLabLogits(b: GraphBuilder, image: Value, cfg: MobileVitConfig, opts: Pick<MobileVitOptions, 'dropout'> = {}): { raw: Value; logits: Value } {
  validateMobileVitConfig(cfg);
  return mobileVitHead(b, buildMobileVitBackbone(b, image, cfg, opts), image, cfg, opts);
}

/**
 * The whole network for one batch and input size: input 'image' [N,H,W,3] (already scaled as
 * the processor does: x / 255, channels in BGR order), output 'logits' [N,H,W,numLabels]
 * (the classifier's output resized to the input, bilinear, align_corners=False).
 */
export function buildMobileVitDeepLab(cfg: MobileVitConfig, size: { batch?: number; height: number; width: number }, opts: MobileVitOptions = {}): Graph {
  validateMobileVitConfig(cfg);
  const batch = size.batch ?? 1;
  for (const [name, v] of [['batch', batch], ['height', size.height], ['width', size.width]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new Error(`buildMobileVitDeepLab: ${name} must be a positive integer, got ${v}`);
  }
  const b = new GraphBuilder();
  const image = b.input('image', [batch, size.height, size.width, 3]);
  const { raw, logits } = mobileVitDeepLabLogits(b, image, cfg, opts);
  b.output('logits', logits);
  if (opts.extraOutputs) b.output('logits_raw', raw);
  return b.build();
}
