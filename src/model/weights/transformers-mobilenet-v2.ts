// transformers' MobileNetV2 DeepLabV3 (MobileNetV2ForSemanticSegmentation, the port of TF
// DeepLab's MobileNetV2) onto our TF MobileNetV2 network (src/model/networks/mobilenet-v2.ts),
// which is the same network in TF's names with batch norms folded into conv biases: the
// config.json values it is built from, each checked against what that network is, and the
// tensors renamed to TF's scopes with every batch norm folded (inference weights).
import type { HostParams } from '../../graph/params.js';
import { MOBILENET_V2_LAYER_COUNT, expandedConvScope } from '../networks/mobilenet-v2.js';
import type { TensorMap } from './import/tensor-map.js';
import { oihwToHwio } from './layouts.js';

export interface MobilenetV2HubConfig {
  outputStride: number;
  depthMultiplier: number;
  /** The backbone's batch-norm eps (config layer_norm_eps; the head's are 1e-5). */
  eps: number;
  numLabels: number;
}

/** The head's batch norms: transformers builds them with eps 1e-5 whatever the config says. */
const HEAD_EPS = 1e-5;

/** config.json's values, each one our network can take; anything else refused naming the key. */
export function mobilenetV2HubConfig(json: Record<string, unknown>, numLabels: number, what = 'config.json'): MobilenetV2HubConfig {
  const fail = (key: string, why: string): never => {
    throw new Error(`${what}: ${key} ${why}, got ${JSON.stringify(json[key])}`);
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
  if (typeof depthMultiplier !== 'number' || !(depthMultiplier > 0)) fail('depth_multiplier', 'must be a positive number');
  const outputStride = value('output_stride', 32);
  if (outputStride !== 8 && outputStride !== 16 && outputStride !== 32) fail('output_stride', 'must be 8, 16 or 32');
  const eps = value('layer_norm_eps', 0.001);
  if (typeof eps !== 'number' || !(eps >= 0)) fail('layer_norm_eps', 'must be a number >= 0');
  return { outputStride: outputStride as number, depthMultiplier: depthMultiplier as number, eps: eps as number, numLabels };
}

/** transformers' layer prefix -> our TF scope, and the eps of the batch norm after it (none: a conv with bias). */
function scopes(): [string, string, number | 'backbone' | null][] {
  const bb = 'mobilenet_v2';
  const out: [string, string, number | 'backbone' | null][] = [
    [`${bb}.conv_stem.first_conv`, 'MobilenetV2/Conv', 'backbone'],
    [`${bb}.conv_stem.conv_3x3`, `${expandedConvScope(0)}/depthwise`, 'backbone'],
    [`${bb}.conv_stem.reduce_1x1`, `${expandedConvScope(0)}/project`, 'backbone'],
  ];
  for (let i = 0; i + 1 < MOBILENET_V2_LAYER_COUNT; i++) {
    for (const [from, to] of [['expand_1x1', 'expand'], ['conv_3x3', 'depthwise'], ['reduce_1x1', 'project']]) out.push([`${bb}.layer.${i}.${from}`, `${expandedConvScope(i + 1)}/${to}`, 'backbone']);
  }
  out.push(['segmentation_head.conv_pool', 'image_pooling', HEAD_EPS], ['segmentation_head.conv_aspp', 'aspp0', HEAD_EPS], ['segmentation_head.conv_projection', 'concat_projection', HEAD_EPS]);
  out.push(['segmentation_head.classifier', 'logits/semantic', null]);
  return out;
}

/**
 * The checkpoint's tensors as our network's parameters: conv weights to HWIO, each batch norm
 * folded into its conv (w * gamma / sqrt(var + eps), beta - mean * gamma / sqrt(var + eps), in
 * double). The backbone's final 1x1 conv (conv_1x1, the classifier's features) is not part
 * of the segmentation network and is left out; anything else unknown is an error.
 */
export function mobilenetV2HubParams(tensors: TensorMap, cfg: MobilenetV2HubConfig, what: string): HostParams {
  const params: HostParams = new Map();
  const used = new Set<string>();
  const take = (name: string): { shape: readonly number[]; data: Float32Array } => {
    const t = tensors.get(name);
    if (!t) throw new Error(`${what}: no tensor '${name}'`);
    used.add(name);
    return { shape: t.shape, data: t.data as Float32Array };
  };
  for (const [from, to, headEps] of scopes()) {
    const w = take(`${from}.convolution.weight`);
    if (w.shape.length !== 4) throw new Error(`${what}: ${from}.convolution.weight is not a 4-D convolution weight (shape ${JSON.stringify(w.shape)})`);
    const hwio = oihwToHwio(w.data, w.shape);
    const cout = hwio.shape[3];
    const bias = new Float32Array(cout);
    if (headEps === null) {
      bias.set(take(`${from}.convolution.bias`).data);
    } else {
      const eps = headEps === 'backbone' ? cfg.eps : headEps;
      const [gamma, beta, mean, variance] = ['weight', 'bias', 'running_mean', 'running_var'].map((k) => take(`${from}.normalization.${k}`).data);
      if (gamma.length !== cout) throw new Error(`${what}: ${from}.normalization has ${gamma.length} channels, its convolution ${cout}`);
      used.add(`${from}.normalization.num_batches_tracked`);
      for (let o = 0; o < cout; o++) {
        const scale = gamma[o] / Math.sqrt(variance[o] + eps);
        for (let i = o; i < hwio.data.length; i += cout) hwio.data[i] *= scale;
        bias[o] = beta[o] - mean[o] * scale;
      }
    }
    params.set(`${to}/weights`, hwio);
    params.set(`${to}/biases`, { shape: [cout], data: bias });
  }
  const unknown = [...tensors.keys()].filter((k) => !used.has(k) && !k.startsWith('mobilenet_v2.conv_1x1.'));
  if (unknown.length) throw new Error(`${what}: tensors not in a MobileNetV2 DeepLabV3: ${unknown.slice(0, 5).join(', ')}${unknown.length > 5 ? ` and ${unknown.length - 5} more` : ''}`);
  return params;
}
