// TF DeepLab's Xception-65 DeepLabv3+ (src/model/networks/xception.ts, with TF DeepLab's head:
// src/model/networks/tf-head.ts), as the model zoo's xception65_* checkpoints hold it: inputs in
// [-1, 1], resizes with align_corners, TF's variable names, and its batch norms kept as ops (the
// checkpoints' variables load as they are; compile folds them for inference).
import { XCEPTION_SCOPE, buildXception65 } from '../networks/xception.js';
import { type BackboneRecord, FIXED_ARCHITECTURE } from './backbone.js';

export const XCEPTION_65: BackboneRecord = {
  name: 'xception_65',
  title: "TF DeepLab's Xception-65",
  network: {
    kind: 'features',
    build(b, image, cfg) {
      const { out, lowLevel } = buildXception65(b, image, { outputStride: cfg.outputStride, multiGrid: cfg.multiGrid });
      return { out, aux: out, layer4: out, lowLevel };
    },
  },
  architecture: FIXED_ARCHITECTURE,
  naturalOutputStride: () => 32,
  cascadedBlocks: false,
  multiGrid: true,
  stems: ['v1b'],
  mmsegHead: false,
  heads: ['tf'],
  decoder: true,
  separableDecoder: true,
  normalization: 'minus_one_one',
  // The zoo's single-scale evaluation: OS 16, ASPP rates 6, 12, 18, the decoder at stride 4.
  defaults: { head: 'tf', outputStride: 16, asppRates: [6, 12, 18], dilationConvention: 'paper', resizeMode: 'align_corners', decoder: 'deeplabv3plus' },
  ownsParam: (name) => name.startsWith(`${XCEPTION_SCOPE}/`),
  weights: {
    tf: { scope: XCEPTION_SCOPE, stem: `${XCEPTION_SCOPE}/entry_flow/conv1_1`, architecture: () => FIXED_ARCHITECTURE.default, batchNorms: 'kept' },
  },
  export: { torchvision: false, why: "TF DeepLab's Xception-65 has no torchvision counterpart; only torchvision's ResNet and MobileNetV3 DeepLabv3 export to its state dict" },
  describeGroups: [[/^xception_65\//, () => 'backbone']],
};
