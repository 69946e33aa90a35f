// timm's MobileNetV3 and EfficientNet as segmentation_models_pytorch's TimmUniversalEncoder builds
// them (`tu-mobilenetv3_large_100`, `tu-mobilenetv3_small_100`, `tu-efficientnet_b0`..`b3`):
// timm.create_model(name, features_only=True, output_stride=..., out_indices=range(depth)), i.e.
// timm's MobileNetV3Features / EfficientNetFeatures, keys under `encoder.model.`: `conv_stem`,
// `bn1`, `blocks.S.B.*` (no head: the features-only classes drop conv_head, bn2 and the classifier).
//
// Blocks (timm's _efficientnet_blocks.py): `ds` DepthwiseSeparableConv (`conv_dw`/`bn1`, `se.*`,
// `conv_pw`/`bn2`, no activation after conv_pw), `ir` InvertedResidual (`conv_pw`/`bn1` expansion to
// make_divisible(cin * exp_ratio), `conv_dw`/`bn2`, `se.*`, `conv_pwl`/`bn3`), `cn` ConvBnAct (`conv`
// /`bn1`, 1x1 + activation). The identity is added where in == out and the block's stride, after
// the dilation rule below, is 1. BN eps 1e-5 (timm's BatchNorm2d defaults: no tf_ variant here).
//
// MobileNetV3 (_gen_mobilenet_v3): hard-swish (timm's x * relu6(x + 3) / 6) unless the block string
// says `nre` (ReLU); the stem 16 channels with hard-swish; squeeze-excite from the EXPANDED width
// (se_from_exp), rd = make_divisible(mid * 0.25, 8), its inner activation forced to ReLU and its gate
// hard-sigmoid (relu6(x + 3) / 6). EfficientNet (_gen_efficientnet): the blocks of
// efficientnet.ts (SiLU, squeeze from the block's input width / 4, sigmoid gate), the same tables as
// smp's timm-efficientnet-bN.
//
// output_stride (EfficientNetBuilder.__call__): the stem is /2; for each block with stride 2, if
// the running stride times 2 would pass output_stride, the block runs at stride 1 and the dilation
// for the blocks AFTER it doubles: the block itself keeps the dilation before (so the first block
// of the first dilated stage is undilated). Only the depthwise conv is dilated, padding timm's
// get_padding ((stride - 1) + dilation * (k - 1)) // 2.
//
// Features (the builder's feature_info, feature_location 'bottleneck'): the stem when the first
// block has stride 2, and the output of each stage whose next stage starts with stride 2 (or the
// last stage); smp takes the first `depth` of them (its reductions 2, 4, 8, 16, 32).
import type { Activation } from '../../kernels/activation/activation.js';
import type { GraphBuilder } from '../../graph/builder.js';
import type { Value } from '../../graph/ir.js';
import { type EfficientNetScale, type MbConvBlock, type MbConvNames, type MbConvStyle, efficientNetStages, mbConv } from './efficientnet.js';
import { convBnAct } from './layers.js';
import { makeDivisible } from './mobilenet-v3.js';

/** One block as built, before the dilation rule. */
export interface TuBlock extends MbConvBlock {
  type: 'ds' | 'ir' | 'cn';
  activation: NonNullable<MbConvStyle['activation']>;
}

export interface TuArch {
  family: 'mobilenetv3' | 'efficientnet';
  stem: number;
  stemActivation: NonNullable<MbConvStyle['activation']>;
  stages: TuBlock[][];
}

/** timm's _gen_mobilenet_v3 arch_def (the non-minimal large and small ones). */
const MBV3_DEFS = {
  large: [['ds_r1_k3_s1_e1_c16_nre'], ['ir_r1_k3_s2_e4_c24_nre', 'ir_r1_k3_s1_e3_c24_nre'], ['ir_r3_k5_s2_e3_c40_se0.25_nre'], ['ir_r1_k3_s2_e6_c80', 'ir_r1_k3_s1_e2.5_c80', 'ir_r2_k3_s1_e2.3_c80'], ['ir_r2_k3_s1_e6_c112_se0.25'], ['ir_r3_k5_s2_e6_c160_se0.25'], ['cn_r1_k1_s1_c960']],
  small: [['ds_r1_k3_s2_e1_c16_se0.25_nre'], ['ir_r1_k3_s2_e4.5_c24_nre', 'ir_r1_k3_s1_e3.67_c24_nre'], ['ir_r1_k5_s2_e4_c40_se0.25', 'ir_r2_k5_s1_e6_c40_se0.25'], ['ir_r2_k5_s1_e3_c48_se0.25'], ['ir_r3_k5_s2_e6_c96_se0.25'], ['cn_r1_k1_s1_c576']],
} as const;

/** MobileNetV3 at channel multiplier 1.0 (the _100 models): timm's block strings decoded. */
function mobilenetV3(size: keyof typeof MBV3_DEFS): TuArch {
  let cin = 16;
  const stages = MBV3_DEFS[size].map((strings) =>
    strings.flatMap((str: string) => {
      const [type, ...opts] = str.split('_');
      // `k3`, `e2.5`, `se0.25`, ...: the letters name the option, the number is its value; `nre` a flag.
      const o = Object.fromEntries(opts.filter((x) => /^[a-z]+[\d.]+$/.test(x)).map((x) => [x.replace(/[\d.]+$/, ''), Number(x.replace(/^[a-z]+/, ''))]));
      const [r, kernel, stride, expand, cout, seRatio] = ['r', 'k', 's', 'e', 'c', 'se'].map((key) => o[key] ?? 0);
      return Array.from({ length: r }, (_, i): TuBlock => {
        const mid = type === 'ir' ? makeDivisible(cin * expand) : cin;
        const block: TuBlock = { type: type as TuBlock['type'], cin, cout, kernel, stride: i === 0 ? stride : 1, expand: type === 'ir' ? expand : 1, mid, se: seRatio ? makeDivisible(mid * seRatio) : 0, activation: opts.includes('nre') ? 'relu' : 'hardswish' };
        cin = cout;
        return block;
      });
    }),
  );
  return { family: 'mobilenetv3', stem: 16, stemActivation: 'hardswish', stages };
}

/** timm's efficientnet_bN: smp's timm-efficientnet-bN tables (efficientnet.ts). */
function efficientNet(scale: EfficientNetScale): TuArch {
  const stages = efficientNetStages(scale).map((blocks) => blocks.map((b): TuBlock => ({ ...b, type: b.expand === 1 ? 'ds' : 'ir', activation: 'silu' })));
  return { family: 'efficientnet', stem: stages[0][0].cin, stemActivation: 'silu', stages };
}

export const TU_MBCONV_ARCHS: Readonly<Record<string, () => TuArch>> = {
  'tu-mobilenetv3_large_100': () => mobilenetV3('large'),
  'tu-mobilenetv3_small_100': () => mobilenetV3('small'),
  'tu-efficientnet_b0': () => efficientNet({ width: 1.0, depth: 1.0 }),
  'tu-efficientnet_b1': () => efficientNet({ width: 1.0, depth: 1.1 }),
  'tu-efficientnet_b2': () => efficientNet({ width: 1.1, depth: 1.2 }),
  'tu-efficientnet_b3': () => efficientNet({ width: 1.2, depth: 1.4 }),
};

/** A block's stride and its depthwise conv's dilation under timm's output_stride rule, stage by stage. */
export function tuGeometry(arch: TuArch, outputStride: number): { stride: number; dilation: number }[][] {
  let current = 2;
  let dilation = 1;
  return arch.stages.map((blocks) =>
    blocks.map((block) => {
      let stride = block.stride;
      let next = dilation;
      if (stride > 1) {
        if (current * stride > outputStride) {
          next = dilation * stride;
          stride = 1;
        } else current *= stride;
      }
      const g = { stride, dilation };
      dilation = next;
      return g;
    }),
  );
}

/** The feature points: -1 the stem, else the stage whose output is taken; and each one's channels. */
export function tuFeaturePoints(arch: TuArch): { stage: number; channels: number }[] {
  const points = arch.stages[0][0].stride > 1 ? [{ stage: -1, channels: arch.stem }] : [];
  arch.stages.forEach((blocks, s) => {
    if (s === arch.stages.length - 1 || arch.stages[s + 1][0].stride > 1) points.push({ stage: s, channels: blocks[blocks.length - 1].cout });
  });
  return points;
}

const BN = { eps: 1e-5, momentum: 0.1 };

const NAMES: Record<'ds' | 'ir', MbConvNames> = {
  ds: { depthwise: ['conv_dw', 'bn1'], seReduce: 'se.conv_reduce', seExpand: 'se.conv_expand', project: ['conv_pw', 'bn2'] },
  ir: { expand: ['conv_pw', 'bn1'], depthwise: ['conv_dw', 'bn2'], seReduce: 'se.conv_reduce', seExpand: 'se.conv_expand', project: ['conv_pwl', 'bn3'] },
};

export interface SmpTuMbConvOptions {
  name: string;
  outputStride: number;
  depth: number;
  prefix: string;
}

/** The encoder on an NHWC image: its features at /2, /4, ... (smp's `features[1:]`). */
export function buildSmpTuMbConv(b: GraphBuilder, image: Value, o: SmpTuMbConvOptions): Value[] {
  const arch = TU_MBCONV_ARCHS[o.name]();
  const geometry = tuGeometry(arch, o.outputStride);
  const points = tuFeaturePoints(arch).slice(0, o.depth);
  const se: Pick<MbConvStyle, 'seActivation' | 'seGate'> = arch.family === 'mobilenetv3' ? { seActivation: 'relu', seGate: 'hardsigmoid' } : {};
  let x = convBnAct(b, image, { name: `${o.prefix}.conv_stem`, bn: `${o.prefix}.bn1`, kernel: 3, cout: arch.stem, stride: 2, padding: 1, ...BN, activation: arch.stemActivation });
  const features = points[0].stage === -1 ? [x] : [];
  const lastStage = points[points.length - 1].stage;
  for (let s = 0; s <= lastStage; s++) {
    arch.stages[s].forEach((block, i) => {
      const prefix = `${o.prefix}.blocks.${s}.${i}`;
      const { stride, dilation } = geometry[s][i];
      if (block.type === 'cn') {
        const activation: Activation = block.activation;
        x = convBnAct(b, x, { name: `${prefix}.conv`, bn: `${prefix}.bn1`, kernel: block.kernel, cout: block.cout, stride, padding: 0, ...BN, activation });
        return;
      }
      const padding = Math.floor((stride - 1 + dilation * (block.kernel - 1)) / 2);
      x = mbConv(b, x, prefix, { ...block, stride }, NAMES[block.type], { stride, dilation, padding }, { ...BN, activation: block.activation, ...se });
    });
    if (points.some((p) => p.stage === s)) features.push(x);
  }
  return features;
}
