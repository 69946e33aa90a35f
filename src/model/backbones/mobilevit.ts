// Apple's MobileViT (v1) DeepLabV3 as `transformers` builds it (src/model/networks/mobilevit.ts):
// a whole network with its own ASPP head, inputs x / 255, transformers' names. Its sizes come
// from a hub folder's config.json (BackboneBuildOptions.mobileVit; xx-small's when none is
// given); the head's values (output stride, rates, channels, classes) from the DeepLab config.
import { MOBILEVIT_XX_SMALL, mobileVitDeepLabLogits } from '../networks/mobilevit.js';
import type { BackboneRecord } from './backbone.js';

export const MOBILEVIT: BackboneRecord = {
  name: 'mobilevit',
  title: 'MobileViT',
  network: {
    kind: 'whole',
    build(b, image, cfg, opts) {
      const arch = opts.mobileVit ?? MOBILEVIT_XX_SMALL;
      const head = { numLabels: cfg.numClasses, outputStride: cfg.outputStride as 8 | 16 | 32, atrousRates: cfg.asppRates, asppOutChannels: cfg.asppChannels };
      return mobileVitDeepLabLogits(b, image, { ...arch, ...head }, { dropout: opts.dropout }).logits;
    },
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
  weights: { transformers: { modelType: 'mobilevit', stem: 'mobilevit.conv_stem.convolution.weight' } },
  export: { torchvision: false, why: "MobileViT has no torchvision counterpart; it exports to ONNX" },
  describeGroups: [
    [/^mobilevit\.conv_stem\./, () => 'stem'],
    [/^mobilevit\.encoder\.layer\.(\d+)\./, (m) => `stage${Number(m[1]) + 1}`],
    [/^segmentation_head\./, () => 'head'],
  ],
};
