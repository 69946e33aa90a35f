// MobileNetV3-Large backbone as torchvision's segmentation models use it
// (torchvision/models/mobilenetv3.py, `features` only, `dilated=True` for output stride 16).
//
// Each inverted residual: [1x1 expand + BN + act] -> depthwise kxk + BN + act -> [squeeze-excite]
// -> 1x1 project + BN, plus the input when the block keeps stride and channels. BN eps is 0.001
// (torchvision builds this net with BatchNorm2d(eps=0.001)). Parameter names follow the
// segmentation state dict, where `features.N` became `<prefix>.N`.
import type { GraphBuilder } from '../../graph/builder.js';
import type { Value } from '../../graph/ir.js';
import { conv, convBnAct } from './layers.js';

const BN_EPS = 0.001;
/** torchvision builds the backbone's BatchNorm2d with momentum 0.01 (the heads keep 0.1). */
const BN_MOMENTUM = 0.01;

export interface InvertedResidualConf {
  cin: number;
  kernel: number;
  expanded: number;
  cout: number;
  se: boolean;
  /** 'RE' = ReLU, 'HS' = hardswish. */
  act: 'RE' | 'HS';
  stride: number;
}

const c = (cin: number, kernel: number, expanded: number, cout: number, se: boolean, act: 'RE' | 'HS', stride: number): InvertedResidualConf => ({
  cin,
  kernel,
  expanded,
  cout,
  se,
  act,
  stride,
});

/** torchvision's mobilenet_v3_large table (width 1.0, full tail). */
export const MOBILENET_V3_LARGE: readonly InvertedResidualConf[] = [
  c(16, 3, 16, 16, false, 'RE', 1),
  c(16, 3, 64, 24, false, 'RE', 2), // C1
  c(24, 3, 72, 24, false, 'RE', 1),
  c(24, 5, 72, 40, true, 'RE', 2), // C2
  c(40, 5, 120, 40, true, 'RE', 1),
  c(40, 5, 120, 40, true, 'RE', 1),
  c(40, 3, 240, 80, false, 'HS', 2), // C3
  c(80, 3, 200, 80, false, 'HS', 1),
  c(80, 3, 184, 80, false, 'HS', 1),
  c(80, 3, 184, 80, false, 'HS', 1),
  c(80, 3, 480, 112, true, 'HS', 1),
  c(112, 3, 672, 112, true, 'HS', 1),
  c(112, 5, 672, 160, true, 'HS', 2), // C4
  c(160, 5, 960, 160, true, 'HS', 1),
  c(160, 5, 960, 160, true, 'HS', 1),
];
const STEM_CHANNELS = 16;
const LAST_CHANNELS = 960; // 6 x the last block's 160

/** torchvision's _make_divisible: round to a multiple of `divisor`, never more than 10% down. */
export function makeDivisible(v: number, divisor = 8): number {
  let n = Math.max(divisor, Math.floor((v + divisor / 2) / divisor) * divisor);
  if (n < 0.9 * v) n += divisor;
  return n;
}

/**
 * Depthwise stride and dilation per block. Once another stride-2 block would pass
 * `outputStride`, it runs at stride 1 and it and every later block get the doubled rate: for
 * OS 16 this is exactly torchvision's dilated=True (the three C4 blocks at dilation 2).
 */
export function mobileNetV3Geometry(outputStride: number): { stride: number; dilation: number }[] {
  if (![8, 16, 32].includes(outputStride)) throw new Error(`mobilenet_v3_large: output stride must be 8, 16 or 32, got ${outputStride}`);
  let current = 2; // the stem conv's stride
  let dilation = 1;
  return MOBILENET_V3_LARGE.map((conf) => {
    let stride = conf.stride;
    if (stride > 1 && current * stride > outputStride) {
      dilation *= stride;
      stride = 1;
    } else {
      current *= stride;
    }
    return { stride, dilation };
  });
}

function squeezeExcite(b: GraphBuilder, x: Value, name: string): Value {
  const ch = x.shape[3];
  const squeeze = makeDivisible(Math.floor(ch / 4), 8);
  const pooled = b.globalAvgPool(`${name}.avgpool`, x);
  const s = conv(b, pooled, { name: `${name}.fc1`, kernel: 1, cout: squeeze, bias: true, activation: 'relu' });
  const scale = conv(b, s, { name: `${name}.fc2`, kernel: 1, cout: ch, bias: true, activation: 'hardsigmoid' });
  return b.mulValues(name, x, scale);
}

/** The block's output, and its depthwise conv's (after BN and the activation). */
function invertedResidual(
  b: GraphBuilder,
  x: Value,
  name: string,
  conf: InvertedResidualConf,
  g: { stride: number; dilation: number },
): { out: Value; depthwise: Value } {
  if (x.shape[3] !== conf.cin) throw new Error(`${name}: expects ${conf.cin} input channels, got ${x.shape[3]}`);
  const activation = conf.act === 'HS' ? 'hardswish' : 'relu';
  let j = 0;
  let y = x;
  if (conf.expanded !== conf.cin) {
    y = convBnAct(b, y, { name: `${name}.block.${j}.0`, bn: `${name}.block.${j}.1`, kernel: 1, cout: conf.expanded, eps: BN_EPS, momentum: BN_MOMENTUM, activation });
    j++;
  }
  y = convBnAct(b, y, {
    name: `${name}.block.${j}.0`,
    bn: `${name}.block.${j}.1`,
    kernel: conf.kernel,
    cout: conf.expanded,
    stride: g.stride,
    dilation: g.dilation,
    groups: conf.expanded,
    eps: BN_EPS, momentum: BN_MOMENTUM,
    activation,
  });
  const depthwise = y;
  j++;
  if (conf.se) {
    y = squeezeExcite(b, y, `${name}.block.${j}`);
    j++;
  }
  y = convBnAct(b, y, { name: `${name}.block.${j}.0`, bn: `${name}.block.${j}.1`, kernel: 1, cout: conf.cout, eps: BN_EPS, momentum: BN_MOMENTUM });
  // torchvision tests the configured stride, so the dilated C4 block (stride 2 -> 1) has no shortcut.
  const residual = conf.stride === 1 && conf.cin === conf.cout;
  return { out: residual ? b.addValues(name, y, x) : y, depthwise };
}

export interface MobileNetV3Features {
  /** The last stage (features[16], 960 channels): DeepLabHead's input. */
  out: Value;
  /** torchvision's aux tap (features[4], 40 channels, stride 8): FCNHead's input. */
  aux: Value;
  /** Every `features[i]` output. */
  features: Value[];
  /**
   * DeepLabv3+'s stride-4 features: the depthwise output of the last block at stride 4
   * (features[3], 72 channels after BN + ReLU), TF DeepLab's 'layer_4/depthwise_output' end
   * point for this network.
   */
  lowLevel: Value;
}

/** Index in MOBILENET_V3_LARGE of the last block whose output is at stride 4 (2: features[3]). */
export function mobileNetV3LowLevelBlock(): number {
  let stride = 2; // the stem conv's
  let last = -1;
  MOBILENET_V3_LARGE.forEach((conf, i) => {
    stride *= conf.stride;
    if (stride === 4) last = i;
  });
  return last;
}

/** `features` indices torchvision's _deeplabv3_mobilenetv3 taps: [out, aux]. */
export function mobileNetV3TapIndices(): { out: number; aux: number } {
  // Stage starts: the stem, every block with a configured stride > 1 (`_is_cn`), the last conv.
  const last = MOBILENET_V3_LARGE.length + 1;
  const stages = [0, ...MOBILENET_V3_LARGE.flatMap((conf, i) => (conf.stride > 1 ? [i + 1] : [])), last];
  return { out: stages[stages.length - 1], aux: stages[stages.length - 4] };
}

export function buildMobileNetV3Large(b: GraphBuilder, image: Value, opts: { outputStride: number; prefix: string }): MobileNetV3Features {
  const p = opts.prefix;
  const geometry = mobileNetV3Geometry(opts.outputStride);
  const features: Value[] = [];
  const depthwise: Value[] = [];
  let x = convBnAct(b, image, { name: `${p}.0.0`, bn: `${p}.0.1`, kernel: 3, cout: STEM_CHANNELS, stride: 2, eps: BN_EPS, momentum: BN_MOMENTUM, activation: 'hardswish' });
  features.push(x);
  MOBILENET_V3_LARGE.forEach((conf, i) => {
    const block = invertedResidual(b, x, `${p}.${i + 1}`, conf, geometry[i]);
    x = block.out;
    features.push(x);
    depthwise.push(block.depthwise);
  });
  const last = MOBILENET_V3_LARGE.length + 1;
  x = convBnAct(b, x, { name: `${p}.${last}.0`, bn: `${p}.${last}.1`, kernel: 1, cout: LAST_CHANNELS, eps: BN_EPS, momentum: BN_MOMENTUM, activation: 'hardswish' });
  features.push(x);
  const taps = mobileNetV3TapIndices();
  return { out: features[taps.out], aux: features[taps.aux], features, lowLevel: depthwise[mobileNetV3LowLevelBlock()] };
}
