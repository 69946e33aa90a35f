// torchvision's MobileNetV2 (classifier deleted) as segmentation_models_pytorch's `mobilenet_v2`
// encoder, with torchvision's names (`features.N...`) and smp's output-stride surgery: every conv
// of features[7:14] (the /16 stage) and features[14:] (the /32 stage) past the output stride runs
// at stride 1 with the stage's rate, padding (k // 2) * rate, the formerly strided block included.
// A block's residual is decided by its nominal stride, before the surgery, as torchvision decides
// it at construction. ReLU6 after every expansion and depthwise conv, none after the projection;
// BN eps 1e-5. Features: after features 1 (/2), 3 (/4), 6 (/8), 13 (/16) and 18 (/32).
import type { GraphBuilder } from '../../graph/builder.js';
import type { Value } from '../../graph/ir.js';
import { MOBILENET_V2_SETTING, invertedResidual } from './inverted-residual.js';
import { convBnAct } from './layers.js';

const BN_EPS = 1e-5;

const SETTING = MOBILENET_V2_SETTING;

/** The last `features` index of each feature smp hands on (/2, /4, /8, /16, /32). */
const FEATURE_ENDS = [1, 3, 6, 13, 18] as const;

export interface SmpMobilenetV2Options {
  outputStride: number;
  /** Features built (smp's `encoder_depth`, 3..5). */
  depth: number;
  prefix: string;
}

/** The rate of `features[i]` under smp's surgery: the /16 stage is features 7..13, the /32 stage 14..18. */
function rateOf(i: number, outputStride: number): number {
  const stageStride = i >= 14 ? 32 : i >= 7 ? 16 : 0;
  return stageStride > outputStride ? stageStride / outputStride : 1;
}

/** The encoder on an NHWC image: its features at /2, /4, ... */
export function buildSmpMobilenetV2(b: GraphBuilder, image: Value, o: SmpMobilenetV2Options): Value[] {
  const p = `${o.prefix}.features`;
  const last = FEATURE_ENDS[o.depth - 1];
  const strideOf = (i: number, nominal: number) => (rateOf(i, o.outputStride) > 1 ? 1 : nominal);
  const features: Value[] = [];
  let x = convBnAct(b, image, { name: `${p}.0.0`, bn: `${p}.0.1`, kernel: 3, cout: 32, stride: 2, eps: BN_EPS, activation: 'relu6' });
  let index = 1;
  for (const [t, c, n, s] of SETTING) {
    for (let u = 0; u < n && index <= last; u++, index++) {
      const name = `${p}.${index}.conv`;
      const nominal = u === 0 ? s : 1;
      const rate = rateOf(index, o.outputStride);
      const cin = x.shape[3];
      // torchvision's Sequential numbers the expansion (a Conv2dNormActivation) 0 where it exists.
      const at = t !== 1 ? 1 : 0;
      const pair = (i: number) => ({ conv: `${name}.${i}.0`, bn: `${name}.${i}.1` });
      const names = { expand: t !== 1 ? pair(0) : undefined, depthwise: pair(at), project: { conv: `${name}.${at + 1}`, bn: `${name}.${at + 2}` }, add: `${p}.${index}` };
      x = invertedResidual(b, x, names, { hidden: cin * t, cout: c, stride: strideOf(index, nominal), dilation: rate, residual: nominal === 1 && cin === c, eps: BN_EPS });
      if ((FEATURE_ENDS as readonly number[]).includes(index)) features.push(x);
    }
  }
  if (last === 18) {
    x = convBnAct(b, x, { name: `${p}.18.0`, bn: `${p}.18.1`, kernel: 1, cout: 1280, eps: BN_EPS, activation: 'relu6' });
    features.push(x);
  }
  return features;
}
