// torchvision's MobileNetV3-Large (src/model/networks/mobilenet-v3.ts), `features` only, dilated
// for output stride 16 as deeplabv3_mobilenet_v3_large builds it.
import { buildMobileNetV3Large } from '../networks/mobilenet-v3.js';
import { type BackboneRecord, FIXED_ARCHITECTURE } from './backbone.js';
import { countIndexed } from './state-keys.js';

export const MOBILENET_V3_LARGE: BackboneRecord = {
  name: 'mobilenet_v3_large',
  title: 'MobileNetV3-Large',
  network: {
    kind: 'features',
    build(b, image, cfg) {
      const f = buildMobileNetV3Large(b, image, { outputStride: cfg.outputStride, prefix: 'backbone' });
      return { out: f.out, aux: f.aux, layer4: f.out, lowLevel: f.lowLevel };
    },
  },
  architecture: FIXED_ARCHITECTURE,
  naturalOutputStride: () => 32,
  cascadedBlocks: false,
  multiGrid: true,
  stems: ['v1b'],
  mmsegHead: false,
  decoder: true,
  separableDecoder: true,
  normalization: 'imagenet',
  defaults: { outputStride: 16 },
  ownsParam: (name) => name.startsWith('backbone.'),
  weights: {
    torchvision: { holds: (s) => [...s.keys()].some((k) => /^backbone\.\d+\.block\./.test(k)) },
    torchvisionClassification: {
      // features.0..16 (MobileNetV3-Small has 13, of the same kind of blocks).
      holds: (s) => s.has('features.1.block.0.0.weight') && countIndexed(s, 'features.') === 17,
      // Only its `features` Sequential is wrapped: `backbone.N.*` is `features.N.*`; the two
      // Linear layers of `classifier.*` are dropped.
      filePrefix: 'features.',
      headPrefix: 'classifier.',
    },
  },
  export: { torchvision: true },
  describeGroups: [],
};
