// VainF/DeepLabV3Plus-Pytorch's own MobileNetV2 (network/backbone/mobilenetv2.py), split as its
// _segm_mobilenet splits it: `backbone.low_level_features` = features[0:4] (stride 4, 24
// channels: DeepLabv3+'s low-level features) and `backbone.high_level_features` = features[4:-1]
// (320 channels; the last 1x1 conv to 1280 and the classifier are dropped). Its arithmetic is
// not torchvision's, so it has its own builder:
//  - the stem's 3x3 conv of stride 2 has no padding;
//  - an inverted residual zero-pads its INPUT by its dilation on every side (fixed_padding) and
//    then runs expansion, depthwise (unpadded) and projection on the padded map: the expansion's
//    border is ReLU6(BN(0)), not zero, where the depthwise conv reads it;
//  - past the output stride a stage's stride becomes 1 and the rate multiplies by it; the
//    stage's first unit keeps the previous rate, the later ones take the new one.
// ReLU6 after the stem, every expansion and depthwise conv; BN eps 1e-5.
import type { GraphBuilder } from '../../graph/builder.js';
import type { Value } from '../../graph/ir.js';
import { MOBILENET_V2_SETTING } from './inverted-residual.js';
import { convBnAct } from './layers.js';

const BN_EPS = 1e-5;

const SETTING = MOBILENET_V2_SETTING;

/** features[0:LOW_LEVEL_END] are `low_level_features`, the rest (but the last) `high_level_features`. */
const LOW_LEVEL_END = 4;

/** `features[i]`'s parameter prefix in the split module. */
function featureName(prefix: string, i: number): string {
  return i < LOW_LEVEL_END ? `${prefix}.low_level_features.${i}` : `${prefix}.high_level_features.${i}`;
}

/** Each unit's stride and dilation for an output stride, as MobileNetV2.__init__ sets them. */
export function vainfMobilenetV2Plan(outputStride: number): { stride: number; dilation: number }[] {
  if (![8, 16, 32].includes(outputStride)) throw new Error(`VainF's MobileNetV2: output stride must be 8, 16 or 32, got ${outputStride}`);
  let current = 2; // the stem's
  let dilation = 1;
  const plan: { stride: number; dilation: number }[] = [];
  for (const [, , n, s] of SETTING) {
    const previous = dilation;
    let stride = s;
    if (current === outputStride) {
      stride = 1;
      dilation *= s;
    } else {
      current *= s;
    }
    for (let u = 0; u < n; u++) plan.push(u === 0 ? { stride, dilation: previous } : { stride: 1, dilation });
  }
  return plan;
}

/** The backbone on an NHWC image: `lowLevel` (stride 4, 24 channels) and `out` (320 channels at the output stride). */
export function buildVainfMobilenetV2(b: GraphBuilder, image: Value, o: { outputStride: number; prefix: string }): { lowLevel: Value; out: Value } {
  const plan = vainfMobilenetV2Plan(o.outputStride);
  const stem = featureName(o.prefix, 0);
  let x = convBnAct(b, image, { name: `${stem}.0`, bn: `${stem}.1`, kernel: 3, cout: 32, stride: 2, padding: 0, eps: BN_EPS, activation: 'relu6' });
  let lowLevel: Value | undefined;
  let index = 1;
  for (const [t, c, n] of SETTING) {
    for (let u = 0; u < n; u++, index++) {
      const { stride, dilation } = plan[index - 1];
      const name = `${featureName(o.prefix, index)}.conv`;
      const cin = x.shape[3];
      const padded = b.pad(`${featureName(o.prefix, index)}.input_padding`, x, { top: dilation, bottom: dilation, left: dilation, right: dilation });
      let y = padded;
      let at = 0;
      if (t !== 1) {
        y = convBnAct(b, y, { name: `${name}.0.0`, bn: `${name}.0.1`, kernel: 1, cout: cin * t, eps: BN_EPS, activation: 'relu6' });
        at = 1;
      }
      const hidden = y.shape[3];
      y = convBnAct(b, y, { name: `${name}.${at}.0`, bn: `${name}.${at}.1`, kernel: 3, cout: hidden, groups: hidden, stride, dilation, padding: 0, eps: BN_EPS, activation: 'relu6' });
      y = convBnAct(b, y, { name: `${name}.${at + 1}`, bn: `${name}.${at + 2}`, kernel: 1, cout: c, eps: BN_EPS });
      x = stride === 1 && cin === c ? b.addValues(featureName(o.prefix, index), y, x, 'none') : y;
      if (index === LOW_LEVEL_END - 1) lowLevel = x;
    }
  }
  return { lowLevel: lowLevel!, out: x };
}
