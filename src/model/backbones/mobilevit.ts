// Apple's MobileViT (v1) DeepLabV3 as `transformers` builds it (src/model/networks/mobilevit.ts):
// a whole network with its own ASPP head, inputs x / 255, transformers' names. Its architecture
// is its sizes, from a hub folder's config.json (xx-small's when none is given); the head's
// values (output stride, rates, channels, classes) are the DeepLab config's.
import { mobileVitDeepLabLogits } from '../networks/mobilevit.js';
import {
  MOBILEVIT_HUB_FLOATS,
  MOBILEVIT_XX_SMALL,
  type MobileVitArchitecture,
  headValuesOf,
  mobileVitArchitectureFromJson,
  mobileVitConfigFromHub,
  mobileVitHubConfig,
  splitHubConfig,
} from '../networks/mobilevit-config.js';
import { transformersParams, transformersTensors } from '../weights/transformers.js';
import { type BackboneRecord, architectureCasts } from './backbone.js';

const sizes = architectureCasts<MobileVitArchitecture>();

/** Our 1x1 convolutions that are linear layers in transformers (weights [out, in]). */
const LINEAR = /\.(query|key|value|dense)\.weight$/;

export const MOBILEVIT: BackboneRecord = {
  name: 'mobilevit',
  title: 'MobileViT',
  network: {
    kind: 'whole',
    build(b, image, cfg, opts) {
      return mobileVitDeepLabLogits(b, image, { ...sizes.unwrap(opts.architecture), ...headValuesOf(cfg) }, { dropout: opts.dropout }).logits;
    },
  },
  architecture: {
    default: sizes.wrap(MOBILEVIT_XX_SMALL),
    // The key our checkpoints have always kept the sizes under.
    metadataKey: 'mobileVit',
    toJson: (a) => sizes.unwrap(a),
    fromJson: (v, what) => sizes.wrap(mobileVitArchitectureFromJson(v, what)),
  },
  naturalOutputStride: () => 32,
  cascadedBlocks: false,
  multiGrid: true,
  stems: ['v1b'],
  mmsegHead: false,
  decoder: false,
  separableDecoder: false,
  normalization: 'unit',
  defaults: { outputStride: 16, asppRates: [6, 12, 18], resizeMode: 'half_pixel' },
  ownsParam: (name) => name.startsWith('mobilevit.'),
  weights: {
    transformers: {
      modelType: 'mobilevit',
      stem: 'mobilevit.conv_stem.convolution.weight',
      read(json, tensors, { what }) {
        // The head's values live in the DeepLab config: they change with a fine-tune or another stride.
        const { architecture, config } = splitHubConfig(mobileVitConfigFromHub(json, what));
        return { architecture: sizes.wrap(architecture), config, params: transformersParams(tensors) };
      },
      export: {
        config: (a, cfg) => mobileVitHubConfig({ ...sizes.unwrap(a), ...headValuesOf(cfg) }),
        floatFields: MOBILEVIT_HUB_FLOATS,
        // The processor feeds x / 255 in BGR order, unnormalised.
        processor: { image_processor_type: 'MobileViTImageProcessor', do_flip_channel_order: true },
        tensors: (params) => transformersTensors(params, LINEAR),
      },
    },
  },
  export: { torchvision: false, why: "MobileViT has no torchvision counterpart; it exports to ONNX" },
  describeGroups: [
    [/^mobilevit\.conv_stem\./, () => 'stem'],
    [/^mobilevit\.encoder\.layer\.(\d+)\./, (m) => `stage${Number(m[1]) + 1}`],
    [/^segmentation_head\./, () => 'head'],
  ],
};
