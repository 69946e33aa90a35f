// The encoders of segmentation_models_pytorch we build, by smp's `encoder_name`, and the ones we
// refuse with the reason. An encoder family is its network (src/model/networks/smp-*.ts) and its
// entries here; the smp backbone record (smp.ts) builds whichever the architecture names.
import { excerpt } from '../../io/reader-rules.js';
import type { GraphBuilder } from '../../graph/builder.js';
import type { Value } from '../../graph/ir.js';
import { CONVNEXT_SPECS, type ConvNeXtName, buildSmpConvNeXt, convnextLinear } from '../networks/smp-convnext.js';
import { DPN_VARIANTS, type DpnName, buildSmpDpn } from '../networks/smp-dpn.js';
import { LUKEMELAS_EFFICIENTNETS, type LukemelasEfficientNetName, buildSmpEfficientNet } from '../networks/smp-efficientnet.js';
import { buildSmpMixTransformer, type MixTransformerSpec } from '../networks/smp-mix-transformer.js';
import { buildSmpMobilenetV2 } from '../networks/smp-mobilenet-v2.js';
import { MOBILEONE_VARIANTS, type MobileOneVariant, buildSmpMobileOne } from '../networks/smp-mobileone.js';
import { REGNET_CFGS, type RegNetName, buildSmpRegNet } from '../networks/smp-regnet.js';
import { buildSmpResNet } from '../networks/smp-resnet.js';
import { type SenetBlock, buildSmpSenet } from '../networks/smp-senet.js';
import { SMP_SKNETS, type SmpSknetName, buildSmpSknet } from '../networks/smp-sknet.js';
import { TU_MBCONV_ARCHS, buildSmpTuMbConv } from '../networks/smp-tu-mbconv.js';
import { TIMM_EFFICIENTNETS, type TimmEfficientNetName, buildSmpTimmEfficientNet } from '../networks/smp-timm-efficientnet.js';

/** What an encoder is built at: smp's encoder_output_stride and encoder_depth. */
export interface SmpEncoderSize {
  outputStride: number;
  depth: number;
}

export interface SmpEncoder {
  /** The family, as docs/models.md's table names it. */
  family: string;
  /**
   * Its features at /2, /4, ... /2^depth (smp's `features[1:]`); null where smp hands on an
   * empty one (MiT's /2 feature has 0 channels). smp's decoders read only the /4 feature and
   * the last, which every encoder builds.
   */
  build(b: GraphBuilder, image: Value, size: SmpEncoderSize): (Value | null)[];
  /** Tensors its files hold that its forward never uses (dropped on load). */
  unused?(name: string): boolean;
  /**
   * A file's key as this encoder's module names it (smp's SegmentationModel.load_state_dict moves
   * the old `timm-regnet*` files' `encoder.X` to `encoder.model.X`).
   */
  fileKey?(name: string): string;
  /** Its Linear layers' weights ([out, in] in the file), which the network runs as 1x1 convs (MiT's). */
  linear?(name: string): boolean;
  /** Its per-channel scales ([C] in the file), which the network runs as 1x1 depthwise convs (ConvNeXt's layer scale). */
  scale?(name: string): boolean;
}

const RESNET_UNITS = {
  18: [2, 2, 2, 2],
  34: [3, 4, 6, 3],
  50: [3, 4, 6, 3],
  101: [3, 4, 23, 3],
  152: [3, 8, 36, 3],
} as const;

type ResNetDepth = keyof typeof RESNET_UNITS;

function resnet(depth: ResNetDepth, o: { groups?: number; widthPerGroup?: number; timm?: boolean } = {}): SmpEncoder {
  return {
    family: o.timm ? "timm's ResNet (tu-)" : o.groups ? 'ResNeXt' : 'ResNet',
    build: (b, image, size) =>
      buildSmpResNet(b, image, {
        units: RESNET_UNITS[depth],
        bottleneck: depth >= 50,
        groups: o.groups ?? 1,
        widthPerGroup: o.widthPerGroup ?? 64,
        outputStride: size.outputStride,
        depth: size.depth,
        dilation: o.timm ? 'timm' : 'smp',
        prefix: o.timm ? 'encoder.model' : 'encoder',
      }),
  };
}

const MOBILENET_V2: SmpEncoder = {
  family: 'MobileNetV2',
  build: (b, image, size) => buildSmpMobilenetV2(b, image, { ...size, prefix: 'encoder' }),
};

function mobileone(variant: MobileOneVariant): SmpEncoder {
  return {
    family: 'MobileOne',
    build: (b, image, size) => buildSmpMobileOne(b, image, { ...size, variant, prefix: 'encoder' }),
  };
}

function efficientNet(name: LukemelasEfficientNetName): SmpEncoder {
  return {
    family: 'EfficientNet',
    build: (b, image, size) => buildSmpEfficientNet(b, image, { ...size, name, prefix: 'encoder' }),
    unused: (key) => /^encoder\.(_conv_head|_bn1)\./.test(key),
  };
}

function timmEfficientNet(name: TimmEfficientNetName): SmpEncoder {
  return {
    family: name.startsWith('timm-tf_efficientnet_lite') ? "timm's EfficientNet-Lite (timm-tf_efficientnet_lite)" : "timm's EfficientNet (timm-efficientnet-)",
    build: (b, image, size) => buildSmpTimmEfficientNet(b, image, { ...size, name, prefix: 'encoder' }),
    unused: (key) => /^encoder\.(conv_head|bn2)\./.test(key),
  };
}

function tuMbConv(name: string): SmpEncoder {
  return {
    family: name.startsWith('tu-mobilenetv3') ? "timm's MobileNetV3 (tu-)" : "timm's EfficientNet (tu-)",
    build: (b, image, size) => buildSmpTuMbConv(b, image, { ...size, name, prefix: 'encoder.model' }),
  };
}

/** smp's mix_transformer_encoders: b0 is narrower, b1..b5 differ in their blocks per stage. */
const MIT_WIDE = { dims: [64, 128, 320, 512], heads: [1, 2, 5, 8], srRatios: [8, 4, 2, 1] } as const;
const MIT_SPECS: Record<string, MixTransformerSpec> = {
  mit_b0: { dims: [32, 64, 160, 256], heads: [1, 2, 5, 8], srRatios: [8, 4, 2, 1], depths: [2, 2, 2, 2] },
  mit_b1: { ...MIT_WIDE, depths: [2, 2, 2, 2] },
  mit_b2: { ...MIT_WIDE, depths: [3, 4, 6, 3] },
  mit_b3: { ...MIT_WIDE, depths: [3, 4, 18, 3] },
  mit_b4: { ...MIT_WIDE, depths: [3, 8, 27, 3] },
  mit_b5: { ...MIT_WIDE, depths: [3, 6, 40, 3] },
};

function mixTransformer(spec: MixTransformerSpec): SmpEncoder {
  return {
    family: 'Mix Transformer (SegFormer)',
    // smp's empty /2 feature is null: nothing reads it.
    build: (b, image, size) => [null, ...buildSmpMixTransformer(b, image, spec, { ...size, prefix: 'encoder' })],
    linear: (name) => /^encoder\.block\d+\.\d+\.(attn\.(q|kv|proj)|mlp\.fc[12])\.weight$/.test(name),
  };
}

const DEPTHS = Object.keys(RESNET_UNITS).map(Number) as ResNetDepth[];

const SENET_FAMILY: Record<SenetBlock, string> = { se_resnet: 'SE-ResNet', se_resnext: 'SE-ResNeXt', senet154: 'SENet-154' };

function senet(depth: 50 | 101 | 152, block: SenetBlock, groups: number): SmpEncoder {
  return {
    family: SENET_FAMILY[block],
    build: (b, image, size) => buildSmpSenet(b, image, { block, units: RESNET_UNITS[depth], groups, ...size, prefix: 'encoder' }),
    // smp's SENetEncoder.load_state_dict drops the classifier if a file has one.
    unused: (name) => name.startsWith('encoder.last_linear.'),
  };
}

function dpn(name: DpnName): SmpEncoder {
  return {
    family: 'DPN',
    build: (b, image, size) => buildSmpDpn(b, image, { variant: DPN_VARIANTS[name], ...size, prefix: 'encoder' }),
    // smp's DPNEncoder.load_state_dict drops the classifier (a 1x1 conv with bias) if a file has one.
    unused: (key) => key.startsWith('encoder.last_linear.'),
  };
}

function sknet(name: SmpSknetName): SmpEncoder {
  return {
    family: "timm's SKNet (timm-skresne(x)t)",
    build: (b, image, size) => buildSmpSknet(b, image, { ...size, name, prefix: 'encoder' }),
    // SkNetEncoder.load_state_dict drops the classifier if a file has one.
    unused: (key) => key.startsWith('encoder.fc.'),
  };
}

function convnext(name: ConvNeXtName): SmpEncoder {
  return {
    family: "timm's ConvNeXt (tu-convnext_)",
    // smp's empty /2 feature (a transformer-style encoder starts at /4) is null: nothing reads it.
    build: (b, image, size) => [null, ...buildSmpConvNeXt(b, image, { ...size, name, prefix: 'encoder.model' })],
    linear: (key) => convnextLinear(name, key),
    scale: (key) => /^encoder\.model\.stages_\d\.blocks\.\d+\.gamma$/.test(key),
  };
}

function regnet(name: RegNetName): SmpEncoder {
  return {
    family: name.startsWith('regnetx') ? "timm's RegNetX (tu-regnetx_, timm-regnetx_)" : "timm's RegNetY (tu-regnety_, timm-regnety_)",
    build: (b, image, size) => buildSmpRegNet(b, image, { ...size, name, prefix: 'encoder.model' }),
    // SegmentationModel.load_state_dict: for TimmUniversalEncoders named regnet*, every `encoder.` key not under `encoder.model.`.
    fileKey: (key) => (key.startsWith('encoder.') && !key.startsWith('encoder.model.') ? `encoder.model.${key.slice('encoder.'.length)}` : key),
  };
}

export const SMP_ENCODERS: Readonly<Record<string, SmpEncoder>> = {
  ...Object.fromEntries(DEPTHS.map((d) => [`resnet${d}`, resnet(d)])),
  resnext50_32x4d: resnet(50, { groups: 32, widthPerGroup: 4 }),
  ...Object.fromEntries([4, 8, 16, 32, 48].map((w) => [`resnext101_32x${w}d`, resnet(101, { groups: 32, widthPerGroup: w })])),
  ...Object.fromEntries(DEPTHS.map((d) => [`tu-resnet${d}`, resnet(d, { timm: true })])),
  ...Object.fromEntries(Object.keys(TU_MBCONV_ARCHS).map((n) => [n, tuMbConv(n)])),
  mobilenet_v2: MOBILENET_V2,
  ...Object.fromEntries(Object.entries(MOBILEONE_VARIANTS).map(([name, v]) => [name, mobileone(v)])),
  se_resnet50: senet(50, 'se_resnet', 1),
  se_resnet101: senet(101, 'se_resnet', 1),
  se_resnet152: senet(152, 'se_resnet', 1),
  se_resnext50_32x4d: senet(50, 'se_resnext', 32),
  se_resnext101_32x4d: senet(101, 'se_resnext', 32),
  senet154: senet(152, 'senet154', 64),
  ...Object.fromEntries(Object.keys(LUKEMELAS_EFFICIENTNETS).map((n) => [n, efficientNet(n as LukemelasEfficientNetName)])),
  ...Object.fromEntries(Object.keys(TIMM_EFFICIENTNETS).map((n) => [n, timmEfficientNet(n as TimmEfficientNetName)])),
  ...Object.fromEntries(Object.entries(MIT_SPECS).map(([name, spec]) => [name, mixTransformer(spec)])),
  ...Object.fromEntries(Object.keys(DPN_VARIANTS).map((n) => [n, dpn(n as DpnName)])),
  ...Object.fromEntries(Object.keys(SMP_SKNETS).map((n) => [n, sknet(n as SmpSknetName)])),
  ...Object.fromEntries(Object.keys(CONVNEXT_SPECS).map((n) => [`tu-${n}`, convnext(n as ConvNeXtName)])),
  // smp's get_encoder turns timm-regnet* into tu-regnet* (is_equivalent_to_timm_universal).
  ...Object.fromEntries(
    Object.keys(REGNET_CFGS).flatMap((n) => {
      const encoder = regnet(n as RegNetName);
      return [`tu-${n}`, `timm-${n}`].map((k) => [k, encoder]);
    }),
  ),
};

/**
 * smp's encoders that build no DeepLab in smp itself (their get_stages refuse dilation), and the
 * families not built here yet: the refusal names them with the reason.
 */
export const SMP_REFUSED: readonly [RegExp, string][] = [
  [/^(vgg\d+(_bn)?|densenet\d+|inceptionv4|inceptionresnetv2|xception)$/, 'smp builds no DeepLab on it (the encoder cannot be dilated: smp raises for encoder_output_stride other than 32)'],
];

/** The encoder of a name, or an error naming what is built and why this one is not. */
export function smpEncoder(name: unknown, what: string): SmpEncoder {
  if (typeof name === 'string' && Object.hasOwn(SMP_ENCODERS, name)) return SMP_ENCODERS[name];
  const refused = typeof name === 'string' ? SMP_REFUSED.find(([re]) => re.test(name)) : undefined;
  const why = refused ? refused[1] : 'not built here';
  throw new Error(`${what}: encoder_name ${excerpt(name)}: ${why} (supported: ${Object.keys(SMP_ENCODERS).join(', ')})`);
}
