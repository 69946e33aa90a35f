// ResNet backbones as torchvision builds them (torchvision/models/resnet.py) and as
// mmsegmentation does (mmseg/models/backbones/resnet.py), with the output stride reached by
// replacing stage strides by atrous rates.
//
// Details that change the numbers: the stride sits on the 3x3 conv (conv2, "ResNet v1.5";
// mmseg's style='pytorch'); the first block of each stage has a 1x1 downsample conv + BN on the
// shortcut when the stride or the channels change; BN eps 1e-5; ReLU after the residual add.
// ResNet-50/101 use Bottleneck units (1x1, 3x3, 1x1 x4), ResNet-18 BasicBlocks (two 3x3 convs,
// only the first strided and dilated, expansion 1). The 'v1c' stem (mmseg's ResNetV1c) replaces
// the 7x7 conv by three 3x3 convs (`stem.0`, `stem.3`, `stem.6` with their BNs at `.1`, `.4`,
// `.7`). Parameter names follow the state dict (`<prefix>.layer3.4.conv2.weight`), which both
// libraries share below the stem.
//
// Cascaded blocks (paper Sec. 3.2, Fig. 3): layer5..layer7 are replicas of layer4 (three units,
// planes 512, 2048 in and out). Their first unit has no projection shortcut: channels do not
// change, and when the block strides the shortcut only subsamples (a parameter-free 1x1 max
// pool with stride 2, as TF's resnet_v1 `subsample`). So the parameters do not depend on the
// output stride and one set of weights runs at every stride, as for block1..block4.
import type { GraphBuilder } from '../../graph/builder.js';
import type { Value } from '../../graph/ir.js';
import type { DeepLabConfig, StemName } from './config-types.js';
import { convBnAct } from './layers.js';

export type ResNetDepth = 18 | 50 | 101;

/** Units per stage (layer1..layer4); cascaded layer5..layer7 have CASCADED_UNITS each. */
export const RESNET_BLOCKS: Record<ResNetDepth, readonly [number, number, number, number]> = {
  18: [2, 2, 2, 2],
  50: [3, 4, 6, 3],
  101: [3, 4, 23, 3],
};

/** Output channels per plane of a Bottleneck unit (ResNet-18's BasicBlock has 1). */
export const BOTTLENECK_EXPANSION = 4;

export const STAGE_PLANES = [64, 128, 256, 512] as const;
const STAGE_STRIDES = [1, 2, 2, 2] as const;
/** Units, planes and stride of each cascaded block (a replica of block4). */
export const CASCADED_UNITS = 3;
const CASCADED_PLANES = 512;
const CASCADED_STRIDE = 2;
export const MAX_BLOCKS = 7;
const BN_EPS = 1e-5;
/** The stem (conv s2 + max-pool s2) leaves the features at stride 4. */
const STEM_STRIDE = 4;

export interface BlockGeometry {
  stride: number;
  dilation: number;
  /** The BasicBlock's second 3x3 conv's dilation (default 1, as torchvision and mmseg build it; smp and timm dilate it too). */
  dilation2?: number;
}

export interface ResNetOptions {
  depth: ResNetDepth;
  outputStride: number;
  dilationConvention: DeepLabConfig['dilationConvention'];
  /** Unit rates of the units of layer4 and of every cascaded block, multiplied by the block's rate. */
  multiGrid: readonly number[];
  /** Stages: 4 (default) = layer1..layer4; 5..7 append cascaded layer5..layer7. */
  blocks?: number;
  /**
   * false: no atrous convolution, every stride kept; `outputStride` must then be the natural
   * stride 2^(blocks+1). Default true: strides past `outputStride` become rates.
   */
  atrous?: boolean;
  /** State-dict prefix: 'backbone' in torchvision's segmentation models. */
  prefix: string;
  /** 'v1b' (default): one 7x7 conv; 'v1c': three 3x3 convs (mmseg's ResNetV1c). */
  stem?: StemName;
}

/** Units, planes and nominal stride of every stage for `blocks` stages. */
function stagePlan(depth: ResNetDepth, blocks: number): { units: number; planes: number; stride: number }[] {
  const units = RESNET_BLOCKS[depth];
  const plan = units.map((u, s) => ({ units: u, planes: STAGE_PLANES[s] as number, stride: STAGE_STRIDES[s] as number }));
  for (let s = 4; s < blocks; s++) plan.push({ units: CASCADED_UNITS, planes: CASCADED_PLANES, stride: CASCADED_STRIDE });
  return plan;
}

/**
 * Stride and dilation of every unit, stage by stage. A stage whose stride would take the
 * features past `outputStride` runs at stride 1 and doubles the rate instead (torchvision's
 * replace_stride_with_dilation: OS 8 = [F,T,T], OS 16 = [F,F,T], OS 32 = [F,F,F]; cascaded
 * blocks continue the rule, so at OS 16 block5..block7 have rates 4, 8, 16).
 * 'torchvision' keeps the previous rate on the stage's first unit (the one that would have
 * strided); 'paper' gives every unit the new rate. Multi-grid multiplies the rates of
 * layer4 and of every later stage.
 */
export function resnetGeometry(opts: Omit<ResNetOptions, 'prefix'>): BlockGeometry[][] {
  const units = RESNET_BLOCKS[opts.depth];
  if (!units) throw new Error(`resnet: depth must be 18, 50 or 101, got ${String(opts.depth)}`);
  const nBlocks = opts.blocks ?? 4;
  if (opts.depth === 18 && nBlocks !== 4) throw new Error(`resnet: ResNet-18 has no cascaded blocks (blocks must be 4, got ${nBlocks})`);
  if (!Number.isInteger(nBlocks) || nBlocks < 4 || nBlocks > MAX_BLOCKS) {
    throw new Error(`resnet: blocks must be 4, 5, 6 or 7 (block4 plus cascaded replicas), got ${nBlocks}`);
  }
  const natural = STEM_STRIDE * 2 ** (nBlocks - 1);
  const strides: number[] = [];
  for (let os = 8; os <= natural; os *= 2) strides.push(os);
  if (!strides.includes(opts.outputStride)) {
    throw new Error(`resnet: output stride must be ${strides.join(', ')} with ${nBlocks} blocks, got ${opts.outputStride}`);
  }
  if (opts.atrous === false && opts.outputStride !== natural) {
    throw new Error(`resnet: without atrous convolution ${nBlocks} blocks give output stride ${natural}, not ${opts.outputStride}`);
  }
  if (opts.atrous === false && opts.multiGrid.some((r) => r !== 1)) {
    throw new Error(`resnet: multiGrid ${JSON.stringify(opts.multiGrid)} makes block4 atrous; without atrous convolution it must be [1,1,1]`);
  }
  // All ones is no multi-grid, whatever the count (ResNet-18's layer4 has two units).
  const multiGrid = opts.multiGrid.every((r) => r === 1) ? new Array<number>(units[3]).fill(1) : opts.multiGrid;
  if (multiGrid.length !== units[3]) {
    throw new Error(`resnet: multiGrid needs ${units[3]} unit rates (one per unit of layer4 and later blocks), got ${JSON.stringify(opts.multiGrid)}`);
  }
  // mmseg's ResLayer takes a multi-grid as the units' dilations themselves.
  const absoluteGrid = opts.dilationConvention === 'mmseg' && multiGrid.some((r) => r !== 1);
  let current = STEM_STRIDE;
  let dilation = 1;
  return stagePlan(opts.depth, nBlocks).map(({ units: count, stride: nominal }, s) => {
    let stride = nominal;
    const previous = dilation;
    if (stride > 1 && current * stride > opts.outputStride) {
      dilation *= stride;
      stride = 1;
    } else {
      current *= stride;
    }
    const stage: BlockGeometry[] = [];
    for (let i = 0; i < count; i++) {
      let d = i === 0 && opts.dilationConvention !== 'paper' ? previous : dilation;
      if (s >= 3) d = absoluteGrid ? multiGrid[i] : d * multiGrid[i];
      stage.push({ stride: i === 0 ? stride : 1, dilation: d });
    }
    return stage;
  });
}

/** A strided shortcut without parameters: every stride-th pixel (a 1x1 max pool). */
function subsample(b: GraphBuilder, x: Value, name: string, stride: number): Value {
  return b.pool2d(name, x, {
    kind: 'max',
    kernelH: 1,
    kernelW: 1,
    strideH: stride,
    strideW: stride,
    padTop: 0,
    padBottom: 0,
    padLeft: 0,
    padRight: 0,
    countIncludePad: false,
  });
}

/**
 * The BasicBlock of ResNet-18: 3x3 (stride, dilation) -> 3x3 (never dilated, as both libraries
 * build it), shortcut, add, ReLU.
 */
export function resnetBasicBlock(b: GraphBuilder, x: Value, name: string, planes: number, g: BlockGeometry): Value {
  let identity = x;
  if (g.stride !== 1 || x.shape[3] !== planes) {
    identity = convBnAct(b, x, { name: `${name}.downsample.0`, bn: `${name}.downsample.1`, kernel: 1, cout: planes, stride: g.stride, eps: BN_EPS });
  }
  let y = convBnAct(b, x, {
    name: `${name}.conv1`,
    bn: `${name}.bn1`,
    kernel: 3,
    cout: planes,
    stride: g.stride,
    dilation: g.dilation,
    padding: g.dilation,
    eps: BN_EPS,
    activation: 'relu',
  });
  const d2 = g.dilation2 ?? 1;
  y = convBnAct(b, y, { name: `${name}.conv2`, bn: `${name}.bn2`, kernel: 3, cout: planes, dilation: d2, padding: d2, eps: BN_EPS });
  return b.addValues(name, y, identity, 'relu');
}

/** A Bottleneck's 3x3 conv: its channels (torchvision's width = planes * widthPerGroup / 64 * groups) and groups (ResNeXt's cardinality). */
export interface BottleneckShape {
  width: number;
  groups: number;
}

/**
 * torchvision's Bottleneck: 1x1 -> 3x3 (stride, dilation) -> 1x1 x4, shortcut, add, ReLU.
 * `cascaded` (layer5+): the shortcut never projects (see the file comment).
 */
export function resnetBottleneck(b: GraphBuilder, x: Value, name: string, planes: number, g: BlockGeometry, cascaded: boolean, shape: BottleneckShape = { width: planes, groups: 1 }): Value {
  const outC = planes * BOTTLENECK_EXPANSION;
  let identity = x;
  if (cascaded) {
    if (x.shape[3] !== outC) throw new Error(`${name}: cascaded block expects ${outC} input channels, got ${x.shape[3]}`);
    if (g.stride !== 1) identity = subsample(b, x, `${name}.subsample`, g.stride);
  } else if (g.stride !== 1 || x.shape[3] !== outC) {
    identity = convBnAct(b, x, { name: `${name}.downsample.0`, bn: `${name}.downsample.1`, kernel: 1, cout: outC, stride: g.stride, eps: BN_EPS });
  }
  let y = convBnAct(b, x, { name: `${name}.conv1`, bn: `${name}.bn1`, kernel: 1, cout: shape.width, eps: BN_EPS, activation: 'relu' });
  y = convBnAct(b, y, {
    name: `${name}.conv2`,
    bn: `${name}.bn2`,
    kernel: 3,
    cout: shape.width,
    groups: shape.groups,
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
  /** Every stage's output, layer1 first (layer5..layer7 when cascaded). */
  stages: Value[];
  /** The last stage's output: what the head reads. */
  out: Value;
}

/** Stage names: 'layer1' .. 'layer7' (block1..block7 in the paper). */
export function resnetStageName(index: number): string {
  return `layer${index + 1}`;
}

/** Channels after the stem, and of the v1c stem's first two convs (mmseg's stem_channels // 2). */
const STEM_CHANNELS = 64;

/** The stem's convolutions: a 7x7 conv of stride 2 ('v1b'), or three 3x3 convs, the first of stride 2 ('v1c'). */
export function resnetStem(b: GraphBuilder, image: Value, p: string, kind: StemName): Value {
  if (kind === 'v1b') return convBnAct(b, image, { name: `${p}.conv1`, bn: `${p}.bn1`, kernel: 7, cout: STEM_CHANNELS, stride: 2, padding: 3, eps: BN_EPS, activation: 'relu' });
  // mmseg's Sequential: conv (0), BN (1), ReLU (2), conv (3), BN (4), ReLU (5), conv (6), BN (7), ReLU (8).
  let x = convBnAct(b, image, { name: `${p}.stem.0`, bn: `${p}.stem.1`, kernel: 3, cout: STEM_CHANNELS / 2, stride: 2, padding: 1, eps: BN_EPS, activation: 'relu' });
  x = convBnAct(b, x, { name: `${p}.stem.3`, bn: `${p}.stem.4`, kernel: 3, cout: STEM_CHANNELS / 2, padding: 1, eps: BN_EPS, activation: 'relu' });
  return convBnAct(b, x, { name: `${p}.stem.6`, bn: `${p}.stem.7`, kernel: 3, cout: STEM_CHANNELS, padding: 1, eps: BN_EPS, activation: 'relu' });
}

/** The backbone on an NHWC image: stem + layer1..layer4 (+ cascaded layer5..7), no avgpool / fc. */
export function buildResNet(b: GraphBuilder, image: Value, opts: ResNetOptions): ResNetFeatures {
  const p = opts.prefix;
  const geometry = resnetGeometry(opts);
  let x = resnetStem(b, image, p, opts.stem ?? 'v1b');
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
  const plan = stagePlan(opts.depth, geometry.length);
  const stages: Value[] = [];
  geometry.forEach((stage, s) => {
    stage.forEach((g, i) => {
      const name = `${p}.${resnetStageName(s)}.${i}`;
      x = opts.depth === 18 ? resnetBasicBlock(b, x, name, plan[s].planes, g) : resnetBottleneck(b, x, name, plan[s].planes, g, s >= 4);
    });
    stages.push(x);
  });
  return { layer1: stages[0], layer2: stages[1], layer3: stages[2], layer4: stages[3], stages, out: x };
}
