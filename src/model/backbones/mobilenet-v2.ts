// TF DeepLab's MobileNetV2 DeepLabv3 (src/model/networks/mobilenet-v2.ts): a whole network with
// TF's own head (image pooling and a 1x1 branch, no atrous branches in the released files),
// inputs in [-1, 1], resizes with align_corners, and TF's names; its architecture is its width
// multiplier, read from the weights.
import { buildTfMobilenetV2DeepLab } from '../networks/mobilenet-v2.js';
import { mobilenetV2HubConfig, mobilenetV2HubParams } from '../weights/transformers-mobilenet-v2.js';
import { type BackboneArchitecture, type BackboneRecord, architectureCasts } from './backbone.js';

const width = architectureCasts<number>();

const ARCHITECTURE: BackboneArchitecture = {
  default: width.wrap(1),
  // The key our checkpoints have always kept the multiplier under.
  metadataKey: 'depthMultiplier',
  toJson: (a) => width.unwrap(a),
  fromJson(v, what) {
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw new Error(`${what}: the width multiplier ${JSON.stringify(v)} is not a positive number`);
    return width.wrap(v);
  },
};

export const MOBILENET_V2: BackboneRecord = {
  name: 'mobilenet_v2',
  title: "TF's MobileNetV2 DeepLab",
  network: {
    kind: 'whole',
    build: (b, image, cfg, opts) => buildTfMobilenetV2DeepLab(b, image, { ...cfg, depthMultiplier: width.unwrap(opts.architecture), dropout: opts.dropout }),
  },
  architecture: ARCHITECTURE,
  naturalOutputStride: () => 32,
  cascadedBlocks: false,
  multiGrid: true,
  stems: ['v1b'],
  mmsegHead: false,
  decoder: true,
  separableDecoder: false,
  normalization: 'minus_one_one',
  defaults: { asppRates: [], dilationConvention: 'paper', resizeMode: 'align_corners' },
  ownsParam: (name) => name.startsWith('MobilenetV2/'),
  weights: {
    tf: {
      scope: 'MobilenetV2',
      stem: 'MobilenetV2/Conv',
      // The first conv has 32 x multiplier filters.
      architecture: (shape, what) => ARCHITECTURE.fromJson(shape[0] / 32, what),
    },
    // transformers' port (google/deeplabv3_mobilenet_v2_1.0_513) is this network, its batch norms folded on load.
    transformers: {
      modelType: 'mobilenet_v2',
      stem: 'MobilenetV2/Conv/weights',
      read(json, tensors, { numLabels, what, weightsWhat }) {
        const hub = mobilenetV2HubConfig(json, numLabels, what);
        // No atrous branches, and the logits resized as post_process_semantic_segmentation does (align_corners=False).
        const config = { outputStride: hub.outputStride, asppRates: [], resizeMode: 'half_pixel' as const };
        return { architecture: width.wrap(hub.depthMultiplier), config, params: mobilenetV2HubParams(tensors, hub, weightsWhat) };
      },
      export: { why: "a hub MobileNetV2's batch norms are folded on load, so its weights are no longer in transformers' form" },
    },
  },
  export: { torchvision: false, why: "a TF DeepLab MobileNetV2 has no torchvision counterpart; only torchvision's ResNet and MobileNetV3 DeepLabv3 export to its state dict" },
  describeGroups: [[/^MobilenetV2\//, () => 'backbone']],
};
