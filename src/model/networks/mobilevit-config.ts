// MobileViT (v1) DeepLabV3's configuration: config.json's architectural values as a plain object,
// checked; read from a hub folder's config.json and written back to one; the architecture kept in
// our checkpoints as JSON. The network (mobilevit.ts) is built from it.
import { CONFIG_LIMITS, excerpt } from '../../io/reader-rules.js';
import type { Activation } from '../../kernels/activation/activation.js';
import type { DeepLabConfig } from './config-types.js';

/**
 * The DeepLabV3 head's values in config.json, the same in both MobileViT families: output stride,
 * ASPP rates and channels, classes, dropout.
 */
export interface MobileVitHeadValues {
  outputStride: 8 | 16 | 32;
  atrousRates: readonly number[];
  asppOutChannels: number;
  numLabels: number;
  /** Training only (with `dropout`): after the ASPP projection, and channel-wise before the classifier. */
  asppDropoutProb: number;
  classifierDropoutProb: number;
}

/** The head values a DeepLab config holds instead (they change with a fine-tune or another stride). */
export type DeepLabHeadKeys = 'numLabels' | 'outputStride' | 'atrousRates' | 'asppOutChannels';

/** A DeepLab config's head values, as config.json names them. */
export function headValuesOf(cfg: DeepLabConfig): Pick<MobileVitHeadValues, DeepLabHeadKeys> {
  return { numLabels: cfg.numClasses, outputStride: cfg.outputStride as 8 | 16 | 32, atrousRates: cfg.asppRates, asppOutChannels: cfg.asppChannels };
}

/** A hub config split into the architecture and the head values the DeepLab config takes. */
export function splitHubConfig<C extends MobileVitHeadValues>(c: C): { architecture: Omit<C, DeepLabHeadKeys>; config: Pick<DeepLabConfig, 'outputStride' | 'asppRates' | 'asppChannels'> } {
  const { numLabels: _, outputStride, atrousRates, asppOutChannels, ...architecture } = c;
  return { architecture, config: { outputStride, asppRates: [...atrousRates], asppChannels: asppOutChannels } };
}

/** The architectural values of a MobileViT DeepLabV3 (config.json's, renamed to camelCase). */
export interface MobileVitConfig extends MobileVitHeadValues {
  /** Stem, the five stages' outputs, and the classification expansion (unused by segmentation): 7 sizes. */
  neckHiddenSizes: readonly number[];
  /** Transformer widths of the three MobileViT blocks. */
  hiddenSizes: readonly number[];
  /** Inverted residuals' expansion. */
  expandRatio: number;
  /** MLP width over transformer width. */
  mlpRatio: number;
  numAttentionHeads: number;
  patchSize: number;
  /** The MobileViT blocks' local and fusion convolutions. */
  convKernelSize: number;
  layerNormEps: number;
  qkvBias: boolean;
  hiddenAct: Activation;
  /** Training only (with `dropout`): after the attention's and the MLP's output layers (MobileViTSelfOutput, MobileViTOutput). */
  hiddenDropoutProb: number;
  /** Training only (with `dropout`): on the attention weights. */
  attentionProbsDropoutProb: number;
}

/** transformers' MobileViTConfig defaults of the transformer's dropout rates, for files that predate them. */
const TRANSFORMER_DROPOUT = { hiddenDropoutProb: 0.1, attentionProbsDropoutProb: 0 };

/** The architecture of a MobileViT DeepLabV3 apart from its head's values (stride, rates, channels, classes). */
export type MobileVitArchitecture = Omit<MobileVitConfig, DeepLabHeadKeys>;

/**
 * apple/deeplabv3-mobilevit-xx-small's architecture (its config.json): what the backbone record
 * builds when no hub config names another.
 */
export const MOBILEVIT_XX_SMALL: MobileVitArchitecture = {
  neckHiddenSizes: [16, 16, 24, 48, 64, 80, 320],
  hiddenSizes: [64, 80, 96],
  expandRatio: 2,
  mlpRatio: 2,
  numAttentionHeads: 4,
  patchSize: 2,
  convKernelSize: 3,
  layerNormEps: 1e-5,
  qkvBias: true,
  hiddenAct: 'silu',
  hiddenDropoutProb: 0.05,
  attentionProbsDropoutProb: 0,
  asppDropoutProb: 0.1,
  classifierDropoutProb: 0.1,
};

export function validateMobileVitConfig(cfg: MobileVitConfig): void {
  const bad = (what: string): never => {
    throw new Error(`MobileViT config: ${what}`);
  };
  const positive = (name: string, v: number): void => {
    if (!Number.isInteger(v) || v < 1) bad(`${name} must be a positive integer, got ${v}`);
    if (v > CONFIG_LIMITS.channels) bad(`${name} must be at most ${CONFIG_LIMITS.channels}, got ${v}`);
  };
  if (cfg.numLabels > CONFIG_LIMITS.classes) bad(`num_labels must be at most ${CONFIG_LIMITS.classes} (labels are bytes), got ${cfg.numLabels}`);
  if (cfg.neckHiddenSizes.length !== 7) bad(`neck_hidden_sizes needs 7 sizes, got ${cfg.neckHiddenSizes.length}`);
  if (cfg.hiddenSizes.length !== 3) bad(`hidden_sizes needs 3 sizes, got ${cfg.hiddenSizes.length}`);
  if (cfg.atrousRates.length !== 3) bad(`atrous_rates needs 3 rates, got ${cfg.atrousRates.length}`);
  cfg.neckHiddenSizes.forEach((v, i) => positive(`neck_hidden_sizes[${i}]`, v));
  cfg.atrousRates.forEach((v, i) => positive(`atrous_rates[${i}]`, v));
  for (const [name, v] of [['num_attention_heads', cfg.numAttentionHeads], ['patch_size', cfg.patchSize], ['aspp_out_channels', cfg.asppOutChannels], ['num_labels', cfg.numLabels]] as const) positive(name, v);
  cfg.hiddenSizes.forEach((v, i) => {
    positive(`hidden_sizes[${i}]`, v);
    if (v % cfg.numAttentionHeads !== 0) bad(`hidden_sizes[${i}] = ${v} is not a multiple of the ${cfg.numAttentionHeads} attention heads`);
  });
  if (!Number.isInteger(cfg.convKernelSize) || cfg.convKernelSize < 1 || cfg.convKernelSize % 2 !== 1) bad(`conv_kernel_size must be an odd positive integer, got ${cfg.convKernelSize}`);
  if (![8, 16, 32].includes(cfg.outputStride)) bad(`output_stride must be 8, 16 or 32, got ${cfg.outputStride}`);
  for (const [name, v] of [['expand_ratio', cfg.expandRatio], ['mlp_ratio', cfg.mlpRatio]] as const) if (!(v > 0) || !Number.isFinite(v)) bad(`${name} must be a positive number, got ${v}`);
  if (!(cfg.layerNormEps >= 0) || !Number.isFinite(cfg.layerNormEps)) bad(`layer_norm_eps must be a finite number >= 0, got ${cfg.layerNormEps}`);
  const rates = [
    ['aspp_dropout_prob', cfg.asppDropoutProb],
    ['classifier_dropout_prob', cfg.classifierDropoutProb],
    ['hidden_dropout_prob', cfg.hiddenDropoutProb],
    ['attention_probs_dropout_prob', cfg.attentionProbsDropoutProb],
  ] as const;
  for (const [name, v] of rates) if (!(v >= 0 && v < 1)) bad(`${name} must be in [0, 1), got ${v}`);
}

/** An architecture as JSON (our checkpoints keep it so) read back, every field checked; `what` names it in errors. */
export function mobileVitArchitectureFromJson(v: unknown, what: string): MobileVitArchitecture {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error(`${what}: ${excerpt(v)} is not a JSON object of MobileViT's sizes`);
  const j = v as Record<string, unknown>;
  const field = <T>(key: keyof MobileVitArchitecture, ok: (x: unknown) => boolean, expected: string): T => {
    if (!ok(j[key])) throw new Error(`${what}: ${key} must be ${expected}, got ${excerpt(j[key])}`);
    return j[key] as T;
  };
  const num = (x: unknown): boolean => typeof x === 'number' && Number.isFinite(x);
  const nums = (x: unknown): boolean => Array.isArray(x) && x.every(num);
  const arch: MobileVitArchitecture = {
    neckHiddenSizes: field('neckHiddenSizes', nums, 'a list of numbers'),
    hiddenSizes: field('hiddenSizes', nums, 'a list of numbers'),
    expandRatio: field('expandRatio', num, 'a number'),
    mlpRatio: field('mlpRatio', num, 'a number'),
    numAttentionHeads: field('numAttentionHeads', num, 'a number'),
    patchSize: field('patchSize', num, 'a number'),
    convKernelSize: field('convKernelSize', num, 'a number'),
    layerNormEps: field('layerNormEps', num, 'a number'),
    qkvBias: field('qkvBias', (x) => typeof x === 'boolean', 'true or false'),
    hiddenAct: field('hiddenAct', (x) => x === 'silu', "'silu'"),
    asppDropoutProb: field('asppDropoutProb', num, 'a number'),
    classifierDropoutProb: field('classifierDropoutProb', num, 'a number'),
    // Absent from checkpoints written before the transformer's dropout was trained.
    hiddenDropoutProb: j.hiddenDropoutProb === undefined ? TRANSFORMER_DROPOUT.hiddenDropoutProb : field('hiddenDropoutProb', num, 'a number'),
    attentionProbsDropoutProb: j.attentionProbsDropoutProb === undefined ? TRANSFORMER_DROPOUT.attentionProbsDropoutProb : field('attentionProbsDropoutProb', num, 'a number'),
  };
  try {
    // The head's values are the DeepLab config's: any valid ones check the rest.
    validateMobileVitConfig({ ...arch, numLabels: 1, outputStride: 16, atrousRates: [1, 1, 1], asppOutChannels: 1 });
  } catch (e) {
    throw new Error(`${what}: ${(e as Error).message}`, { cause: e });
  }
  return arch;
}

/**
 * The configuration from a hub folder's config.json (parsed JSON): every architectural value
 * read, each checked, `transformers`' defaults only for the training-only dropout rates.
 */
export function mobileVitConfigFromHub(json: unknown, what = 'config.json'): MobileVitConfig {
  if (typeof json !== 'object' || json === null) throw new Error(`${what}: not a JSON object`);
  const j = json as Record<string, unknown>;
  const field = <T>(key: string, ok: (v: unknown) => boolean, expected: string, fallback?: T): T => {
    const v = j[key] ?? fallback;
    if (v === undefined) throw new Error(`${what}: ${key} is missing (it must be ${expected})`);
    if (!ok(v)) throw new Error(`${what}: ${key} must be ${expected}, got ${excerpt(j[key])}`);
    return v as T;
  };
  const num = (v: unknown): boolean => typeof v === 'number' && Number.isFinite(v);
  const ints = (v: unknown): boolean => Array.isArray(v) && v.every((x) => Number.isInteger(x));
  if (j.model_type !== undefined && j.model_type !== 'mobilevit') throw new Error(`${what}: model_type is ${excerpt(j.model_type)}, not 'mobilevit'`);
  // Values the network has no other form of: anything else is refused, naming the key.
  field<number>('num_channels', (v) => v === 3, '3 (RGB images)', 3);
  const act = field<string>('hidden_act', (v) => v === 'silu' || v === 'swish', "'silu'", 'silu');
  const id2label = j.id2label;
  const numLabels = typeof id2label === 'object' && id2label !== null ? Object.keys(id2label).length : field<number>('num_labels', Number.isInteger, 'an integer');
  const cfg: MobileVitConfig = {
    neckHiddenSizes: field('neck_hidden_sizes', ints, 'a list of integers'),
    hiddenSizes: field('hidden_sizes', ints, 'a list of integers'),
    expandRatio: field('expand_ratio', num, 'a number'),
    mlpRatio: field('mlp_ratio', num, 'a number'),
    numAttentionHeads: field('num_attention_heads', Number.isInteger, 'an integer'),
    patchSize: field('patch_size', Number.isInteger, 'an integer'),
    convKernelSize: field('conv_kernel_size', Number.isInteger, 'an integer'),
    outputStride: field('output_stride', Number.isInteger, 'an integer'),
    layerNormEps: field('layer_norm_eps', num, 'a number'),
    qkvBias: field('qkv_bias', (v) => typeof v === 'boolean', 'true or false', true),
    hiddenAct: act === 'swish' ? 'silu' : (act as Activation),
    atrousRates: field('atrous_rates', ints, 'a list of integers'),
    asppOutChannels: field('aspp_out_channels', Number.isInteger, 'an integer'),
    numLabels,
    asppDropoutProb: field('aspp_dropout_prob', num, 'a number', 0.1),
    classifierDropoutProb: field('classifier_dropout_prob', num, 'a number', 0.1),
    hiddenDropoutProb: field('hidden_dropout_prob', num, 'a number', TRANSFORMER_DROPOUT.hiddenDropoutProb),
    attentionProbsDropoutProb: field('attention_probs_dropout_prob', num, 'a number', TRANSFORMER_DROPOUT.attentionProbsDropoutProb),
  };
  try {
    validateMobileVitConfig(cfg);
  } catch (e) {
    throw new Error(`${what}: ${(e as Error).message}`);
  }
  return cfg;
}

/** config.json's model values for a configuration (what mobileVitConfigFromHub reads back), under transformers' names. */
export function mobileVitHubConfig(cfg: MobileVitConfig): Record<string, unknown> {
  return {
    architectures: ['MobileViTForSemanticSegmentation'],
    num_channels: 3,
    neck_hidden_sizes: [...cfg.neckHiddenSizes],
    hidden_sizes: [...cfg.hiddenSizes],
    expand_ratio: cfg.expandRatio,
    mlp_ratio: cfg.mlpRatio,
    num_attention_heads: cfg.numAttentionHeads,
    patch_size: cfg.patchSize,
    conv_kernel_size: cfg.convKernelSize,
    layer_norm_eps: cfg.layerNormEps,
    qkv_bias: cfg.qkvBias,
    hidden_act: cfg.hiddenAct,
    output_stride: cfg.outputStride,
    atrous_rates: [...cfg.atrousRates],
    aspp_out_channels: cfg.asppOutChannels,
    aspp_dropout_prob: cfg.asppDropoutProb,
    classifier_dropout_prob: cfg.classifierDropoutProb,
    hidden_dropout_prob: cfg.hiddenDropoutProb,
    attention_probs_dropout_prob: cfg.attentionProbsDropoutProb,
  };
}

/** The keys of MobileViTConfig typed as float. */
export const MOBILEVIT_HUB_FLOATS = ['expand_ratio', 'mlp_ratio', 'layer_norm_eps', 'aspp_dropout_prob', 'classifier_dropout_prob', 'hidden_dropout_prob', 'attention_probs_dropout_prob', 'initializer_range'];
