// Apple's MobileViTV2 DeepLabV3 as `transformers` builds it (src/model/networks/mobilevitv2.ts):
// a whole network with MobileViT's ASPP head, inputs x / 255, transformers' names (its qkv
// projections split in three). Its architecture is its sizes, from a hub folder's config.json
// (width 1.0's when none is given); the head's values (output stride, rates, channels, classes)
// are the DeepLab config's.
import {
  MOBILEVITV2_1_0,
  MOBILEVITV2_HUB_FLOATS,
  type MobileVitV2Architecture,
  mobileVitV2ArchitectureFromJson,
  mobileVitV2ConfigFromHub,
  mobileVitV2DeepLabLogits,
  mobileVitV2HubConfig,
} from '../networks/mobilevitv2.js';
import type { DeepLabConfig } from '../networks/config-types.js';
import { headValuesOf, splitHubConfig } from '../networks/mobilevit-config.js';
import { mobileVitV2Params, mobileVitV2Tensors } from '../weights/transformers-mobilevitv2.js';
import { type Architecture, type BackboneRecord, architectureCasts } from './backbone.js';

const sizes = architectureCasts<MobileVitV2Architecture>();

/** The network's whole configuration: the architecture under the DeepLab config's head values. */
const networkConfig = (a: Architecture, cfg: DeepLabConfig) => ({ ...sizes.unwrap(a), ...headValuesOf(cfg) });

export const MOBILEVITV2: BackboneRecord = {
  name: 'mobilevitv2',
  title: 'MobileViTV2',
  network: {
    kind: 'whole',
    build: (b, image, cfg, opts) => mobileVitV2DeepLabLogits(b, image, networkConfig(opts.architecture, cfg), { dropout: opts.dropout }).logits,
  },
  architecture: {
    default: sizes.wrap(MOBILEVITV2_1_0),
    metadataKey: 'mobileVitV2',
    toJson: (a) => sizes.unwrap(a),
    fromJson: (v, what) => sizes.wrap(mobileVitV2ArchitectureFromJson(v, what)),
  },
  naturalOutputStride: () => 32,
  cascadedBlocks: false,
  multiGrid: true,
  stems: ['v1b'],
  mmsegHead: false,
  decoder: false,
  separableDecoder: false,
  normalization: 'unit',
  // apple/mobilevitv2-1.0-voc-deeplabv3's head.
  defaults: { outputStride: 8, asppRates: [12, 24, 36], asppChannels: 512, resizeMode: 'half_pixel' },
  ownsParam: (name) => name.startsWith('mobilevitv2.'),
  weights: {
    transformers: {
      modelType: 'mobilevitv2',
      stem: 'mobilevitv2.conv_stem.convolution.weight',
      read(json, tensors, { what, weightsWhat }) {
        // The head's values live in the DeepLab config: they change with a fine-tune or another stride.
        const { architecture, config } = splitHubConfig(mobileVitV2ConfigFromHub(json, what));
        return { architecture: sizes.wrap(architecture), config, params: mobileVitV2Params(tensors, weightsWhat) };
      },
      export: {
        config: (a, cfg) => mobileVitV2HubConfig(networkConfig(a, cfg)),
        floatFields: MOBILEVITV2_HUB_FLOATS,
        // The processor feeds x / 255 in BGR order, unnormalised (MobileViT's processor).
        processor: { image_processor_type: 'MobileViTImageProcessor', do_flip_channel_order: true },
        tensors: mobileVitV2Tensors,
      },
    },
  },
  export: { torchvision: false, why: 'MobileViTV2 has no torchvision counterpart; it exports to ONNX and to a hub folder' },
  describeGroups: [
    [/^mobilevitv2\.conv_stem\./, () => 'stem'],
    [/^mobilevitv2\.encoder\.layer\.(\d+)\./, (m) => `stage${Number(m[1]) + 1}`],
    [/^segmentation_head\./, () => 'head'],
  ],
};
