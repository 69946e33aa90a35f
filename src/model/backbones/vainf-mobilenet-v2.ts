// VainF/DeepLabV3Plus-Pytorch's MobileNetV2 (src/model/networks/vainf-mobilenet-v2.ts): its own
// padding (an unpadded stem, each block's input padded before its expansion), so not
// torchvision's MobileNetV2 nor TF's. Only VainF's heads sit on it.
import { buildVainfMobilenetV2 } from '../networks/vainf-mobilenet-v2.js';
import { type BackboneRecord, FIXED_ARCHITECTURE } from './backbone.js';

export const VAINF_MOBILENET_V2: BackboneRecord = {
  name: 'vainf_mobilenet_v2',
  title: "VainF's MobileNetV2",
  network: {
    kind: 'features',
    build(b, image, cfg) {
      const f = buildVainfMobilenetV2(b, image, { outputStride: cfg.outputStride, prefix: 'backbone' });
      // No auxiliary head is built on it: VainF's heads have none.
      return { out: f.out, aux: f.out, layer4: f.out, lowLevel: f.lowLevel };
    },
  },
  architecture: FIXED_ARCHITECTURE,
  naturalOutputStride: () => 32,
  cascadedBlocks: false,
  multiGrid: false,
  stems: ['v1b'],
  mmsegHead: false,
  heads: ['vainf'],
  decoder: true,
  separableDecoder: false,
  normalization: 'imagenet',
  // Its published files: output stride 16, ASPP rates 6, 12, 18 (_segm_mobilenet's at 16).
  defaults: { head: 'vainf', outputStride: 16, asppRates: [6, 12, 18] },
  ownsParam: (name) => name.startsWith('backbone.'),
  weights: {
    vainf: { holds: (s) => s.has('backbone.low_level_features.0.0.weight') && s.has('backbone.high_level_features.4.conv.0.0.weight') },
  },
  export: { torchvision: false, why: "VainF's MobileNetV2 pads as torchvision's does not, so it has no torchvision counterpart; export it as ONNX, or keep it in our checkpoint format" },
  describeGroups: [
    [/^backbone\.low_level_features\.0\./, () => 'stem'],
    [/^backbone\.(low|high)_level_features\./, () => 'backbone'],
  ],
};
