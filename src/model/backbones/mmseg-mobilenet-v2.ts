// mmsegmentation's MobileNetV2 (src/model/networks/mmseg-mobilenet-v2.ts) under mmseg's heads: its
// DeepLabv3 (ASPPHead) and DeepLabv3+ (DepthwiseSeparableASPPHead) configs, D8, as
// configs/mobilenet_v2 builds them on configs/deeplabv3{,plus}/*_r101-d8_*: the heads' 512
// channels, and the FCN head's 256 on layer5's 96.
import { MMSEG_MOBILENET_V2_STRIDE, buildMmsegMobilenetV2 } from '../networks/mmseg-mobilenet-v2.js';
import { type BackboneRecord, FIXED_ARCHITECTURE } from './backbone.js';

export const MMSEG_MOBILENET_V2: BackboneRecord = {
  name: 'mmseg_mobilenet_v2',
  title: "mmseg's MobileNetV2",
  network: {
    kind: 'features',
    build(b, image, cfg) {
      const f = buildMmsegMobilenetV2(b, image, { outputStride: cfg.outputStride, prefix: 'backbone' });
      return { out: f.layer7, aux: f.layer5, layer4: f.layer7, lowLevel: f.layer2 };
    },
  },
  architecture: FIXED_ARCHITECTURE,
  naturalOutputStride: () => MMSEG_MOBILENET_V2_STRIDE,
  cascadedBlocks: false,
  multiGrid: false,
  stems: ['v1b'],
  mmsegHead: true,
  heads: ['mmseg'],
  decoder: true,
  separableDecoder: false,
  normalization: 'imagenet',
  defaults: { head: 'mmseg', dilationConvention: 'mmseg', asppChannels: 512, auxChannels: 256 },
  ownsParam: (name) => name.startsWith('backbone.'),
  weights: {
    mmseg: {
      holds: (s) => s.has('backbone.conv1.conv.weight') && s.has('backbone.layer1.0.conv.0.conv.weight'),
      headChannels: 512,
    },
  },
  export: { torchvision: false, why: "an mmseg MobileNetV2 network has no torchvision DeepLabv3 counterpart; export it as ONNX, or keep it in our checkpoint format (its weights are mmseg's .pth already)" },
  describeGroups: [
    [/^backbone\.layer(\d+)\./, (m) => `block${m[1]}`],
    [/^backbone\.conv1\./, () => 'stem'],
  ],
};
