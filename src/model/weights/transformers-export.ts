// A MobileViT DeepLabV3 (a hub folder loaded here, fine-tuned or not) written back as a Hugging
// Face hub folder that `transformers` and our loader read: config.json with every architectural
// value and the model's classes as id2label, preprocessor_config.json from its input policy, and
// model.safetensors in transformers' names and PyTorch's layouts (linear weights [out, in], the
// stem's input channels back in the processor's BGR order).
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { HostParams } from '../../graph/params.js';
import { writeFileAtomic } from '../../util/write-atomic.js';
import { backboneRecord } from '../backbones/registry.js';
import type { LoadedWeights } from '../loading/loaded-weights.js';
import type { MobileVitArchitecture } from '../networks/mobilevit.js';
import { writeSafetensors } from './import/safetensors.js';
import type { TensorMap } from './import/tensor-map.js';
import { hwioToOihw } from './torchvision.js';

/** The stem conv whose input channels the processor's BGR flip reverses. */
const STEM = 'mobilevit.conv_stem.convolution.weight';
/** Our 1x1 convolutions that are linear layers in transformers (weights [out, in]). */
const LINEAR = /\.(query|key|value|dense)\.weight$/;

function reverseInputChannels(w: { shape: number[]; data: Float32Array }): { shape: number[]; data: Float32Array } {
  const [kh, kw, cin, cout] = w.shape;
  const data = new Float32Array(w.data.length);
  for (let k = 0; k < kh * kw; k++) {
    for (let c = 0; c < cin; c++) data.set(w.data.subarray((k * cin + c) * cout, (k * cin + c + 1) * cout), (k * cin + (cin - 1 - c)) * cout);
  }
  return { shape: w.shape, data };
}

/** config.json, preprocessor_config.json and the tensors of a hub folder for a MobileViT model. */
export function hubFolderContents(w: LoadedWeights, params: HostParams = w.params): { config: Record<string, unknown>; processor: Record<string, unknown>; tensors: TensorMap } {
  if (w.config.backbone !== 'mobilevit') {
    throw new Error(`${w.name}: only a MobileViT DeepLabV3 exports to a hub folder (${w.config.backbone}'s weights are not in transformers' form here: a hub MobileNetV2's batch norms are folded on load)`);
  }
  const arch = backboneRecord(w.config.backbone).architecture.toJson(w.architecture) as MobileVitArchitecture;
  if (w.config.normalization !== 'unit') throw new Error(`${w.name}: a MobileViT hub folder takes x / 255 input, not '${w.config.normalization}'`);
  const p = w.inputPolicy;
  let resize: Record<string, unknown>;
  if (p.kind === 'shortest-edge') {
    resize = { size: { shortest_edge: p.size }, resample: p.filter === 'bicubic' ? 3 : 2, do_center_crop: p.crop !== null, ...(p.crop ? { crop_size: { ...p.crop } } : {}) };
  } else if (p.kind === 'short-side') {
    // A model fine-tuned here on a data set's short side: the processor's shortest edge, bilinear.
    resize = { size: { shortest_edge: p.size }, resample: 2, do_center_crop: false };
  } else {
    throw new Error(`${w.name}: a '${p.kind}' input policy has no hub processor form`);
  }
  const id2label = Object.fromEntries(w.classes.names.map((n, i) => [String(i), n]));
  const config = {
    architectures: ['MobileViTForSemanticSegmentation'],
    model_type: 'mobilevit',
    num_channels: 3,
    neck_hidden_sizes: [...arch.neckHiddenSizes],
    hidden_sizes: [...arch.hiddenSizes],
    expand_ratio: arch.expandRatio,
    mlp_ratio: arch.mlpRatio,
    num_attention_heads: arch.numAttentionHeads,
    patch_size: arch.patchSize,
    conv_kernel_size: arch.convKernelSize,
    layer_norm_eps: arch.layerNormEps,
    qkv_bias: arch.qkvBias,
    hidden_act: arch.hiddenAct,
    output_stride: w.config.outputStride,
    atrous_rates: [...w.config.asppRates],
    aspp_out_channels: w.config.asppChannels,
    aspp_dropout_prob: arch.asppDropoutProb,
    classifier_dropout_prob: arch.classifierDropoutProb,
    semantic_loss_ignore_index: 255,
    id2label,
    label2id: Object.fromEntries(w.classes.names.map((n, i) => [n, i])),
  };
  const processor = {
    image_processor_type: 'MobileViTImageProcessor',
    do_resize: true,
    ...resize,
    do_rescale: true,
    rescale_factor: 1 / 255,
    do_flip_channel_order: true,
  };
  const tensors: TensorMap = new Map();
  for (const [name, t] of params) {
    let data = t.data as Float32Array;
    let shape = [...t.shape];
    if (shape.length === 4) {
      const hwio = name === STEM ? reverseInputChannels({ shape, data }) : { shape, data };
      ({ shape, data } = hwioToOihw(hwio.data, hwio.shape));
      if (LINEAR.test(name)) shape = [shape[0], shape[1]];
    }
    tensors.set(name, { shape, data, sourceDType: 'f32' });
  }
  return { config, processor, tensors };
}

/**
 * The fields transformers' configs type as float, written with a decimal point ("mlp_ratio": 2.0,
 * not 2) as Python writes them: transformers 5 checks the types strictly and refuses an int there.
 */
const FLOAT_FIELDS = ['expand_ratio', 'mlp_ratio', 'layer_norm_eps', 'aspp_dropout_prob', 'classifier_dropout_prob', 'hidden_dropout_prob', 'attention_probs_dropout_prob', 'initializer_range', 'rescale_factor'];
const WHOLE_FLOAT = new RegExp(`^(\\s*"(?:${FLOAT_FIELDS.join('|')})": )(-?\\d+)(,?)$`, 'gm');

/** Writes the hub folder (created if needed; each file written atomically). */
export function writeHubFolder(dir: string, w: LoadedWeights, params: HostParams = w.params): void {
  const { config, processor, tensors } = hubFolderContents(w, params);
  mkdirSync(dir, { recursive: true });
  const json = (o: unknown): Uint8Array => new TextEncoder().encode(`${JSON.stringify(o, null, 2).replace(WHOLE_FLOAT, '$1$2.0$3')}\n`);
  writeFileAtomic(join(dir, 'config.json'), json(config));
  writeFileAtomic(join(dir, 'preprocessor_config.json'), json(processor));
  writeSafetensors(join(dir, 'model.safetensors'), tensors, { format: 'pt' });
}
