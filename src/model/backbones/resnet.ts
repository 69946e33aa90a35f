// The ResNet backbones (src/model/networks/resnet.ts): torchvision's ResNet-50 and -101 and
// mmsegmentation's ResNet-18, -50 and -101 (V1b or the deep-stem V1c), with cascaded blocks
// and multi-grid on the bottleneck ResNets.
import { RESNET_BLOCKS, type ResNetDepth, buildResNet } from '../networks/resnet.js';
import { type BackboneRecord, FIXED_ARCHITECTURE, type StateKeys } from './backbone.js';
import { countIndexed } from './state-keys.js';

/** The stem (conv s2 + max-pool s2) reaches 4; block2..block4 and every cascaded block halve the map. */
const naturalOutputStride = (blocks: number): number => 2 ** (blocks + 1);

function resnet(depth: ResNetDepth): BackboneRecord {
  const bottleneck = depth !== 18;
  const layer3 = RESNET_BLOCKS[depth][2];
  // torchvision builds DeepLabv3 on the bottleneck ResNets it ships, 50 and 101.
  const torchvision = depth === 50 || depth === 101;
  return {
    name: `resnet${depth}` as const,
    title: `ResNet-${depth}`,
    network: {
      kind: 'features',
      build(b, image, cfg) {
        const f = buildResNet(b, image, {
          depth,
          stem: cfg.stem,
          outputStride: cfg.outputStride,
          dilationConvention: cfg.dilationConvention,
          multiGrid: cfg.multiGrid,
          blocks: cfg.blocks,
          atrous: cfg.atrous,
          prefix: 'backbone',
        });
        // torchvision's IntermediateLayerGetter: layer4 -> 'out', layer3 -> 'aux'; with cascaded
        // blocks the head reads the last one (paper Fig. 3). DeepLabv3+ reads layer1 (256
        // channels, stride 4), as the paper's ResNet-101 decoder does.
        return { out: f.out, aux: f.layer3, layer4: f.layer4, lowLevel: f.layer1 };
      },
    },
    architecture: FIXED_ARCHITECTURE,
    naturalOutputStride,
    // Cascaded blocks are bottleneck replicas; ResNet-18's block4 has two units, so no multi-grid.
    cascadedBlocks: bottleneck,
    multiGrid: bottleneck,
    stems: ['v1b', 'v1c'],
    mmsegHead: true,
    // VainF's DeepLabV3Plus-Pytorch builds on torchvision's ResNet-50 and -101.
    ...(torchvision ? { heads: ['torchvision', 'mmseg', 'vainf'] as const } : {}),
    decoder: true,
    separableDecoder: false,
    normalization: 'imagenet',
    defaults: {},
    ownsParam: (name) => name.startsWith('backbone.'),
    weights: {
      ...(torchvision
        ? {
            torchvision: { holds: (s) => s.has('backbone.conv1.weight') && countIndexed(s, 'backbone.layer3.') === layer3 },
            torchvisionClassification: {
              holds: (s) => s.has('conv1.weight') && s.has('layer1.0.conv3.weight') && countIndexed(s, 'layer3.') === layer3,
              // The whole network is wrapped: `backbone.<key>` is `<key>`; `fc.*` is dropped.
              filePrefix: '',
              headPrefix: 'fc.',
            },
          }
        : {}),
      ...(torchvision ? { vainf: { holds: (s: StateKeys) => s.has('backbone.conv1.weight') && countIndexed(s, 'backbone.layer3.') === layer3 } } : {}),
      mmseg: {
        holds: (s) => s.has('backbone.layer1.0.conv1.weight') && s.has('backbone.layer1.0.conv3.weight') === bottleneck && countIndexed(s, 'backbone.layer3.') === layer3,
        headChannels: depth === 18 ? 128 : 512,
      },
    },
    export: torchvision
      ? { torchvision: true }
      : { torchvision: false, why: 'an mmseg DeepLabv3 has no torchvision counterpart; export it as ONNX, or keep it in our checkpoint format (its weights are mmseg\'s .pth already)' },
    describeGroups: [
      [/^backbone\.layer(\d+)\./, (m) => `block${m[1]}`],
      [/^backbone\.(conv1|bn1|maxpool)$/, () => 'stem'],
      [/^backbone\.stem\./, () => 'stem'],
    ],
  };
}

export const RESNET18 = resnet(18);
export const RESNET50 = resnet(50);
export const RESNET101 = resnet(101);
