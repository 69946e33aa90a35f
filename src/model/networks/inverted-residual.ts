// MobileNetV2's inverted-residual block (Sandler et al. 2018), the arithmetic every MobileNetV2
// here shares but TF's (whose files fold the batch norms): an expansion 1x1 conv -> BN -> ReLU6
// (none where the expansion is 1), a depthwise 3x3 conv -> BN -> ReLU6 with the block's stride
// and dilation (padding = dilation), a linear projection 1x1 conv -> BN, and the input added
// where the block keeps its size and channels. Each family names the layers its own way.
import type { GraphBuilder } from '../../graph/builder.js';
import type { Value } from '../../graph/ir.js';
import type { ConvBnNames } from './aspp.js';
import { convBnAct } from './layers.js';

/** torchvision's inverted_residual_setting (the paper's Table 2): expansion t, channels c, units n, first stride s. */
export const MOBILENET_V2_SETTING: readonly [number, number, number, number][] = [
  [1, 16, 1, 1],
  [6, 24, 2, 2],
  [6, 32, 3, 2],
  [6, 64, 4, 2],
  [6, 96, 3, 1],
  [6, 160, 3, 2],
  [6, 320, 1, 1],
];

export interface InvertedResidualNames {
  /** The expansion's conv and BN; absent where the expansion is 1. */
  expand?: ConvBnNames;
  depthwise: ConvBnNames;
  project: ConvBnNames;
  /** The residual add's layer name. */
  add: string;
}

export interface InvertedResidualOptions {
  /** Hidden channels (the input's times the expansion ratio). */
  hidden: number;
  cout: number;
  stride: number;
  dilation: number;
  /**
   * Whether the input is added: each family decides it at construction, from the block's nominal
   * stride (smp's surgery sets a stride of 1 afterwards and keeps the decision).
   */
  residual: boolean;
  eps: number;
}

/** One block on `x` [N,H,W,Cin]. */
export function invertedResidual(b: GraphBuilder, x: Value, names: InvertedResidualNames, o: InvertedResidualOptions): Value {
  const { eps } = o;
  let y = x;
  if (names.expand) y = convBnAct(b, y, { name: names.expand.conv, bn: names.expand.bn, kernel: 1, cout: o.hidden, eps, activation: 'relu6' });
  else if (o.hidden !== x.shape[3]) throw new Error(`${names.depthwise.conv}: a block without expansion keeps its ${x.shape[3]} channels, not ${o.hidden}`);
  y = convBnAct(b, y, { name: names.depthwise.conv, bn: names.depthwise.bn, kernel: 3, cout: o.hidden, groups: o.hidden, stride: o.stride, dilation: o.dilation, padding: o.dilation, eps, activation: 'relu6' });
  y = convBnAct(b, y, { name: names.project.conv, bn: names.project.bn, kernel: 1, cout: o.cout, eps });
  return o.residual ? b.addValues(names.add, y, x, 'none') : y;
}
