// The ResNet encoders of segmentation_models_pytorch: its own (resnet18..152, resnext50_32x4d,
// resnext101_32xNd: torchvision's ResNet, `fc` deleted) and timm's through `tu-` (timm's ResNet,
// which has torchvision's names and arithmetic), at smp's output stride.
//
// How a stage past the output stride is dilated differs by source:
//  - smp's own encoders (EncoderMixin.make_dilated): every conv of the stage runs at stride 1 with
//    the stage's rate (stage stride / output stride), its first block included, and a
//    BasicBlock's second 3x3 conv too;
//  - timm (`output_stride`): the stage's first block keeps the previous rate in its first 3x3 conv
//    (a BasicBlock's conv1, a Bottleneck's conv2) and takes the new one in a BasicBlock's conv2;
//    later blocks take the new rate throughout.
// Features as smp hands them to its decoders: relu(bn1) at /2, layer1 (after the max pool) at /4,
// layer2 /8, layer3 /16, layer4 /32, the last `depth` of them built (encoder_depth).
import type { GraphBuilder } from '../../graph/builder.js';
import type { Value } from '../../graph/ir.js';
import { type BlockGeometry, STAGE_PLANES, resnetBasicBlock, resnetBottleneck, resnetStem } from './resnet.js';

export interface SmpResNetOptions {
  /** Units per stage (layer1..layer4). */
  units: readonly [number, number, number, number];
  /** BasicBlocks (resnet18, resnet34) or Bottlenecks. */
  bottleneck: boolean;
  /** ResNeXt's cardinality and width per group (1 and 64: plain ResNet). */
  groups: number;
  widthPerGroup: number;
  /** Stride of the deepest feature: 8, 16 or 32 (smp's `encoder_output_stride`). */
  outputStride: number;
  /** Stages built (smp's `encoder_depth`, 3..5): the features at /2 .. /2^depth. */
  depth: number;
  /** Whose dilation rule: smp's make_dilated or timm's output_stride. */
  dilation: 'smp' | 'timm';
  /** State-dict prefix: 'encoder' (smp's own), 'encoder.model' (timm's). */
  prefix: string;
}

/** Each built stage's unit geometries under the encoder's dilation rule. */
export function smpResNetGeometry(o: Pick<SmpResNetOptions, 'units' | 'outputStride' | 'depth' | 'dilation'>): BlockGeometry[][] {
  const stages: BlockGeometry[][] = [];
  // The stage's stride without dilation, and the rate it gets past the output stride.
  let stageStride = 4;
  let rate = 1;
  for (let s = 0; s < o.depth - 1; s++) {
    const nominal = s === 0 ? 1 : 2;
    const previous = rate;
    stageStride *= nominal;
    const dilated = stageStride > o.outputStride;
    if (dilated) rate = stageStride / o.outputStride;
    const stride = dilated ? 1 : nominal;
    stages.push(
      Array.from({ length: o.units[s] }, (_, i): BlockGeometry => {
        const first = i === 0 && o.dilation === 'timm' ? previous : rate;
        return { stride: i === 0 ? stride : 1, dilation: first, dilation2: rate };
      }),
    );
  }
  return stages;
}

/** The encoder on an NHWC image: its features at /2, /4, ... (smp's `features[1:]`). */
export function buildSmpResNet(b: GraphBuilder, image: Value, o: SmpResNetOptions): Value[] {
  const p = o.prefix;
  let x = resnetStem(b, image, p, 'v1b');
  const features = [x];
  x = b.pool2d(`${p}.maxpool`, x, { kind: 'max', kernelH: 3, kernelW: 3, strideH: 2, strideW: 2, padTop: 1, padBottom: 1, padLeft: 1, padRight: 1, countIncludePad: false });
  smpResNetGeometry(o).forEach((stage, s) => {
    const planes = STAGE_PLANES[s];
    const shape = { width: Math.floor((planes * o.widthPerGroup) / 64) * o.groups, groups: o.groups };
    stage.forEach((g, i) => {
      const name = `${p}.layer${s + 1}.${i}`;
      x = o.bottleneck ? resnetBottleneck(b, x, name, planes, g, false, shape) : resnetBasicBlock(b, x, name, planes, g);
    });
    features.push(x);
  });
  return features;
}

