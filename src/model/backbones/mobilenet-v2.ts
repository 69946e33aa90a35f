// TF DeepLab's MobileNetV2 DeepLabv3 (src/model/networks/mobilenet-v2.ts): a whole network with
// TF's own head (image pooling and a 1x1 branch, no atrous branches in the released files),
// inputs in [-1, 1], resizes with align_corners, and TF's names. Its architecture is its width
// multiplier, read from the weights, and for transformers' port the batch norms it keeps (TF's
// files fold them into the convolutions).
import { excerpt } from '../../io/reader-rules.js';
import { type MobilenetV2BatchNorms, buildTfMobilenetV2DeepLab } from '../networks/mobilenet-v2.js';
import { MOBILENET_V2_HUB_FLOATS, mobilenetV2HubConfig, mobilenetV2HubJson, mobilenetV2HubParams, mobilenetV2HubTensors } from '../weights/transformers-mobilenet-v2.js';
import { type BackboneArchitecture, type BackboneRecord, architectureCasts } from './backbone.js';

interface MobilenetV2Architecture {
  depthMultiplier: number;
  /** The batch norms kept as their own ops (transformers' port); none: folded (TF's files). */
  batchNorms?: MobilenetV2BatchNorms;
}

const arch = architectureCasts<MobilenetV2Architecture>();

/**
 * transformers builds every batch norm of its MobileNetV2 with momentum 0.997 in PyTorch's
 * convention, so a batch's statistics weigh 0.997 (TF's decay of 0.997 carried over as it is):
 * kept, so that training matches transformers'.
 */
const HUB_BN_MOMENTUM = 0.997;
/** The head's batch norms: transformers builds them with eps 1e-5 whatever the config says. */
const HUB_HEAD_EPS = 1e-5;

function widthFromJson(v: unknown, what: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw new Error(`${what}: the width multiplier ${excerpt(v)} is not a positive number`);
  return v;
}

function batchNormsFromJson(v: unknown, what: string): MobilenetV2BatchNorms {
  const o = (typeof v === 'object' && v !== null && !Array.isArray(v) ? v : {}) as Record<string, unknown>;
  const { eps, headEps, momentum } = o;
  if (!(typeof eps === 'number' && eps >= 0) || !(typeof headEps === 'number' && headEps >= 0) || !(typeof momentum === 'number' && momentum >= 0 && momentum <= 1) || Object.keys(o).length !== 3) {
    throw new Error(`${what}: batchNorms ${excerpt(v)} is not {eps, headEps, momentum} with eps >= 0 and momentum in [0, 1]`);
  }
  return { eps, headEps, momentum };
}

const ARCHITECTURE: BackboneArchitecture = {
  default: arch.wrap({ depthMultiplier: 1 }),
  // The key our checkpoints have always kept the multiplier under: the multiplier alone for TF's
  // folded network, as files have always held it; with the batch norms, an object.
  metadataKey: 'depthMultiplier',
  toJson(a) {
    const { depthMultiplier, batchNorms } = arch.unwrap(a);
    return batchNorms ? { depthMultiplier, batchNorms } : depthMultiplier;
  },
  fromJson(v, what) {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return arch.wrap({ depthMultiplier: widthFromJson(v, what) });
    const o = v as Record<string, unknown>;
    if (Object.keys(o).some((k) => k !== 'depthMultiplier' && k !== 'batchNorms')) throw new Error(`${what}: ${excerpt(v)} is not {depthMultiplier, batchNorms}`);
    return arch.wrap({ depthMultiplier: widthFromJson(o.depthMultiplier, what), batchNorms: batchNormsFromJson(o.batchNorms, what) });
  },
};

export const MOBILENET_V2: BackboneRecord = {
  name: 'mobilenet_v2',
  title: "TF's MobileNetV2 DeepLab",
  network: {
    kind: 'whole',
    build: (b, image, cfg, opts) => buildTfMobilenetV2DeepLab(b, image, { ...cfg, ...arch.unwrap(opts.architecture), dropout: opts.dropout }),
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
    // transformers' port (google/deeplabv3_mobilenet_v2_1.0_513) is this network with its batch norms kept.
    transformers: {
      modelType: 'mobilenet_v2',
      stem: 'MobilenetV2/Conv/weights',
      read(json, tensors, { numLabels, what, weightsWhat }) {
        const hub = mobilenetV2HubConfig(json, numLabels, what);
        // No atrous branches, and the logits resized as post_process_semantic_segmentation does (align_corners=False).
        const config = { outputStride: hub.outputStride, asppRates: [], resizeMode: 'half_pixel' as const };
        const batchNorms = { eps: hub.eps, headEps: HUB_HEAD_EPS, momentum: HUB_BN_MOMENTUM };
        return { architecture: arch.wrap({ depthMultiplier: hub.depthMultiplier, batchNorms }), config, params: mobilenetV2HubParams(tensors, weightsWhat) };
      },
      export: {
        refusal(a, cfg) {
          const { batchNorms } = arch.unwrap(a);
          if (!batchNorms) return "TF DeepLab's files fold its batch norms into the convolutions, and transformers' MobileNetV2 keeps them";
          if (batchNorms.headEps !== HUB_HEAD_EPS || batchNorms.momentum !== HUB_BN_MOMENTUM) return `its head's batch-norm eps ${batchNorms.headEps} and momentum ${batchNorms.momentum} are not transformers' (${HUB_HEAD_EPS}, ${HUB_BN_MOMENTUM})`;
          if (cfg.decoder !== 'none' || cfg.asppRates.length > 0 || !cfg.imagePooling) return "transformers' MobileNetV2 head is image pooling and a 1x1 branch alone (no atrous branches, no DeepLabv3+ decoder)";
          return undefined;
        },
        config(a, cfg) {
          const { depthMultiplier, batchNorms } = arch.unwrap(a);
          return mobilenetV2HubJson({ depthMultiplier, outputStride: cfg.outputStride, eps: batchNorms!.eps });
        },
        floatFields: MOBILENET_V2_HUB_FLOATS,
        // The processor feeds (x / 255 - 0.5) / 0.5 in RGB order.
        processor: { image_processor_type: 'MobileNetV2ImageProcessor', do_normalize: true, image_mean: [0.5, 0.5, 0.5], image_std: [0.5, 0.5, 0.5] },
        tensors: mobilenetV2HubTensors,
      },
    },
  },
  export: { torchvision: false, why: "a TF DeepLab MobileNetV2 has no torchvision counterpart; only torchvision's ResNet and MobileNetV3 DeepLabv3 export to its state dict" },
  describeGroups: [[/^MobilenetV2\//, () => 'backbone']],
};
