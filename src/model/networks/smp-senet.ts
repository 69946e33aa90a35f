// The SENet encoders of segmentation_models_pytorch (Cadene's pretrainedmodels SENet, which smp
// carries as encoders/_senet.py): se_resnet50/101/152, se_resnext50_32x4d, se_resnext101_32x4d
// and senet154, `last_linear` and `avg_pool` deleted.
//
// What differs from torchvision's ResNet (resnet.ts):
//  - layer0: a 7x7 conv of stride 2 (senet154: three 3x3 convs, the first of stride 2, the last
//    to 128 channels), BN, ReLU; then MaxPool2d(3, stride 2, padding 0, ceil_mode=True), which
//    smp applies as `layer0_pool` after the /2 feature;
//  - each bottleneck scales bn3's output by a squeeze-and-excite gate (global mean -> 1x1 conv
//    with bias to channels / 16 -> ReLU -> 1x1 conv with bias -> sigmoid) before the residual add;
//  - where the stride sits and the widths, by block (see SENET_BLOCKS);
//  - senet154's shortcut in layer2..layer4 is a 3x3 conv (padding 1), the others' a 1x1 conv.
// Dilation is smp's make_dilated on layer3 (/16) and layer4 (/32), the rule of smpResNetGeometry:
// every conv of a dilated stage runs at stride 1 with the stage's rate, padding (k // 2) * rate.
// Features as smp hands them to its decoders: layer0 at /2, layer1 (after the pool) at /4,
// layer2 /8, layer3 /16, layer4 /32, the first `depth` of them built (encoder_depth).
import type { GraphBuilder } from '../../graph/builder.js';
import type { Value } from '../../graph/ir.js';
import { conv, convBnAct } from './layers.js';
import { BOTTLENECK_EXPANSION, type BlockGeometry, STAGE_PLANES, resnetStem } from './resnet.js';
import { smpResNetGeometry } from './smp-resnet.js';

const BN_EPS = 1e-5;
/** The squeeze-and-excite module's channel reduction (every SENet of smp's table). */
const SE_REDUCTION = 16;

/**
 * The bottleneck classes of _senet.py. Each maps the stage's planes to its three convs' output
 * channels and says which conv takes the stride:
 *  - 'se_resnet' (SEResNetBottleneck): planes, planes, 4 planes; the stride on conv1 (the 1x1,
 *    Caffe's placement), conv2 ungrouped;
 *  - 'se_resnext' (SEResNeXtBottleneck, base width 4): floor(planes * 4 / 64) * groups twice,
 *    then 4 planes; the stride on conv2 (the grouped 3x3);
 *  - 'senet154' (SEBottleneck): 2 planes, 4 planes, 4 planes; the stride on conv2.
 */
export type SenetBlock = 'se_resnet' | 'se_resnext' | 'senet154';

interface BlockShape {
  widths: [number, number, number];
  strideOnConv1: boolean;
}

const SENET_BLOCKS: Record<SenetBlock, (planes: number, groups: number) => BlockShape> = {
  se_resnet: (planes) => ({ widths: [planes, planes, planes * BOTTLENECK_EXPANSION], strideOnConv1: true }),
  se_resnext: (planes, groups) => {
    const width = Math.floor((planes * 4) / 64) * groups;
    return { widths: [width, width, planes * BOTTLENECK_EXPANSION], strideOnConv1: false };
  },
  senet154: (planes) => ({ widths: [planes * 2, planes * 4, planes * 4], strideOnConv1: false }),
};

export interface SmpSenetOptions {
  block: SenetBlock;
  /** Units per stage (layer1..layer4). */
  units: readonly [number, number, number, number];
  /** The 3x3 convs' groups: 1 (SE-ResNet), 32 (SE-ResNeXt), 64 (SENet-154). */
  groups: number;
  /** Stride of the deepest feature: 8, 16 or 32 (smp's `encoder_output_stride`). */
  outputStride: number;
  /** smp's `encoder_depth`, 3..5: the features at /2 .. /2^depth. */
  depth: number;
  /** State-dict prefix: 'encoder'. */
  prefix: string;
}

/**
 * The padding after the input that turns a pool of padding 0 into PyTorch's ceil_mode=True one.
 * ceil_mode rounds the output size up but drops a last window that would start past the input
 * (pooling_output_shape: (out - 1) * stride >= size + padding), so every window starts inside
 * the input and holds a real value; a max ignores padding, so padding the far side until the
 * last window fits gives the same maxima.
 */
export function ceilModeExtraPadding(size: number, kernel: number, stride: number): number {
  let out = Math.ceil((size - kernel) / stride) + 1;
  if ((out - 1) * stride >= size) out--;
  if (out < 1) throw new Error(`ceil-mode pool: input ${size} is smaller than the window ${kernel}`);
  return Math.max(0, (out - 1) * stride + kernel - size);
}

/** layer0's MaxPool2d(3, stride 2, padding 0, ceil_mode=True). */
function layer0Pool(b: GraphBuilder, x: Value, name: string): Value {
  const [, h, w] = x.shape;
  return b.pool2d(name, x, {
    kind: 'max',
    kernelH: 3,
    kernelW: 3,
    strideH: 2,
    strideW: 2,
    padTop: 0,
    padBottom: ceilModeExtraPadding(h, 3, 2),
    padLeft: 0,
    padRight: ceilModeExtraPadding(w, 3, 2),
    countIncludePad: false,
  });
}

/** SEModule: x scaled per channel by sigmoid(fc2(relu(fc1(mean(x))))). */
function squeezeExcite(b: GraphBuilder, x: Value, name: string): Value {
  const channels = x.shape[3];
  const pooled = b.globalAvgPool(`${name}.avg_pool`, x);
  const squeezed = conv(b, pooled, { name: `${name}.fc1`, kernel: 1, cout: Math.floor(channels / SE_REDUCTION), bias: true, activation: 'relu' });
  const gate = conv(b, squeezed, { name: `${name}.fc2`, kernel: 1, cout: channels, bias: true, activation: 'sigmoid' });
  return b.mulValues(name, x, gate);
}

/** One bottleneck: 1x1 -> 3x3 (grouped) -> 1x1, the SE gate on bn3, shortcut, add, ReLU. */
function senetBottleneck(b: GraphBuilder, x: Value, name: string, shape: BlockShape, groups: number, g: BlockGeometry, shortcutKernel: number): Value {
  const [w1, w2, outC] = shape.widths;
  let identity = x;
  // _make_layer adds the shortcut conv to each stage's first block (stride or channels change).
  if (g.stride !== 1 || x.shape[3] !== outC) {
    // make_dilated dilates the 1x1 shortcut too, which changes nothing: it is built undilated.
    const dilation = shortcutKernel === 1 ? 1 : g.dilation;
    identity = convBnAct(b, x, { name: `${name}.downsample.0`, bn: `${name}.downsample.1`, kernel: shortcutKernel, cout: outC, stride: g.stride, dilation, padding: dilation * (shortcutKernel >> 1), eps: BN_EPS });
  }
  let y = convBnAct(b, x, { name: `${name}.conv1`, bn: `${name}.bn1`, kernel: 1, cout: w1, stride: shape.strideOnConv1 ? g.stride : 1, padding: 0, eps: BN_EPS, activation: 'relu' });
  y = convBnAct(b, y, {
    name: `${name}.conv2`,
    bn: `${name}.bn2`,
    kernel: 3,
    cout: w2,
    groups,
    stride: shape.strideOnConv1 ? 1 : g.stride,
    dilation: g.dilation,
    padding: g.dilation,
    eps: BN_EPS,
    activation: 'relu',
  });
  y = convBnAct(b, y, { name: `${name}.conv3`, bn: `${name}.bn3`, kernel: 1, cout: outC, padding: 0, eps: BN_EPS });
  return b.addValues(name, squeezeExcite(b, y, `${name}.se_module`), identity, 'relu');
}

/** layer0's convs: senet154's three 3x3 (64, 64, 128 channels), else torchvision's 7x7 stem (64). */
function senetLayer0(b: GraphBuilder, image: Value, p: string, block: SenetBlock): Value {
  if (block !== 'senet154') return resnetStem(b, image, p, 'v1b');
  let x = convBnAct(b, image, { name: `${p}.conv1`, bn: `${p}.bn1`, kernel: 3, cout: 64, stride: 2, padding: 1, eps: BN_EPS, activation: 'relu' });
  x = convBnAct(b, x, { name: `${p}.conv2`, bn: `${p}.bn2`, kernel: 3, cout: 64, padding: 1, eps: BN_EPS, activation: 'relu' });
  return convBnAct(b, x, { name: `${p}.conv3`, bn: `${p}.bn3`, kernel: 3, cout: 128, padding: 1, eps: BN_EPS, activation: 'relu' });
}

/** The encoder on an NHWC image: its features at /2, /4, ... (smp's `features[1:]`). */
export function buildSmpSenet(b: GraphBuilder, image: Value, o: SmpSenetOptions): Value[] {
  const p = o.prefix;
  let x = senetLayer0(b, image, `${p}.layer0`, o.block);
  const features = [x];
  x = layer0Pool(b, x, `${p}.layer0_pool`);
  smpResNetGeometry({ ...o, dilation: 'smp' }).forEach((stage, s) => {
    const shape = SENET_BLOCKS[o.block](STAGE_PLANES[s], o.groups);
    // senet154's downsample_kernel_size 3 applies from layer2 on; layer1's shortcut is always 1x1.
    const shortcutKernel = o.block === 'senet154' && s > 0 ? 3 : 1;
    stage.forEach((g, i) => {
      x = senetBottleneck(b, x, `${p}.layer${s + 1}.${i}`, shape, o.groups, g, shortcutKernel);
    });
    features.push(x);
  });
  return features;
}
