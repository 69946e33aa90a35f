// Bottleneck ResNet-50/101 backbone as torchvision builds it (torchvision/models/resnet.py),
// with the output stride reached by replacing stage strides by atrous rates.
//
// Details that change the numbers: the stride sits on the 3x3 conv (conv2, "ResNet v1.5");
// the first block of each stage has a 1x1 downsample conv + BN on the shortcut; BN eps 1e-5;
// ReLU after the residual add. Parameter names follow the state dict (`<prefix>.layer3.4.conv2.weight`).
import type { GraphBuilder } from '../graph/builder.js';
import type { Value } from '../graph/ir.js';
import type { DeepLabConfig } from './config.js';
import { convBnAct } from './layers.js';

export type ResNetDepth = 50 | 101;

/** Bottleneck blocks per stage (layer1..layer4). */
export const RESNET_BLOCKS: Record<ResNetDepth, readonly [number, number, number, number]> = {
  50: [3, 4, 6, 3],
  101: [3, 4, 23, 3],
};

const STAGE_PLANES = [64, 128, 256, 512] as const;
const STAGE_STRIDES = [1, 2, 2, 2] as const;
const EXPANSION = 4;
const BN_EPS = 1e-5;
/** The stem (conv s2 + max-pool s2) leaves the features at stride 4. */
const STEM_STRIDE = 4;

export interface BlockGeometry {
  stride: number;
  dilation: number;
}

export interface ResNetOptions {
  depth: ResNetDepth;
  outputStride: number;
  dilationConvention: DeepLabConfig['dilationConvention'];
  /** Unit rates of layer4's blocks, multiplied by its rate. */
  multiGrid: readonly number[];
  /** State-dict prefix: 'backbone' in torchvision's segmentation models. */
  prefix: string;
}

/**
 * Stride and dilation of every block, stage by stage. A stage whose stride would take the
 * features past `outputStride` runs at stride 1 and doubles the rate instead (torchvision's
 * replace_stride_with_dilation: OS 8 = [F,T,T], OS 16 = [F,F,T], OS 32 = [F,F,F]).
 * 'torchvision' keeps the previous rate on the stage's first block (the one that would have
 * strided); 'paper' gives every block the new rate.
 */
export function resnetGeometry(opts: Omit<ResNetOptions, 'prefix'>): BlockGeometry[][] {
  const blocks = RESNET_BLOCKS[opts.depth];
  if (!blocks) throw new Error(`resnet: depth must be 50 or 101, got ${String(opts.depth)}`);
  if (![8, 16, 32].includes(opts.outputStride)) throw new Error(`resnet: output stride must be 8, 16 or 32, got ${opts.outputStride}`);
  if (opts.multiGrid.length !== blocks[3]) {
    throw new Error(`resnet: multiGrid needs ${blocks[3]} unit rates (one per layer4 block), got ${JSON.stringify(opts.multiGrid)}`);
  }
  let current = STEM_STRIDE;
  let dilation = 1;
  return blocks.map((count, s) => {
    let stride: number = STAGE_STRIDES[s];
    const previous = dilation;
    if (stride > 1 && current * stride > opts.outputStride) {
      dilation *= stride;
      stride = 1;
    } else {
      current *= stride;
    }
    const stage: BlockGeometry[] = [];
    for (let i = 0; i < count; i++) {
      let d = i === 0 && opts.dilationConvention === 'torchvision' ? previous : dilation;
      if (s === 3) d *= opts.multiGrid[i];
      stage.push({ stride: i === 0 ? stride : 1, dilation: d });
    }
    return stage;
  });
}

/** torchvision's Bottleneck: 1x1 -> 3x3 (stride, dilation) -> 1x1 x4, shortcut, add, ReLU. */
function bottleneck(b: GraphBuilder, x: Value, name: string, planes: number, g: BlockGeometry): Value {
  const outC = planes * EXPANSION;
  const needsDownsample = g.stride !== 1 || x.shape[3] !== outC;
  const identity = needsDownsample
    ? convBnAct(b, x, { name: `${name}.downsample.0`, bn: `${name}.downsample.1`, kernel: 1, cout: outC, stride: g.stride, eps: BN_EPS })
    : x;
  let y = convBnAct(b, x, { name: `${name}.conv1`, bn: `${name}.bn1`, kernel: 1, cout: planes, eps: BN_EPS, activation: 'relu' });
  y = convBnAct(b, y, {
    name: `${name}.conv2`,
    bn: `${name}.bn2`,
    kernel: 3,
    cout: planes,
    stride: g.stride,
    dilation: g.dilation,
    padding: g.dilation,
    eps: BN_EPS,
    activation: 'relu',
  });
  y = convBnAct(b, y, { name: `${name}.conv3`, bn: `${name}.bn3`, kernel: 1, cout: outC, eps: BN_EPS });
  return b.addValues(name, y, identity, 'relu');
}

export interface ResNetFeatures {
  layer1: Value;
  layer2: Value;
  layer3: Value;
  layer4: Value;
}

/** The backbone on an NHWC image: stem + layer1..layer4 (no avgpool / fc, as in segmentation). */
export function buildResNet(b: GraphBuilder, image: Value, opts: ResNetOptions): ResNetFeatures {
  const p = opts.prefix;
  const geometry = resnetGeometry(opts);
  let x = convBnAct(b, image, { name: `${p}.conv1`, bn: `${p}.bn1`, kernel: 7, cout: 64, stride: 2, padding: 3, eps: BN_EPS, activation: 'relu' });
  x = b.pool2d(`${p}.maxpool`, x, {
    kind: 'max',
    kernelH: 3,
    kernelW: 3,
    strideH: 2,
    strideW: 2,
    padTop: 1,
    padBottom: 1,
    padLeft: 1,
    padRight: 1,
    countIncludePad: false,
  });
  const stages: Value[] = [];
  geometry.forEach((stage, s) => {
    stage.forEach((g, i) => {
      x = bottleneck(b, x, `${p}.layer${s + 1}.${i}`, STAGE_PLANES[s], g);
    });
    stages.push(x);
  });
  return { layer1: stages[0], layer2: stages[1], layer3: stages[2], layer4: stages[3] };
}
