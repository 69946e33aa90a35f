// Apple's MobileOne as segmentation_models_pytorch's `mobileone_s0`..`mobileone_s4` encoders, in
// the training-time multi-branch form smp's state dicts hold (`inference_mode` False, which
// `from_pretrained` keeps: smp never reparameterizes on load). A block is the sum of its branches,
// each a conv -> BN (`rbr_conv.0..n-1`; `rbr_scale`, a 1x1 conv, when the kernel is larger than
// 1; `rbr_skip`, a BN of the input, when the block keeps its channels and its nominal stride is
// 1), then ReLU. The branches stay separate graph ops so a fine-tune trains every branch's BN on
// its own batch statistics, as smp does; inference folds each BN into its conv.
//
// stage0 is one block (3x3 stride 2, one conv branch whatever the variant); each later stage is
// pairs of a depthwise 3x3 block and a pointwise 1x1 block, the first pair's depthwise block at
// stride 2. smp's output-stride surgery (make_dilated) runs every conv of a stage past the output
// stride at stride 1 with the stage's rate, padding (k // 2) * rate, the 1x1 ones too (harmless);
// the skip branch stays decided by the nominal stride, as smp builds it before the surgery.
// Features: after stage0 (/2), stage1 (/4), stage2 (/8), stage3 (/16) and stage4 (/32).
//
// mobileone_s4 (use_se) gates the branch sum of the blocks of stage3's last half (its last 5 of 10
// depthwise + pointwise pairs: blocks 10..19) and of all of stage4 with smp's SEBlock before the
// ReLU: global mean -> `se.reduce` (1x1 with bias, int(channels * 0.0625) outputs) -> ReLU ->
// `se.expand` (1x1 with bias) -> sigmoid -> scale. smp's surgery dilates the SE's 1x1 convs too (a
// no-op on the pooled 1x1 input).
import type { GraphBuilder } from '../../graph/builder.js';
import type { Value } from '../../graph/ir.js';
import { batchNorm, conv, convBnAct } from './layers.js';

const BN_EPS = 1e-5;

/** Blocks (depthwise + pointwise pairs) in stage1..stage4, the same for every variant. */
const BLOCKS_PER_STAGE = [2, 8, 10, 1] as const;

/** The stage's nominal width before its multiplier (stage1..stage4). */
const BASE_WIDTHS = [64, 128, 256, 512] as const;

export interface MobileOneVariant {
  /** Width multipliers of stage1..stage4. */
  widths: readonly [number, number, number, number];
  /** `rbr_conv` branches per block of stage1..stage4 (stage0 always has one). */
  convBranches: number;
  /** smp's use_se: squeeze-and-excite in stage3's last half and all of stage4. */
  se?: boolean;
}

/** smp's mobileone_encoders params. */
export const MOBILEONE_VARIANTS = {
  mobileone_s0: { widths: [0.75, 1, 1, 2], convBranches: 4 },
  mobileone_s1: { widths: [1.5, 1.5, 2, 2.5], convBranches: 1 },
  mobileone_s2: { widths: [1.5, 2, 2.5, 4], convBranches: 1 },
  mobileone_s3: { widths: [2, 2.5, 3, 4], convBranches: 1 },
  mobileone_s4: { widths: [3, 3.5, 3.5, 4], convBranches: 1, se: true },
} as const satisfies Record<string, MobileOneVariant>;

export interface SmpMobileOneOptions {
  variant: MobileOneVariant;
  outputStride: number;
  /** Features built (smp's `encoder_depth`, 3..5). */
  depth: number;
  prefix: string;
}

/** What one MobileOneBlock is: its kernel, output channels, groups, nominal stride, branches and rate. */
interface BlockSpec {
  kernel: number;
  cout: number;
  groups: number;
  stride: number;
  convBranches: number;
  rate: number;
  se: boolean;
}

/**
 * smp's SEBlock (parameters under `prefix`) on x, then the block's ReLU, as node `name`:
 * relu(x * sigmoid(expand(relu(reduce(mean(x)))))), reduce to int(c * 0.0625) channels.
 */
function squeezeExciteRelu(b: GraphBuilder, x: Value, prefix: string, name: string): Value {
  const c = x.shape[3];
  const pooled = b.globalAvgPool(`${prefix}.pool`, x);
  const squeezed = conv(b, pooled, { name: `${prefix}.reduce`, kernel: 1, cout: Math.floor(c * 0.0625), bias: true, activation: 'relu' });
  const gate = conv(b, squeezed, { name: `${prefix}.expand`, kernel: 1, cout: c, bias: true, activation: 'sigmoid' });
  return b.mulValues(name, x, gate, 'relu');
}

/**
 * One MobileOneBlock: ReLU of the sum of its branches (squeeze-excited first when `se`). A dilated block (rate > 1) runs at stride 1;
 * padding is PyTorch's (k // 2) * rate, which `conv` gives by default.
 */
function mobileOneBlock(b: GraphBuilder, x: Value, name: string, s: BlockSpec): Value {
  const cin = x.shape[3];
  const stride = s.rate > 1 ? 1 : s.stride;
  const branch = (prefix: string, kernel: number) =>
    convBnAct(b, x, { name: `${prefix}.conv`, bn: `${prefix}.bn`, kernel, cout: s.cout, groups: s.groups, stride, dilation: s.rate, eps: BN_EPS });
  const branches: Value[] = [];
  if (s.cout === cin && s.stride === 1) branches.push(batchNorm(b, x, `${name}.rbr_skip`, { eps: BN_EPS }));
  if (s.kernel > 1) branches.push(branch(`${name}.rbr_scale`, 1));
  for (let i = 0; i < s.convBranches; i++) branches.push(branch(`${name}.rbr_conv.${i}`, s.kernel));
  if (s.se) {
    // The gate sits between the branch sum and the ReLU.
    let sum = branches[0];
    for (let i = 1; i < branches.length; i++) sum = b.addValues(`${name}.sum${i}`, sum, branches[i]);
    return squeezeExciteRelu(b, sum, `${name}.se`, name);
  }
  if (branches.length === 1) return b.activation(name, branches[0], 'relu');
  let sum = branches[0];
  for (let i = 1; i < branches.length; i++) {
    const last = i === branches.length - 1;
    sum = b.addValues(last ? name : `${name}.sum${i}`, sum, branches[i], last ? 'relu' : 'none');
  }
  return sum;
}

/** The rate of stage `s` (1..4, nominal stride 2^(s+1)) under smp's surgery. */
function stageRate(s: number, outputStride: number): number {
  const stageStride = 2 ** (s + 1);
  return stageStride > outputStride ? stageStride / outputStride : 1;
}

/** smp's num_se_blocks under use_se: none in stage1-2, half of stage3's (floored), all of stage4's. */
function seBlocksOf(s: number, blocks: number): number {
  return s === 4 ? blocks : s === 3 ? Math.floor(blocks / 2) : 0;
}

/** The encoder on an NHWC image: its features at /2, /4, ... /2^depth. */
export function buildSmpMobileOne(b: GraphBuilder, image: Value, o: SmpMobileOneOptions): Value[] {
  const { widths, convBranches } = o.variant;
  // smp's in_planes: stage0's width, capped at 64 (s1..s3 widen stage1 past it).
  let planes = Math.min(64, Math.floor(64 * widths[0]));
  let x = mobileOneBlock(b, image, `${o.prefix}.stage0`, { kernel: 3, cout: planes, groups: 1, stride: 2, convBranches: 1, rate: 1, se: false });
  const features = [x];
  for (let s = 1; s < o.depth; s++) {
    const cout = Math.floor(BASE_WIDTHS[s - 1] * widths[s - 1]);
    const rate = stageRate(s, o.outputStride);
    const blocks = BLOCKS_PER_STAGE[s - 1];
    const seBlocks = o.variant.se ? seBlocksOf(s, blocks) : 0;
    for (let i = 0; i < blocks; i++) {
      const name = `${o.prefix}.stage${s}`;
      const se = i >= blocks - seBlocks;
      x = mobileOneBlock(b, x, `${name}.${2 * i}`, { kernel: 3, cout: planes, groups: planes, stride: i === 0 ? 2 : 1, convBranches, rate, se });
      x = mobileOneBlock(b, x, `${name}.${2 * i + 1}`, { kernel: 1, cout, groups: 1, stride: 1, convBranches, rate, se });
      planes = cout;
    }
    features.push(x);
  }
  return features;
}
