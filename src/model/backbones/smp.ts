// segmentation_models_pytorch's encoders as one backbone: its architecture is the encoder's name
// and depth (config.json's `encoder_name`, `encoder_depth`), and its network whichever encoder
// smp-encoders.ts builds under that name. smp's own decoders sit on it (config `head: 'smp'`).
import { excerpt } from '../../io/reader-rules.js';
import { type BackboneRecord, architectureCasts } from './backbone.js';
import { type SmpEncoderSize, smpEncoder } from './smp-encoders.js';

/**
 * An smp model's encoder: smp's name for it and the features it is built to (encoder_depth, 3..5);
 * and the activation smp applies after the head (config.json's `activation`: none changes a label,
 * and the logits here are before it), kept to be written back.
 */
export interface SmpArchitecture {
  encoder: string;
  depth: number;
  activation: string | null;
}

/** The activations smp may apply after the head that leave the labels as the logits give them. */
export const SMP_ACTIVATIONS: readonly (string | null)[] = [null, 'identity', 'sigmoid', 'softmax', 'softmax2d', 'logsoftmax'];

const casts = architectureCasts<SmpArchitecture>();

/** The architecture of config.json's encoder_name, encoder_depth and activation, each checked; `what` names the source in errors. */
export function smpArchitecture(encoder: unknown, depth: unknown, activation: unknown, what: string) {
  smpEncoder(encoder, what);
  if (depth !== 3 && depth !== 4 && depth !== 5) throw new Error(`${what}: encoder_depth ${excerpt(depth)} is not supported (expected 3, 4 or 5: a DeepLab reads the /8 feature at least)`);
  if (!SMP_ACTIVATIONS.includes(activation as string | null)) {
    throw new Error(`${what}: activation ${excerpt(activation)} is not supported (expected ${SMP_ACTIVATIONS.map((a) => JSON.stringify(a)).join(', ')}: activations that keep the labels)`);
  }
  return casts.wrap({ encoder: encoder as string, depth, activation: activation as string | null });
}

/** The encoder name and depth of an smp architecture (the loader and the smp export read them). */
export function smpArchitectureOf(a: Parameters<typeof casts.unwrap>[0]): SmpArchitecture {
  return casts.unwrap(a);
}

export const SMP: BackboneRecord = {
  name: 'smp',
  title: 'an smp encoder',
  network: {
    kind: 'features',
    build(b, image, cfg, { architecture }) {
      const a = casts.unwrap(architecture);
      const size: SmpEncoderSize = { outputStride: cfg.outputStride, depth: a.depth };
      const f = smpEncoder(a.encoder, 'smp encoder').build(b, image, size);
      const [out, lowLevel] = [f[f.length - 1], f[1]];
      // smp's DeepLabV3Plus reads features[2], the /4 one, whatever the depth; only /2 may be empty.
      if (!out || !lowLevel) throw new Error(`smp encoder ${a.encoder}: no /4 or last feature`);
      return { out, aux: out, layer4: out, lowLevel };
    },
  },
  architecture: {
    default: casts.wrap({ encoder: 'resnet34', depth: 5, activation: null }),
    metadataKey: 'smp_encoder',
    toJson: (a) => casts.unwrap(a),
    fromJson(v, what) {
      if (typeof v !== 'object' || v === null) throw new Error(`${what}: smp_encoder must be an object { encoder, depth, activation }, got ${excerpt(v)}`);
      const o = v as Record<string, unknown>;
      return smpArchitecture(o.encoder, o.depth, o.activation ?? null, what);
    },
  },
  naturalOutputStride: () => 32,
  cascadedBlocks: false,
  multiGrid: false,
  stems: ['v1b'],
  mmsegHead: false,
  heads: ['smp'],
  inputChannels: 'any',
  decoder: true,
  separableDecoder: false,
  normalization: 'imagenet',
  defaults: { head: 'smp', outputStride: 16, asppRates: [12, 24, 36], resizeMode: 'align_corners' },
  ownsParam: (name) => name.startsWith('encoder.'),
  weights: { smp: { architecture: smpArchitecture } },
  export: { torchvision: false, why: "an smp model exports to smp's own folder (deeplab export --format smp), or to ONNX" },
  describeGroups: [
    [/^encoder\.(?:model\.)?(layer\d+|features\.\d+|_?blocks\.\d+)/, (m) => m[1]],
    // MiT: a stage is its patch embedding, blocks and closing norm.
    [/^encoder\.(?:patch_embed|block|norm)(\d)/, (m) => `stage${m[1]}`],
    // DPN's blocks by stage: conv2_1 .. conv2_3 as conv2, conv5_bn_ac with conv5.
    [/^encoder\.features\.(conv[2-5])_/, (m) => m[1]],
    [/^encoder\./, () => 'stem'],
  ],
};
