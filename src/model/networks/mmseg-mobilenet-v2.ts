// mmsegmentation's MobileNetV2 backbone (mmseg/models/backbones/mobilenet_v2.py, widen_factor 1),
// with its names: `conv1` (a 3x3 ConvModule of stride 2 to 32 channels, ReLU6), then `layer1` ..
// `layer7`, each a Sequential of InvertedResidual blocks whose `conv` Sequential holds ConvModules
// (`conv.0` the expansion where the ratio is not 1, then the depthwise conv, then the linear
// projection; each `.conv` + `.bn`, eps 1e-5).
//
// Strides and dilations are per layer (mmseg's `strides`, `dilations`), and a layer's stride and
// dilation go to its FIRST block only: its other blocks run at stride 1 and dilation 1. So in the
// D8 configs (strides 1,2,2,1,1,1,1, dilations 1,1,1,2,2,4,4) only layer4.0, layer5.0, layer6.0
// and layer7.0 are dilated. Past the output stride a layer's stride 2 becomes 1 and its dilation
// and every later layer's is multiplied by 2, which gives D8's settings from the natural ones
// (strides 1,2,2,2,1,2,1) and D16's (1,2,2,2,1,1,1 with dilations 1,1,1,1,1,2,2).
//
// The heads read out_indices (1, 2, 4, 6): layer2 (24 channels, stride 4: DeepLabv3+'s c1),
// layer5 (96: the auxiliary FCN head) and layer7 (320: ASPP).
import type { GraphBuilder } from '../../graph/builder.js';
import type { Value } from '../../graph/ir.js';
import { invertedResidual } from './inverted-residual.js';
import { convBnAct } from './layers.js';

const BN_EPS = 1e-5;

/** mmseg's arch_settings: expansion ratio, channels, blocks; and each layer's natural stride. */
const LAYERS: readonly { t: number; c: number; n: number; s: number }[] = [
  { t: 1, c: 16, n: 1, s: 1 },
  { t: 6, c: 24, n: 2, s: 2 },
  { t: 6, c: 32, n: 3, s: 2 },
  { t: 6, c: 64, n: 4, s: 2 },
  { t: 6, c: 96, n: 3, s: 1 },
  { t: 6, c: 160, n: 3, s: 2 },
  { t: 6, c: 320, n: 1, s: 1 },
];

/** The stem's stride times every layer's. */
export const MMSEG_MOBILENET_V2_STRIDE = 32;

/** mmseg's `strides` and `dilations` for an output stride (8, 16 or 32). */
export function mmsegMobilenetV2Plan(outputStride: number): { strides: number[]; dilations: number[] } {
  if (![8, 16, 32].includes(outputStride)) throw new Error(`mmseg MobileNetV2: output stride must be 8, 16 or 32, got ${outputStride}`);
  let reached = 2; // the stem's
  let dilation = 1;
  const strides: number[] = [];
  const dilations: number[] = [];
  for (const { s } of LAYERS) {
    if (reached * s > outputStride) {
      dilation *= s;
      strides.push(1);
    } else {
      reached *= s;
      strides.push(s);
    }
    dilations.push(dilation);
  }
  return { strides, dilations };
}

export interface MmsegMobilenetV2Features {
  /** layer2: stride 4, DeepLabv3+'s c1. */
  layer2: Value;
  /** layer5: the auxiliary head's input. */
  layer5: Value;
  /** layer7: ASPP's input. */
  layer7: Value;
}

/** The backbone on an NHWC image, under `prefix` ('backbone'). */
export function buildMmsegMobilenetV2(b: GraphBuilder, image: Value, o: { outputStride: number; prefix: string }): MmsegMobilenetV2Features {
  const { strides, dilations } = mmsegMobilenetV2Plan(o.outputStride);
  const p = o.prefix;
  let x = convBnAct(b, image, { name: `${p}.conv1.conv`, bn: `${p}.conv1.bn`, kernel: 3, cout: 32, stride: 2, eps: BN_EPS, activation: 'relu6' });
  const outs: Value[] = [];
  LAYERS.forEach(({ t, c, n }, l) => {
    for (let i = 0; i < n; i++) {
      const block = `${p}.layer${l + 1}.${i}`;
      const stride = i === 0 ? strides[l] : 1;
      const module = (j: number) => ({ conv: `${block}.conv.${j}.conv`, bn: `${block}.conv.${j}.bn` });
      const at = t !== 1 ? 1 : 0;
      const names = { expand: t !== 1 ? module(0) : undefined, depthwise: module(at), project: module(at + 1), add: `${block}.add` };
      const cin = x.shape[3];
      x = invertedResidual(b, x, names, { hidden: Math.round(cin * t), cout: c, stride, dilation: i === 0 ? dilations[l] : 1, residual: stride === 1 && cin === c, eps: BN_EPS });
    }
    outs.push(x);
  });
  return { layer2: outs[1], layer5: outs[4], layer7: outs[6] };
}
