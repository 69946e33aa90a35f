// transformers' MobileNetV2 DeepLabV3 (MobileNetV2ForSemanticSegmentation, the port of TF
// DeepLab's MobileNetV2) onto our TF MobileNetV2 network (src/model/networks/mobilenet-v2.ts)
// with its batch norms kept, and back: the config.json values it is built from, each checked
// against what that network is; the tensors renamed to TF's scopes (a batch norm under the
// conv's `BatchNorm` scope), conv weights OIHW <-> HWIO.
import { excerpt } from '../../io/reader-rules.js';
import type { HostParams } from '../../graph/params.js';
import { TF_NAMING } from '../networks/layers.js';
import { MOBILENET_V2_LAYER_COUNT, expandedConvScope } from '../networks/mobilenet-v2.js';
import type { TensorMap } from './import/tensor-map.js';
import { hwioToOihw, oihwToHwio } from './layouts.js';

export interface MobilenetV2HubConfig {
  outputStride: number;
  depthMultiplier: number;
  /** The backbone's batch-norm eps (config layer_norm_eps; the head's are 1e-5). */
  eps: number;
  numLabels: number;
}

/** config.json's values, each one our network can take; anything else refused naming the key. */
export function mobilenetV2HubConfig(json: Record<string, unknown>, numLabels: number, what = 'config.json'): MobilenetV2HubConfig {
  const fail = (key: string, why: string): never => {
    throw new Error(`${what}: ${key} ${why}, got ${excerpt(json[key])}`);
  };
  const value = (key: string, fallback: unknown): unknown => json[key] ?? fallback;
  if (value('num_channels', 3) !== 3) fail('num_channels', 'must be 3 (RGB images)');
  if (value('hidden_act', 'relu6') !== 'relu6') fail('hidden_act', "must be 'relu6' (the network TF DeepLab trains)");
  // TF's 'SAME' padding is what our network does; transformers' symmetric padding is not.
  if (value('tf_padding', true) !== true) fail('tf_padding', "must be true (TF 'SAME' padding, as the TF DeepLab checkpoints)");
  if (value('first_layer_is_expansion', true) !== true) fail('first_layer_is_expansion', 'must be true (the stem has no 1x1 expansion)');
  if (value('expand_ratio', 6) !== 6) fail('expand_ratio', 'must be 6');
  if (value('depth_divisible_by', 8) !== 8) fail('depth_divisible_by', 'must be 8');
  if (value('min_depth', 8) !== 8) fail('min_depth', 'must be 8');
  if (typeof value('finegrained_output', true) !== 'boolean') fail('finegrained_output', 'must be true or false');
  const depthMultiplier = value('depth_multiplier', 1);
  if (typeof depthMultiplier !== 'number' || !(depthMultiplier > 0 && depthMultiplier <= 64)) fail('depth_multiplier', 'must be a positive number (at most 64)');
  const outputStride = value('output_stride', 32);
  if (outputStride !== 8 && outputStride !== 16 && outputStride !== 32) fail('output_stride', 'must be 8, 16 or 32');
  const eps = value('layer_norm_eps', 0.001);
  if (typeof eps !== 'number' || !(eps >= 0)) fail('layer_norm_eps', 'must be a number >= 0');
  return { outputStride: outputStride as number, depthMultiplier: depthMultiplier as number, eps: eps as number, numLabels };
}

/** config.json's model values for our network: what the reader above takes, and the fixed values it checks. */
export function mobilenetV2HubJson(c: Omit<MobilenetV2HubConfig, 'numLabels'>): Record<string, unknown> {
  return {
    architectures: ['MobileNetV2ForSemanticSegmentation'],
    num_channels: 3,
    depth_multiplier: c.depthMultiplier,
    depth_divisible_by: 8,
    min_depth: 8,
    expand_ratio: 6,
    output_stride: c.outputStride,
    first_layer_is_expansion: true,
    finegrained_output: true,
    hidden_act: 'relu6',
    tf_padding: true,
    layer_norm_eps: c.eps,
  };
}

/** The keys of mobilenetV2HubJson that transformers types as float. */
export const MOBILENET_V2_HUB_FLOATS = ['depth_multiplier', 'expand_ratio', 'layer_norm_eps'] as const;

/** transformers' layer prefix -> our TF scope, and whether a batch norm follows its conv (else the conv has a bias). */
function scopes(): [string, string, boolean][] {
  const bb = 'mobilenet_v2';
  const out: [string, string, boolean][] = [
    [`${bb}.conv_stem.first_conv`, 'MobilenetV2/Conv', true],
    [`${bb}.conv_stem.conv_3x3`, `${expandedConvScope(0)}/depthwise`, true],
    [`${bb}.conv_stem.reduce_1x1`, `${expandedConvScope(0)}/project`, true],
  ];
  for (let i = 0; i + 1 < MOBILENET_V2_LAYER_COUNT; i++) {
    for (const [from, to] of [['expand_1x1', 'expand'], ['conv_3x3', 'depthwise'], ['reduce_1x1', 'project']]) out.push([`${bb}.layer.${i}.${from}`, `${expandedConvScope(i + 1)}/${to}`, true]);
  }
  out.push(['segmentation_head.conv_pool', 'image_pooling', true], ['segmentation_head.conv_aspp', 'aspp0', true], ['segmentation_head.conv_projection', 'concat_projection', true]);
  out.push(['segmentation_head.classifier', 'logits/semantic', false]);
  return out;
}

/** Each tensor of a layer but its conv weight: [our name, transformers' name]. */
function layerTensors(from: string, to: string, normalized: boolean): [string, string][] {
  if (!normalized) return [[`${to}/biases`, `${from}.convolution.bias`]];
  const bn = TF_NAMING.bn(`${to}/BatchNorm`);
  const torch = `${from}.normalization`;
  return [[bn.gamma, `${torch}.weight`], [bn.beta, `${torch}.bias`], [bn.mean, `${torch}.running_mean`], [bn.variance, `${torch}.running_var`]];
}

/**
 * The checkpoint's tensors as our network's parameters and batch-norm statistics: conv weights
 * to HWIO, everything else as it is. The backbone's final 1x1 conv (conv_1x1, the classifier's
 * features) is not part of the segmentation network and is left out, as are the batch norms'
 * num_batches_tracked counters; anything else unknown is an error.
 */
export function mobilenetV2HubParams(tensors: TensorMap, what: string): HostParams {
  const params: HostParams = new Map();
  const used = new Set<string>();
  const take = (name: string): { shape: number[]; data: Float32Array } => {
    const t = tensors.get(name);
    if (!t) throw new Error(`${what}: no tensor '${name}'`);
    used.add(name);
    return { shape: [...t.shape], data: t.data as Float32Array };
  };
  for (const [from, to, normalized] of scopes()) {
    const w = take(`${from}.convolution.weight`);
    if (w.shape.length !== 4) throw new Error(`${what}: ${from}.convolution.weight is not a 4-D convolution weight (shape ${excerpt(w.shape)})`);
    params.set(`${to}/weights`, oihwToHwio(w.data, w.shape));
    for (const [ours, theirs] of layerTensors(from, to, normalized)) params.set(ours, take(theirs));
    if (normalized) used.add(`${from}.normalization.num_batches_tracked`);
  }
  const unknown = [...tensors.keys()].filter((k) => !used.has(k) && !k.startsWith('mobilenet_v2.conv_1x1.'));
  if (unknown.length) throw new Error(`${what}: tensors not in a MobileNetV2 DeepLabV3: ${unknown.slice(0, 5).join(', ')}${unknown.length > 5 ? ` and ${unknown.length - 5} more` : ''}`);
  return params;
}

/**
 * Our parameters as the checkpoint's tensors (mobilenetV2HubParams' inverse). conv_1x1, which
 * the segmentation network never runs, is not written; a parameter transformers' network has no
 * place for (a decoder's, an atrous branch's) is an error naming it.
 */
export function mobilenetV2HubTensors(params: HostParams): TensorMap {
  const tensors: TensorMap = new Map();
  const used = new Set<string>();
  const take = (name: string): { shape: number[]; data: Float32Array } => {
    const t = params.get(name);
    if (!t) throw new Error(`no parameter '${name}' for transformers' MobileNetV2`);
    used.add(name);
    return { shape: [...t.shape], data: t.data as Float32Array };
  };
  for (const [from, to, normalized] of scopes()) {
    const w = take(`${to}/weights`);
    tensors.set(`${from}.convolution.weight`, { ...hwioToOihw(w.data, w.shape), sourceDType: 'f32' });
    for (const [ours, theirs] of layerTensors(from, to, normalized)) tensors.set(theirs, { ...take(ours), sourceDType: 'f32' });
  }
  const extra = [...params.keys()].filter((k) => !used.has(k));
  if (extra.length) throw new Error(`parameters transformers' MobileNetV2 DeepLabV3 has no place for: ${extra.slice(0, 5).join(', ')}${extra.length > 5 ? ` and ${extra.length - 5} more` : ''}`);
  return tensors;
}
