// MobileViTV2 DeepLabV3 as `transformers` builds it (MobileViTV2ForSemanticSegmentation), from a
// plain configuration object carrying config.json's architectural values; every width follows
// from `width_multiplier` through transformers' make_divisible.
//
// Backbone: a 3x3 stride-2 stem, two stages of MobileNetV2 inverted residuals (one, then two),
// then three MobileViTV2 blocks, each: an inverted residual that downsamples -> depthwise kxk conv
// -> 1x1 conv to the attention width -> unfold into patch sequences [B, P, N, C] (P the pixels of
// a patch, N the patches) -> transformer layers -> group norm -> fold back -> 1x1 projection
// with batch norm. A transformer layer: group norm (one group, transformers' "layernorm") ->
// separable linear self-attention -> residual; group norm -> 1x1 FFN (SiLU) -> residual.
// Linear self-attention (MobileViTV2LinearSelfAttention): qkv as 1x1 convs (one query channel,
// d key and d value channels), the query's softmax over the patches, the context vector
// sum(key * scores) over the patches, out = relu(value) * context, a 1x1 output projection.
// Output stride 16 dilates the last block (8: the last two), as MobileViT's. The head is
// transformers' MobileViTDeepLabV3, which MobileViTV2 copies (src/model/networks/mobilevit.ts).
//
// Parameters carry the checkpoint's names in our layouts, but for the qkv projection: one
// `qkv_proj` conv of 1 + 2d channels there, three convs here (`qkv_proj.query`, `.key`,
// `.value`), so the attention needs no channel slices (src/model/weights/transformers-mobilevitv2.ts
// splits and joins them).
import { CONFIG_LIMITS, excerpt } from '../../io/reader-rules.js';
import { GraphBuilder } from '../../graph/builder.js';
import type { Graph, Value } from '../../graph/ir.js';
import type { Activation } from '../../kernels/activation/activation.js';
import { inversePad } from '../../kernels/layout/pad.js';
import { inversePermute } from '../../kernels/layout/permute.js';
import { conv } from './layers.js';
import { type MobileVitOptions, convLayer, invertedResidual, mobileVitHead, unfoldingPermute } from './mobilevit.js';
import { makeDivisible } from './mobilenet-v3.js';
import type { DeepLabHeadKeys, MobileVitHeadValues } from './mobilevit-config.js';

/** The architectural values of a MobileViTV2 DeepLabV3 (config.json's, renamed to camelCase). */
export interface MobileVitV2Config extends MobileVitHeadValues {
  /** Scales every width (transformers' make_divisible rounds them to 8 or 16). */
  widthMultiplier: number;
  /** The three MobileViTV2 blocks' attention widths before the multiplier. */
  baseAttnUnitDims: readonly number[];
  /** Transformer layers of the three blocks. */
  nAttnBlocks: readonly number[];
  /** FFN width over attention width (rounded down to a multiple of 16). */
  ffnMultiplier: number;
  /** Inverted residuals' expansion. */
  expandRatio: number;
  patchSize: number;
  /** The blocks' depthwise local convolution. */
  convKernelSize: number;
  /** The group norms' eps. */
  layerNormEps: number;
  hiddenAct: Activation;
  /** Training only: on the attention's context scores, and after each FFN conv. */
  attnDropout: number;
  ffnDropout: number;
}

/** The architecture of a MobileViTV2 DeepLabV3 apart from its head's values (stride, rates, channels, classes). */
export type MobileVitV2Architecture = Omit<MobileVitV2Config, DeepLabHeadKeys>;

/** transformers' MobileViTV2Config defaults (width 1.0, apple/mobilevitv2-1.0-voc-deeplabv3's sizes): what the record builds when no hub config names another. */
export const MOBILEVITV2_1_0: MobileVitV2Architecture = {
  widthMultiplier: 1,
  baseAttnUnitDims: [128, 192, 256],
  nAttnBlocks: [2, 4, 3],
  ffnMultiplier: 2,
  expandRatio: 2,
  patchSize: 2,
  convKernelSize: 3,
  layerNormEps: 1e-5,
  hiddenAct: 'silu',
  asppDropoutProb: 0.1,
  classifierDropoutProb: 0.1,
  attnDropout: 0,
  ffnDropout: 0,
};

/** The widths transformers derives from the multiplier: the stem, the five stages' outputs, the three blocks' attention and FFN widths. */
export function mobileVitV2Widths(cfg: Pick<MobileVitV2Config, 'widthMultiplier' | 'baseAttnUnitDims' | 'ffnMultiplier'>): { stem: number; stages: number[]; attention: number[]; ffn: number[] } {
  const w = cfg.widthMultiplier;
  // make_divisible(clip(32 w, 16, 64), 8, min_value=16): the clip already keeps it at 16 or more.
  const stem = makeDivisible(Math.min(64, Math.max(16, 32 * w)), 8);
  const stages = [makeDivisible(64 * w, 16), ...[128, 256, 384, 512].map((c) => makeDivisible(c * w, 8))];
  const attention = cfg.baseAttnUnitDims.map((d) => makeDivisible(d * w, 8));
  return { stem, stages, attention, ffn: attention.map((d) => Math.floor((cfg.ffnMultiplier * d) / 16) * 16) };
}

export function validateMobileVitV2Config(cfg: MobileVitV2Config): void {
  const bad = (what: string): never => {
    throw new Error(`MobileViTV2 config: ${what}`);
  };
  const integers = (name: string, v: readonly number[], min: number): void =>
    v.forEach((x, i) => {
      if (!Number.isInteger(x) || x < min) bad(`${name}[${i}] must be an integer >= ${min}, got ${x}`);
      if (x > CONFIG_LIMITS.channels) bad(`${name}[${i}] must be at most ${CONFIG_LIMITS.channels}, got ${x}`);
    });
  for (const [name, v] of [['base_attn_unit_dims', cfg.baseAttnUnitDims], ['n_attn_blocks', cfg.nAttnBlocks], ['atrous_rates', cfg.atrousRates]] as const) {
    if (v.length !== 3) bad(`${name} needs 3 values, got ${v.length}`);
  }
  integers('base_attn_unit_dims', cfg.baseAttnUnitDims, 1);
  integers('n_attn_blocks', cfg.nAttnBlocks, 0);
  integers('atrous_rates', cfg.atrousRates, 1);
  for (const [name, v] of [['ffn_multiplier', cfg.ffnMultiplier], ['patch_size', cfg.patchSize], ['aspp_out_channels', cfg.asppOutChannels], ['num_labels', cfg.numLabels]] as const) {
    if (!Number.isInteger(v) || v < 1) bad(`${name} must be a positive integer, got ${v}`);
    if (v > CONFIG_LIMITS.channels) bad(`${name} must be at most ${CONFIG_LIMITS.channels}, got ${v}`);
  }
  if (cfg.numLabels > CONFIG_LIMITS.classes) bad(`num_labels must be at most ${CONFIG_LIMITS.classes} (labels are bytes), got ${cfg.numLabels}`);
  if (!Number.isInteger(cfg.convKernelSize) || cfg.convKernelSize < 1 || cfg.convKernelSize % 2 !== 1) bad(`conv_kernel_size must be an odd positive integer, got ${cfg.convKernelSize}`);
  if (![8, 16, 32].includes(cfg.outputStride)) bad(`output_stride must be 8, 16 or 32, got ${cfg.outputStride}`);
  for (const [name, v] of [['width_multiplier', cfg.widthMultiplier], ['expand_ratio', cfg.expandRatio]] as const) if (!(v > 0) || !Number.isFinite(v)) bad(`${name} must be a positive number, got ${v}`);
  if (!(cfg.layerNormEps >= 0) || !Number.isFinite(cfg.layerNormEps)) bad(`layer_norm_eps must be a finite number >= 0, got ${cfg.layerNormEps}`);
  const probabilities = [['aspp_dropout_prob', cfg.asppDropoutProb], ['classifier_dropout_prob', cfg.classifierDropoutProb], ['attn_dropout', cfg.attnDropout], ['ffn_dropout', cfg.ffnDropout]] as const;
  for (const [name, v] of probabilities) if (!(v >= 0 && v < 1)) bad(`${name} must be in [0, 1), got ${v}`);
  mobileVitV2Widths(cfg).ffn.forEach((d, i) => {
    if (d < 1) bad(`ffn_multiplier ${cfg.ffnMultiplier} leaves block ${i + 1}'s FFN no channels (its width rounds down to a multiple of 16)`);
  });
}

/** Group norm with one group under transformers' names `<p>.weight`, `<p>.bias` (nn.GroupNorm(1, C)). */
function groupNorm(b: GraphBuilder, x: Value, p: string, eps: number): Value {
  const c = x.shape[3];
  return b.groupNorm(p, x, { gamma: b.param(`${p}.weight`, [c]), beta: b.param(`${p}.bias`, [c]) }, { eps });
}

/** A 1x1 conv with bias on tokens (transformers' MobileViTV2ConvLayer without norm), `<p>.weight`, `<p>.bias`. */
function pointwise(b: GraphBuilder, x: Value, p: string, cout: number, activation: Activation = 'none'): Value {
  return conv(b, x, { name: p, kernel: 1, cout, bias: true, activation });
}

/**
 * Separable linear self-attention (MobileViTV2LinearSelfAttention) on tokens [B, P, N, d]. Each
 * patch pixel's N tokens are one batch item of the products: [B * P, N, 1, d].
 */
function linearSelfAttention(b: GraphBuilder, x: Value, p: string, cfg: MobileVitV2Config, dropout: boolean): Value {
  const [B, P, N, d] = x.shape;
  const rows = b.reshape(`${p}.rows`, x, [B * P, N, 1, d]);
  const query = pointwise(b, rows, `${p}.qkv_proj.query`, 1);
  const key = pointwise(b, rows, `${p}.qkv_proj.key`, d);
  const value = pointwise(b, rows, `${p}.qkv_proj.value`, d, 'relu');
  let scores = b.softmax(`${p}.context_scores`, b.reshape(`${p}.query_rows`, query, [B * P, 1, N]));
  if (dropout && cfg.attnDropout > 0) scores = b.dropout(`${p}.attn_dropout`, scores, cfg.attnDropout);
  const context = b.matmul(`${p}.context_vector`, scores, b.reshape(`${p}.key_rows`, key, [B * P, N, d]));
  const out = b.mulValues(`${p}.weighted_values`, value, b.reshape(`${p}.context`, context, [B * P, 1, 1, d]));
  return b.reshape(`${p}.tokens`, pointwise(b, out, `${p}.out_proj.convolution`, d), [B, P, N, d]);
}

/** One transformer layer (MobileViTV2TransformerLayer) on tokens [B, P, N, d]. */
function transformerLayer(b: GraphBuilder, x: Value, p: string, cfg: MobileVitV2Config, ffn: number, dropout: boolean): Value {
  const eps = cfg.layerNormEps;
  const attended = linearSelfAttention(b, groupNorm(b, x, `${p}.layernorm_before`, eps), `${p}.attention`, cfg, dropout);
  const h = b.addValues(`${p}.attention_residual`, x, attended);
  const drop = (y: Value, name: string): Value => (dropout && cfg.ffnDropout > 0 ? b.dropout(`${p}.ffn.${name}`, y, cfg.ffnDropout) : y);
  let y = drop(pointwise(b, groupNorm(b, h, `${p}.layernorm_after`, eps), `${p}.ffn.conv1.convolution`, ffn, cfg.hiddenAct), 'dropout1');
  y = drop(pointwise(b, y, `${p}.ffn.conv2.convolution`, x.shape[3]), 'dropout2');
  return b.addValues(`${p}.ffn_residual`, h, y);
}

/** A MobileViTV2 block (MobileViTV2Layer). */
function mobileVitV2Block(b: GraphBuilder, x: Value, p: string, cfg: MobileVitV2Config, o: { cout: number; attention: number; ffn: number; depth: number; dilation: number; dropout: boolean }): Value {
  // The block halves the map unless dilated; then it keeps the size at half the rate.
  const down = invertedResidual(b, x, `${p}.downsampling_layer`, cfg, { cout: o.cout, stride: o.dilation === 1 ? 2 : 1, dilation: o.dilation > 1 ? o.dilation / 2 : 1 });
  const C = down.shape[3];
  let y = convLayer(b, down, `${p}.conv_kxk`, { kernel: cfg.convKernelSize, cout: C, groups: C, activation: cfg.hiddenAct });
  y = conv(b, y, { name: `${p}.conv_1x1.convolution`, kernel: 1, cout: o.attention });
  // transformers unfolds with nn.functional.unfold, which leaves out a last row or column no
  // patch covers, and folds back with nn.functional.fold, which leaves zeros there.
  const [B, H, W] = y.shape;
  const patch = cfg.patchSize;
  if (H < patch || W < patch) throw new Error(`${p}: its ${H}x${W} map holds no ${patch}x${patch} patch (the input is too small)`);
  const crop = { top: 0, bottom: -(H % patch), left: 0, right: -(W % patch) };
  const cropped = crop.bottom !== 0 || crop.right !== 0;
  if (cropped) y = b.pad(`${p}.unfolding_crop`, y, crop);
  const [, h, w] = y.shape;
  const unfolding = { ...unfoldingPermute(y.shape, patch), shape: [B, patch * patch, (h / patch) * (w / patch), o.attention] };
  let tokens = b.permute(`${p}.unfolding`, y, unfolding);
  for (let i = 0; i < o.depth; i++) tokens = transformerLayer(b, tokens, `${p}.transformer.layer.${i}`, cfg, o.ffn, o.dropout);
  tokens = groupNorm(b, tokens, `${p}.layernorm`, cfg.layerNormEps);
  let folded = b.permute(`${p}.folding`, tokens, inversePermute(y.shape, unfolding));
  if (cropped) folded = b.pad(`${p}.folding_pad`, folded, inversePad(crop));
  return convLayer(b, folded, `${p}.conv_projection`, { kernel: 1, cout: C, activation: 'none' });
}

/** The backbone (MobileViTV2Model without the classification pooling): features at the output stride. */
export function buildMobileVitV2Backbone(b: GraphBuilder, image: Value, cfg: MobileVitV2Config, opts: Pick<MobileVitOptions, 'dropout'> = {}): Value {
  const { stem, stages, attention, ffn } = mobileVitV2Widths(cfg);
  const e = 'mobilevitv2.encoder.layer';
  let x = convLayer(b, image, 'mobilevitv2.conv_stem', { kernel: 3, cout: stem, stride: 2, activation: cfg.hiddenAct });
  x = invertedResidual(b, x, `${e}.0.layer.0`, cfg, { cout: stages[0], stride: 1 });
  for (let i = 0; i < 2; i++) x = invertedResidual(b, x, `${e}.1.layer.${i}`, cfg, { cout: stages[1], stride: i === 0 ? 2 : 1 });
  // Stages 4 and 5 dilate instead of downsampling where the output stride asks.
  const dilations = [1, cfg.outputStride === 8 ? 2 : 1, cfg.outputStride === 32 ? 1 : cfg.outputStride === 16 ? 2 : 4];
  for (let i = 0; i < 3; i++) {
    x = mobileVitV2Block(b, x, `${e}.${i + 2}`, cfg, { cout: stages[i + 2], attention: attention[i], ffn: ffn[i], depth: cfg.nAttnBlocks[i], dilation: dilations[i], dropout: opts.dropout ?? false });
  }
  return x;
}

/**
 * The network on an image value [N,H,W,3] (already scaled as the processor does: x / 255, in
 * the channel order the stem's weights expect): the classifier's output at the network's stride
 * (transformers' `logits`), and the same resized to the input (bilinear, align_corners=False).
 */
export function mobileVitV2DeepLabLogits(b: GraphBuilder, image: Value, cfg: MobileVitV2Config, opts: Pick<MobileVitOptions, 'dropout'> = {}): { raw: Value; logits: Value } {
  validateMobileVitV2Config(cfg);
  return mobileVitHead(b, buildMobileVitV2Backbone(b, image, cfg, opts), image, cfg, opts);
}

/**
 * The whole network for one batch and input size: input 'image' [N,H,W,3] (already scaled as
 * the processor does: x / 255, channels in the stem's order), output 'logits' [N,H,W,numLabels]
 * (the classifier's output resized to the input, bilinear, align_corners=False).
 */
export function buildMobileVitV2DeepLab(cfg: MobileVitV2Config, size: { batch?: number; height: number; width: number }, opts: MobileVitOptions = {}): Graph {
  validateMobileVitV2Config(cfg);
  const batch = size.batch ?? 1;
  for (const [name, v] of [['batch', batch], ['height', size.height], ['width', size.width]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new Error(`buildMobileVitV2DeepLab: ${name} must be a positive integer, got ${v}`);
  }
  const b = new GraphBuilder();
  const image = b.input('image', [batch, size.height, size.width, 3]);
  const { raw, logits } = mobileVitV2DeepLabLogits(b, image, cfg, opts);
  b.output('logits', logits);
  if (opts.extraOutputs) b.output('logits_raw', raw);
  return b.build();
}

// ---------------------------------------------------------------- config.json

/** A reader of one object's fields, each checked, errors naming the key under `what`. */
function fieldReader(j: Record<string, unknown>, what: string) {
  return <T>(key: string, ok: (v: unknown) => boolean, expected: string, fallback?: T): T => {
    const v = j[key] ?? fallback;
    if (v === undefined) throw new Error(`${what}: ${key} is missing (it must be ${expected})`);
    if (!ok(v)) throw new Error(`${what}: ${key} must be ${expected}, got ${excerpt(j[key])}`);
    return v as T;
  };
}

const num = (v: unknown): boolean => typeof v === 'number' && Number.isFinite(v);
const ints = (v: unknown): boolean => Array.isArray(v) && v.every((x) => Number.isInteger(x));

/** An architecture as JSON (our checkpoints keep it so) read back, every field checked; `what` names it in errors. */
export function mobileVitV2ArchitectureFromJson(v: unknown, what: string): MobileVitV2Architecture {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error(`${what}: ${excerpt(v)} is not a JSON object of MobileViTV2's sizes`);
  const field = fieldReader(v as Record<string, unknown>, what);
  const arch: MobileVitV2Architecture = {
    widthMultiplier: field('widthMultiplier', num, 'a number'),
    baseAttnUnitDims: field('baseAttnUnitDims', ints, 'a list of integers'),
    nAttnBlocks: field('nAttnBlocks', ints, 'a list of integers'),
    ffnMultiplier: field('ffnMultiplier', num, 'a number'),
    expandRatio: field('expandRatio', num, 'a number'),
    patchSize: field('patchSize', num, 'a number'),
    convKernelSize: field('convKernelSize', num, 'a number'),
    layerNormEps: field('layerNormEps', num, 'a number'),
    hiddenAct: field('hiddenAct', (x) => x === 'silu', "'silu'"),
    asppDropoutProb: field('asppDropoutProb', num, 'a number'),
    classifierDropoutProb: field('classifierDropoutProb', num, 'a number'),
    attnDropout: field('attnDropout', num, 'a number'),
    ffnDropout: field('ffnDropout', num, 'a number'),
  };
  try {
    // The head's values are the DeepLab config's: any valid ones check the rest.
    validateMobileVitV2Config({ ...arch, numLabels: 1, outputStride: 16, atrousRates: [1, 1, 1], asppOutChannels: 1 });
  } catch (e) {
    throw new Error(`${what}: ${(e as Error).message}`, { cause: e });
  }
  return arch;
}

/**
 * The configuration from a hub folder's config.json (parsed JSON): every architectural value
 * read, each checked; transformers' defaults only for the training-only dropout rates.
 */
export function mobileVitV2ConfigFromHub(json: unknown, what = 'config.json'): MobileVitV2Config {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new Error(`${what}: not a JSON object`);
  const j = json as Record<string, unknown>;
  const field = fieldReader(j, what);
  if (j.model_type !== undefined && j.model_type !== 'mobilevitv2') throw new Error(`${what}: model_type is ${excerpt(j.model_type)}, not 'mobilevitv2'`);
  // Values the network has no other form of: anything else is refused, naming the key.
  field<number>('num_channels', (v) => v === 3, '3 (RGB images)', 3);
  field<string>('hidden_act', (v) => v === 'silu' || v === 'swish', "'swish' (SiLU)", 'swish');
  const id2label = j.id2label;
  const numLabels = typeof id2label === 'object' && id2label !== null ? Object.keys(id2label).length : field<number>('num_labels', Number.isInteger, 'an integer');
  const probability = (key: string, fallback: number): number => field(key, num, 'a number', fallback);
  const cfg: MobileVitV2Config = {
    widthMultiplier: field('width_multiplier', num, 'a number'),
    baseAttnUnitDims: field('base_attn_unit_dims', ints, 'a list of integers'),
    nAttnBlocks: field('n_attn_blocks', ints, 'a list of integers'),
    ffnMultiplier: field('ffn_multiplier', Number.isInteger, 'an integer'),
    expandRatio: field('expand_ratio', num, 'a number'),
    patchSize: field('patch_size', Number.isInteger, 'an integer'),
    convKernelSize: field('conv_kernel_size', Number.isInteger, 'an integer'),
    outputStride: field('output_stride', Number.isInteger, 'an integer'),
    layerNormEps: field('layer_norm_eps', num, 'a number'),
    hiddenAct: 'silu',
    atrousRates: field('atrous_rates', ints, 'a list of integers'),
    asppOutChannels: field('aspp_out_channels', Number.isInteger, 'an integer'),
    numLabels,
    asppDropoutProb: probability('aspp_dropout_prob', 0.1),
    classifierDropoutProb: probability('classifier_dropout_prob', 0.1),
    attnDropout: probability('attn_dropout', 0),
    ffnDropout: probability('ffn_dropout', 0),
  };
  try {
    validateMobileVitV2Config(cfg);
  } catch (e) {
    throw new Error(`${what}: ${(e as Error).message}`, { cause: e });
  }
  return cfg;
}

/** config.json's model values for a configuration (what mobileVitV2ConfigFromHub reads back), under transformers' names. */
export function mobileVitV2HubConfig(cfg: MobileVitV2Config): Record<string, unknown> {
  return {
    architectures: ['MobileViTV2ForSemanticSegmentation'],
    num_channels: 3,
    width_multiplier: cfg.widthMultiplier,
    base_attn_unit_dims: [...cfg.baseAttnUnitDims],
    n_attn_blocks: [...cfg.nAttnBlocks],
    ffn_multiplier: cfg.ffnMultiplier,
    expand_ratio: cfg.expandRatio,
    patch_size: cfg.patchSize,
    conv_kernel_size: cfg.convKernelSize,
    layer_norm_eps: cfg.layerNormEps,
    // transformers' name for SiLU in this config (its default).
    hidden_act: 'swish',
    output_stride: cfg.outputStride,
    atrous_rates: [...cfg.atrousRates],
    aspp_out_channels: cfg.asppOutChannels,
    aspp_dropout_prob: cfg.asppDropoutProb,
    classifier_dropout_prob: cfg.classifierDropoutProb,
    attn_dropout: cfg.attnDropout,
    ffn_dropout: cfg.ffnDropout,
  };
}

/** The keys of MobileViTV2Config typed as float (those typed `float | int` take either; written as floats, as transformers writes them). */
export const MOBILEVITV2_HUB_FLOATS = ['width_multiplier', 'expand_ratio', 'layer_norm_eps', 'aspp_dropout_prob', 'classifier_dropout_prob', 'attn_dropout', 'ffn_dropout', 'initializer_range'];
