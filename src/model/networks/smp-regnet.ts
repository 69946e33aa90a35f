// timm's RegNetX / RegNetY (regnet.py) as smp's `tu-regnet*` encoders (TimmUniversalEncoder:
// timm.create_model(name, features_only=True, output_stride=..., out_indices=range(depth)), keys
// under `encoder.model.`), which smp's old `timm-regnet*` names now build too.
//
// The network: a stem (3x3 conv, stride 2, to 32 channels; BN; ReLU), then four stages s1..s4 of
// bottleneck blocks b1..bN: conv1 1x1 -> BN -> ReLU, conv2 3x3 grouped (group size from the
// config) with the stage's stride on the first block -> BN -> ReLU, for RegNetY a squeeze-excite
// gate (mean -> fc1 1x1 with bias to round(block input channels / 4) -> ReLU -> fc2 with bias ->
// sigmoid), conv3 1x1 -> BN; the shortcut (a 1x1 conv + BN where channels, stride or dilation
// change, else the input) added, ReLU. Stage widths and depths come from the RegNet parameters
// (w0, wa, wm, depth, group size) as timm's generate_regnet and adjust_widths_groups_comp compute
// them (NumPy's / Python's round: halves to even).
//
// timm's output_stride: a stage that would stride the net past the output stride runs at stride
// 1 with twice the previous dilation; its first block's conv2 takes dilation 1 if the stage's is
// 1 or 2, else 2 (RegStage's first_dilation), later blocks the stage's. Padding is timm's
// get_padding: ((stride - 1) + dilation * 2) // 2 for the 3x3 convs.
// Features (feature_info): stem /2, s1 /4, s2 /8, s3 /16, s4 /32, the first `depth` built.
import type { GraphBuilder } from '../../graph/builder.js';
import type { Value } from '../../graph/ir.js';
import { conv, convBnAct } from './layers.js';
import { roundHalfEven } from '../../util/round-half-even.js';

const BN_EPS = 1e-5;
const STEM_WIDTH = 32;

/** regnet.py's RegNetCfg fields these models set: w0, wa, wm, group_size, depth; se_ratio 0.25 for RegNetY. */
export interface RegNetCfg {
  w0: number;
  wa: number;
  wm: number;
  groupSize: number;
  depth: number;
  se: boolean;
}

const x = (w0: number, wa: number, wm: number, groupSize: number, depth: number): RegNetCfg => ({ w0, wa, wm, groupSize, depth, se: false });
const y = (w0: number, wa: number, wm: number, groupSize: number, depth: number): RegNetCfg => ({ w0, wa, wm, groupSize, depth, se: true });

/** timm's model_cfgs for the RegNets smp listed as timm-regnet* (002..032). */
export const REGNET_CFGS = {
  regnetx_002: x(24, 36.44, 2.49, 8, 13),
  regnetx_004: x(24, 24.48, 2.54, 16, 22),
  regnetx_006: x(48, 36.97, 2.24, 24, 16),
  regnetx_008: x(56, 35.73, 2.28, 16, 16),
  regnetx_016: x(80, 34.01, 2.25, 24, 18),
  regnetx_032: x(88, 26.31, 2.25, 48, 25),
  regnety_002: y(24, 36.44, 2.49, 8, 13),
  regnety_004: y(48, 27.89, 2.09, 8, 16),
  regnety_006: y(48, 32.54, 2.32, 16, 15),
  regnety_008: y(56, 38.84, 2.4, 16, 14),
  regnety_016: y(48, 20.71, 2.65, 24, 27),
  regnety_032: y(80, 42.63, 2.66, 24, 21),
} as const satisfies Record<string, RegNetCfg>;

export type RegNetName = keyof typeof REGNET_CFGS;

export interface RegNetStage {
  width: number;
  blocks: number;
  groupSize: number;
}

/** generate_regnet + np.unique + adjust_widths_groups_comp (bottle ratio 1, quant 8). */
export function regnetStages(cfg: RegNetCfg): RegNetStage[] {
  const widths: number[] = [];
  for (let i = 0; i < cfg.depth; i++) {
    const exp = roundHalfEven(Math.log((i * cfg.wa + cfg.w0) / cfg.w0) / Math.log(cfg.wm));
    widths.push(roundHalfEven((cfg.w0 * cfg.wm ** exp) / 8) * 8);
  }
  const unique = [...new Set(widths)].sort((a, b) => a - b);
  return unique.map((w) => {
    const groupSize = Math.min(cfg.groupSize, w);
    return { width: roundHalfEven(w / groupSize) * groupSize, blocks: widths.filter((v) => v === w).length, groupSize };
  });
}

/** A block's stride and conv2 dilation, and the stage's dilation (which decides the shortcut). */
export interface RegNetBlockGeometry {
  stride: number;
  dilation: number;
  stageDilation: number;
}

/** _get_stage_args' strides and dilations at the output stride, and RegStage's first_dilation. */
export function regnetGeometry(stages: readonly RegNetStage[], outputStride: number): RegNetBlockGeometry[][] {
  let netStride = 2;
  let dilation = 1;
  return stages.map((s) => {
    let stride = 2;
    if (netStride >= outputStride) {
      dilation *= 2;
      stride = 1;
    } else netStride *= 2;
    const first = dilation === 1 || dilation === 2 ? 1 : 2;
    return Array.from({ length: s.blocks }, (_, i) => ({ stride: i === 0 ? stride : 1, dilation: i === 0 ? first : dilation, stageDilation: dilation }));
  });
}

export interface SmpRegNetOptions {
  name: RegNetName;
  outputStride: number;
  /** smp's encoder_depth, 3..5: the features at /2 .. /2^depth. */
  depth: number;
  /** State-dict prefix: 'encoder.model'. */
  prefix: string;
}

/** SEModule(bottleneck, rd_channels): x * sigmoid(fc2(relu(fc1(mean(x))))). */
function squeezeExcite(b: GraphBuilder, x: Value, name: string, rd: number): Value {
  const pooled = b.globalAvgPool(`${name}.pool`, x);
  const squeezed = conv(b, pooled, { name: `${name}.fc1`, kernel: 1, cout: rd, bias: true, activation: 'relu' });
  const gate = conv(b, squeezed, { name: `${name}.fc2`, kernel: 1, cout: x.shape[3], bias: true, activation: 'sigmoid' });
  return b.mulValues(name, x, gate);
}

function bottleneck(b: GraphBuilder, x: Value, name: string, out: number, groupSize: number, g: RegNetBlockGeometry, se: boolean): Value {
  const cin = x.shape[3];
  let y = convBnAct(b, x, { name: `${name}.conv1.conv`, bn: `${name}.conv1.bn`, kernel: 1, cout: out, padding: 0, eps: BN_EPS, activation: 'relu' });
  y = convBnAct(b, y, {
    name: `${name}.conv2.conv`,
    bn: `${name}.conv2.bn`,
    kernel: 3,
    cout: out,
    groups: out / groupSize,
    stride: g.stride,
    dilation: g.dilation,
    padding: Math.floor((g.stride - 1 + 2 * g.dilation) / 2),
    eps: BN_EPS,
    activation: 'relu',
  });
  if (se) y = squeezeExcite(b, y, `${name}.se`, roundHalfEven(cin * 0.25));
  y = convBnAct(b, y, { name: `${name}.conv3.conv`, bn: `${name}.conv3.bn`, kernel: 1, cout: out, padding: 0, eps: BN_EPS });
  // create_shortcut: a 1x1 ConvNormAct (no activation) where channels, stride or dilation change.
  const project = cin !== out || g.stride !== 1 || g.dilation !== g.stageDilation;
  const shortcut = project ? convBnAct(b, x, { name: `${name}.downsample.conv`, bn: `${name}.downsample.bn`, kernel: 1, cout: out, stride: g.stride, padding: 0, eps: BN_EPS }) : x;
  return b.addValues(name, y, shortcut, 'relu');
}

/** The encoder on an NHWC image: its features at /2, /4, ... (smp's features[1:]). */
export function buildSmpRegNet(b: GraphBuilder, image: Value, o: SmpRegNetOptions): Value[] {
  const p = o.prefix;
  const cfg: RegNetCfg = REGNET_CFGS[o.name];
  const stages = regnetStages(cfg);
  let h = convBnAct(b, image, { name: `${p}.stem.conv`, bn: `${p}.stem.bn`, kernel: 3, cout: STEM_WIDTH, stride: 2, padding: 1, eps: BN_EPS, activation: 'relu' });
  const features = [h];
  regnetGeometry(stages, o.outputStride)
    .slice(0, o.depth - 1)
    .forEach((blocks, s) => {
      blocks.forEach((g, i) => {
        h = bottleneck(b, h, `${p}.s${s + 1}.b${i + 1}`, stages[s].width, stages[s].groupSize, g, cfg.se);
      });
      features.push(h);
    });
  return features;
}
