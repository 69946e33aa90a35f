// The Dual Path Network encoders of segmentation_models_pytorch (encoders/dpn.py on _dpn.py, Ross
// Wightman's port of cypw's MXNet DPNs): dpn68, dpn68b, dpn92, dpn98, dpn107 and dpn131,
// `last_linear` deleted. Every module lives in `features` (an nn.Sequential of named blocks):
//
//  - conv1_1 (InputBlock): a conv of stride 2 (3x3, padding 1 for the small dpn68/68b; 7x7,
//    padding 3 for the others) to num_init_features, BN (eps 1e-3), ReLU: the /2 feature; then
//    MaxPool2d(3, stride 2, padding 1) (floor mode, as every max pool of torchvision's ResNet);
//  - conv{2..5}_{i} (DualPathBlock): pre-activation units, each BnActConv2d being BN (eps 1e-3)
//    -> ReLU -> conv without bias. A block takes the tuple (resid, dense) (conv2_1 the pooled
//    map) and concatenates it to x_in (resid's channels first). The stage's first block
//    projects x_in by a 1x1 BnActConv2d (`c1x1_w_s1` in conv2, stride 1; `c1x1_w_s2` in conv3..5,
//    stride 2) to bw + 2 inc channels, split into the new resid (the first bw) and dense (the
//    rest); later blocks keep the tuple as it came. The body: c1x1_a (1x1 to r), c3x3_b (3x3 to
//    r, `groups` groups, the stage's stride, padding 1), then c1x1_c: a BnActConv2d to bw + inc
//    channels split into out1 (the first bw) and out2, or in the `b` variant (dpn68b) a CatBnAct
//    (BN, ReLU) and two 1x1 convs c1x1_c1 (to bw) and c1x1_c2 (to inc). The block returns
//    (resid + out1, cat(dense, out2)): no activation after the add;
//  - conv5_bn_ac (CatBnAct): cat(resid, dense), BN (eps 1e-3), ReLU.
//
// Per stage s = 0..3: bw = 64 * 2^s (times 4 unless small), inc = inc_sec[s],
// r = k_r * bw / (64 * (4 unless small)), k_sec[s] blocks.
//
// Features as DPNEncoder.forward hands them to smp's decoders: conv1_1's ReLU at /2; after conv2,
// conv3 and conv4, ReLU(cat(resid, dense)) (a ReLU of its own, the blocks see the tuple
// unactivated) at /4, /8, /16; after conv5 and conv5_bn_ac, the CatBnAct's output at /32.
// Dilation: DPNEncoder.get_stages names conv4's blocks (/16) and conv5's with conv5_bn_ac (/32),
// and make_dilated sets every Conv2d of a stage past the output stride to stride 1, the stage's
// rate, padding (k // 2) * rate: the rule of smpResNetGeometry (its 1x1 convs stay undilated,
// which computes the same). conv3 (/8) is never dilated.
// The splits are channel_slice layers (their gradient: dy among zero channels), so these
// encoders train as they run.
import type { GraphBuilder } from '../../graph/builder.js';
import type { Value } from '../../graph/ir.js';
import { batchNorm, conv } from './layers.js';
import { type BlockGeometry } from './resnet.js';
import { smpResNetGeometry } from './smp-resnet.js';

const BN_EPS = 1e-3;

/** dpn.py's `params` of one encoder (num_classes and test_time_pool aside: the head is gone). */
export interface DpnVariant {
  /** dpn68/68b: a 3x3 stem and bottleneck widths a quarter of the others'. */
  small: boolean;
  numInitFeatures: number;
  kR: number;
  groups: number;
  /** dpn68b: c1x1_c as a BN-ReLU and two 1x1 convs. */
  b: boolean;
  /** Blocks per stage (conv2..conv5). */
  kSec: readonly [number, number, number, number];
  /** Channels each block adds to the dense path, per stage. */
  incSec: readonly [number, number, number, number];
}

export const DPN_VARIANTS = {
  dpn68: { small: true, numInitFeatures: 10, kR: 128, groups: 32, b: false, kSec: [3, 4, 12, 3], incSec: [16, 32, 32, 64] },
  dpn68b: { small: true, numInitFeatures: 10, kR: 128, groups: 32, b: true, kSec: [3, 4, 12, 3], incSec: [16, 32, 32, 64] },
  dpn92: { small: false, numInitFeatures: 64, kR: 96, groups: 32, b: false, kSec: [3, 4, 20, 3], incSec: [16, 32, 24, 128] },
  dpn98: { small: false, numInitFeatures: 96, kR: 160, groups: 40, b: false, kSec: [3, 6, 20, 3], incSec: [16, 32, 32, 128] },
  dpn107: { small: false, numInitFeatures: 128, kR: 200, groups: 50, b: false, kSec: [4, 8, 20, 3], incSec: [20, 64, 64, 128] },
  dpn131: { small: false, numInitFeatures: 128, kR: 160, groups: 40, b: false, kSec: [4, 8, 28, 3], incSec: [16, 32, 32, 128] },
} as const satisfies Record<string, DpnVariant>;

export type DpnName = keyof typeof DPN_VARIANTS;

export interface SmpDpnOptions {
  variant: DpnVariant;
  /** Stride of the deepest feature: 8, 16 or 32 (smp's `encoder_output_stride`). */
  outputStride: number;
  /** smp's `encoder_depth`, 3..5: the features at /2 .. /2^depth. */
  depth: number;
  /** State-dict prefix: 'encoder'. */
  prefix: string;
}

/** A stage's widths: bw (the residual path and the projection's split), inc, r (c1x1_a and c3x3_b). */
export function dpnStageWidths(v: DpnVariant, stage: number): { bw: number; inc: number; r: number } {
  const factor = v.small ? 1 : 4;
  const bw = 64 * 2 ** stage * factor;
  return { bw, inc: v.incSec[stage], r: Math.floor((v.kR * bw) / (64 * factor)) };
}

/** The two paths between blocks: conv2_1 takes one map instead. */
type Paths = { resid: Value; dense: Value };

/** BnActConv2d: BN -> ReLU -> conv (no bias); `name.bn`, `name.conv`. */
function bnActConv(b: GraphBuilder, x: Value, name: string, spec: { kernel: number; cout: number; stride?: number; dilation?: number; groups?: number }): Value {
  const y = batchNorm(b, x, `${name}.bn`, { eps: BN_EPS, activation: 'relu' });
  const dilation = spec.kernel === 1 ? 1 : (spec.dilation ?? 1);
  return conv(b, y, { name: `${name}.conv`, kernel: spec.kernel, cout: spec.cout, stride: spec.stride ?? 1, dilation, groups: spec.groups ?? 1, padding: (spec.kernel >> 1) * dilation });
}

/** A map's channels [0, first) and [first, end), as layers `names[0]` and `names[1]`. */
function split(b: GraphBuilder, x: Value, names: [string, string], first: number): [Value, Value] {
  return [b.channelSlice(names[0], x, 0, first), b.channelSlice(names[1], x, first, x.shape[3] - first)];
}

/** cat(resid, dense), as `torch.cat(x, dim=1)` of the tuple. */
function joined(b: GraphBuilder, x: Value | Paths, name: string): Value {
  return 'resid' in x ? b.concat(name, [x.resid, x.dense]) : x;
}

/** One DualPathBlock; `project` names the first block's projection ('c1x1_w_s1' or 'c1x1_w_s2'). */
function dualPathBlock(b: GraphBuilder, x: Value | Paths, name: string, v: DpnVariant, w: ReturnType<typeof dpnStageWidths>, g: BlockGeometry, project?: string): Paths {
  const xIn = joined(b, x, `${name}.x_in`);
  let resid: Value;
  let dense: Value;
  if (project) {
    const xs = bnActConv(b, xIn, `${name}.${project}`, { kernel: 1, cout: w.bw + 2 * w.inc, stride: g.stride });
    [resid, dense] = split(b, xs, [`${name}.x_s1`, `${name}.x_s2`], w.bw);
  } else {
    if (!('resid' in x)) throw new Error(`${name}: a block without projection needs the (resid, dense) pair`);
    ({ resid, dense } = x);
  }
  let y = bnActConv(b, xIn, `${name}.c1x1_a`, { kernel: 1, cout: w.r });
  y = bnActConv(b, y, `${name}.c3x3_b`, { kernel: 3, cout: w.r, stride: g.stride, dilation: g.dilation, groups: v.groups });
  let out1: Value;
  let out2: Value;
  if (v.b) {
    y = batchNorm(b, y, `${name}.c1x1_c.bn`, { eps: BN_EPS, activation: 'relu' });
    out1 = conv(b, y, { name: `${name}.c1x1_c1`, kernel: 1, cout: w.bw, padding: 0 });
    out2 = conv(b, y, { name: `${name}.c1x1_c2`, kernel: 1, cout: w.inc, padding: 0 });
  } else {
    y = bnActConv(b, y, `${name}.c1x1_c`, { kernel: 1, cout: w.bw + w.inc });
    [out1, out2] = split(b, y, [`${name}.out1`, `${name}.out2`], w.bw);
  }
  return { resid: b.addValues(`${name}.resid`, resid, out1), dense: b.concat(`${name}.dense`, [dense, out2]) };
}

/** The encoder on an NHWC image: its features at /2, /4, ... (smp's `features[1:]`). */
export function buildSmpDpn(b: GraphBuilder, image: Value, o: SmpDpnOptions): Value[] {
  const v = o.variant;
  const p = `${o.prefix}.features`;
  const k = v.small ? 3 : 7;
  let x: Value = conv(b, image, { name: `${p}.conv1_1.conv`, kernel: k, cout: v.numInitFeatures, stride: 2, padding: k >> 1 });
  x = batchNorm(b, x, `${p}.conv1_1.bn`, { eps: BN_EPS, activation: 'relu' });
  const features = [x];
  let paths: Value | Paths = b.pool2d(`${p}.conv1_1.pool`, x, { kind: 'max', kernelH: 3, kernelW: 3, strideH: 2, strideW: 2, padTop: 1, padBottom: 1, padLeft: 1, padRight: 1, countIncludePad: false });
  smpResNetGeometry({ units: v.kSec, outputStride: o.outputStride, depth: o.depth, dilation: 'smp' }).forEach((stage, s) => {
    const w = dpnStageWidths(v, s);
    stage.forEach((g, i) => {
      const project = i > 0 ? undefined : s === 0 ? 'c1x1_w_s1' : 'c1x1_w_s2';
      paths = dualPathBlock(b, paths, `${p}.conv${s + 2}_${i + 1}`, v, w, g, project);
    });
    const cat = joined(b, paths, `${p}.conv${s + 2}.cat`);
    // conv5_bn_ac is part of the /32 stage; the earlier skips are F.relu(torch.cat(x)).
    features.push(s === 3 ? batchNorm(b, cat, `${p}.conv5_bn_ac.bn`, { eps: BN_EPS, activation: 'relu' }) : b.activation(`${p}.conv${s + 2}.relu`, cat, 'relu'));
  });
  return features;
}
